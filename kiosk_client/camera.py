"""Open the camera source (device index, video file or image folder) and keep its latest frame."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
# FFmpeg's image2 reader (OpenCV's backend for printf patterns) only probes first numbers 0-4.
_FIRST_NUMBERS = range(5)
FOLDER_FPS = 10.0


class CameraError(RuntimeError):
    """Raise when the camera source cannot be opened or stops giving frames."""


@dataclass(frozen=True)
class Source:
    """What to pass to cv2.VideoCapture, and whether frames come from a file that must be paced."""

    target: int | str
    is_file: bool
    description: str
    is_sequence: bool = False


def sequence_pattern(folder: Path) -> str | None:
    """Return a printf pattern (dir/frame_%03d.jpg) covering every image in the folder, or None."""
    names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    parsed = [re.fullmatch(r"(.*?)(\d+)(\.[A-Za-z]+)", name) for name in names]
    matches = [m for m in parsed if m is not None]
    if not names or len(matches) != len(names):
        return None
    heads = {(m.group(1), len(m.group(2)), m.group(3)) for m in matches}
    numbers = sorted(int(m.group(2)) for m in matches)
    if len(heads) != 1 or numbers[0] not in _FIRST_NUMBERS or numbers != list(range(numbers[0], numbers[-1] + 1)):
        return None
    prefix, width, suffix = heads.pop()
    return str(folder / f"{prefix}%0{width}d{suffix}")


def resolve(spec: str) -> Source:
    """Turn the --camera argument into a Source: an index, a video file or a folder of images."""
    if spec.isdigit():
        return Source(int(spec), False, f"camera device {spec}")
    path = Path(spec)
    if path.is_dir():
        pattern = sequence_pattern(path)
        if pattern is None:
            raise CameraError(
                f"folder {path} must hold images numbered from 0-4 without gaps, like frame_000.jpg, frame_001.jpg ..."
            )
        return Source(pattern, True, f"image sequence {pattern}", is_sequence=True)
    if path.is_file():
        return Source(str(path), True, f"video file {path}")
    raise CameraError(f"camera source {spec!r} is neither a device index, a video file nor a folder")


def live_only(source: Source, allow_files: bool) -> Source:
    """Refuse a recording (video file, image folder) as the camera of a kiosk that films workers, unless allowed."""
    # A recording passes the server's face checks as well as a camera does: it is how a check-in is replayed.
    if source.is_file and not allow_files:
        raise CameraError(
            f"{source.description} is a recording, not a camera: a kiosk that films workers reads a camera "
            "device only (--camera 0). Recordings are for development and tests: add --allow-file-camera "
            "or set KIOSK_DEV=1."
        )
    return source


def open_capture(source: Source) -> cv2.VideoCapture:
    """Open the source with OpenCV, refusing one that gives no frame."""
    capture = cv2.VideoCapture(source.target)
    if not capture.isOpened():
        capture.release()
        raise CameraError(f"cannot open {source.description}")
    return capture


class Camera:
    """Read frames in a thread, paced like a live camera, and keep the latest one."""

    def __init__(self, source: Source, loop: bool = False, fps: float | None = None) -> None:
        self.source = source
        self.loop = loop
        self._capture = open_capture(source)
        native = self._capture.get(cv2.CAP_PROP_FPS) or 0.0
        # Image sequences report FFmpeg's default 25 fps; a folder plays at FOLDER_FPS unless told otherwise.
        if fps:
            self.nominal_fps = float(fps)
        elif source.is_sequence:
            self.nominal_fps = FOLDER_FPS
        else:
            self.nominal_fps = native if 0 < native < 240 else 30.0
        self._lock = threading.Condition()
        self._frame: np.ndarray | None = None
        self._number = 0
        self._stamps: list[float] = []
        self._stop = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)

    def start(self) -> Camera:
        """Start reading frames."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reading and release the source."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._capture.release()

    def _read(self) -> np.ndarray | None:
        ok, frame = self._capture.read()
        if ok:
            return frame
        if self.source.is_file and self.loop:
            # Reopening works for every backend; seeking an image sequence does not always.
            self._capture.release()
            self._capture = open_capture(self.source)
            ok, frame = self._capture.read()
            return frame if ok else None
        return None

    def _run(self) -> None:
        period = 1.0 / self.nominal_fps
        next_due = time.monotonic()
        while not self._stop.is_set():
            frame = self._read()
            if frame is None:
                self.error = f"{self.source.description} gave no more frames"
                log.warning("camera: %s", self.error)
                with self._lock:
                    self._lock.notify_all()
                return
            with self._lock:
                self._frame = frame
                self._number += 1
                self._stamps = [*self._stamps[-59:], time.monotonic()]
                self._lock.notify_all()
            if self.source.is_file:
                # A file would otherwise play as fast as it decodes; a live camera paces itself.
                next_due += period
                delay = next_due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_due = time.monotonic()

    def latest(self) -> tuple[int, np.ndarray | None]:
        """Return (frame number, frame) of the newest frame; number 0 means none yet."""
        with self._lock:
            return self._number, self._frame

    def next_frame(self, after: int, timeout: float = 2.0) -> tuple[int, np.ndarray]:
        """Wait for a frame newer than number `after` and return it."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._number <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.error:
                    raise CameraError(
                        self.error or f"no new frame from the camera within {timeout:.1f} s ({self.source.description})"
                    )
                self._lock.wait(remaining)
            assert self._frame is not None  # a frame numbered above 0 was stored with its number
            return self._number, self._frame

    def measured_fps(self) -> float:
        """Return the frame rate seen over the last frames (0 before two frames)."""
        with self._lock:
            stamps = list(self._stamps)
        if len(stamps) < 2 or stamps[-1] == stamps[0]:
            return 0.0
        return (len(stamps) - 1) / (stamps[-1] - stamps[0])

    @property
    def alive(self) -> bool:
        """Tell whether frames still come."""
        return self._thread.is_alive() and self.error is None
