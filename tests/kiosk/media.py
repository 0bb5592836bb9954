"""Build camera videos and frames from the real photos in shared/faces (never copied into the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk_client import stills
from kiosk_client.stills import FRAME_SIZE

REPO = Path(__file__).resolve().parents[2]
FACES_DIR = Path(os.environ.get("EXAM_FACES_DIR", REPO.parent / "shared" / "faces"))
FACES_MISSING = not (FACES_DIR / "manifest.csv").is_file()
needs_faces = pytest.mark.skipif(
    FACES_MISSING,
    reason=f"real face photos not found at {FACES_DIR} (set "
    "EXAM_FACES_DIR to the shared/faces folder holding manifest.csv)",
)
# One person turning: yaw measured by the server's engine as about 0, +16, +34 (nose to the image's
# right, the worker's own left) and -34 degrees. Each entry: (photo, frames held at 10 fps).
TURN_BOTH_WAYS = [
    ("single/obama/obama1.jpg", 5),
    ("single/obama/obama3.jpg", 2),
    ("single/obama/obama4.jpg", 4),
    ("single/obama/obama3.jpg", 2),
    ("single/obama/obama1.jpg", 5),
    ("single/obama/obama2.jpg", 4),
]
# Enrolled photos of that person (two workers, so two exams), none of them a frame above.
ENROLLED_PHOTO = "resolutions/obama-1080p.jpg"
SECOND_ENROLLED_PHOTO = "resolutions/obama-720p.jpg"
OTHER_PERSON_PHOTO = "single/biden/biden2.jpg"


def camera_frame(photo: str, face_px: int = 190, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """Return the photo as a camera would film that person: the face about face_px wide, centred."""
    return stills.camera_frame(cv2.imread(str(FACES_DIR / photo)), face_px, size)


def write_video(path: Path, sequence: list[tuple[str, int]], fps: float = 10.0) -> Path:
    """Write a motion-JPEG AVI of the photos held for their frame counts."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, FRAME_SIZE)
    assert writer.isOpened()
    for photo, count in sequence:
        frame = camera_frame(photo)
        for _ in range(count):
            writer.write(frame)
    writer.release()
    return path


def write_folder(folder: Path, sequence: list[tuple[str, int]]) -> Path:
    """Write the same frames as numbered JPEGs (frame_000.jpg ...), the camera's image-folder source."""
    folder.mkdir(parents=True, exist_ok=True)
    number = 0
    for photo, count in sequence:
        frame = camera_frame(photo)
        for _ in range(count):
            cv2.imwrite(str(folder / f"frame_{number:03d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
            number += 1
    return folder
