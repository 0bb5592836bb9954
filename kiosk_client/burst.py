"""Film the answer to a liveness challenge, and take single frames for the exam's face re-checks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from kiosk_client.camera import Camera
from kiosk_client.frames import crop_jpegs, union
from kiosk_client.guidance import FaceGuide, Guidance

log = logging.getLogger(__name__)


class Filming:
    """Share one FaceGuide between the preview and the captures (dlib's detector is not re-entrant)."""

    def __init__(self, camera: Camera, guide: FaceGuide) -> None:
        self.camera = camera
        self.guide = guide
        self._lock = threading.Lock()

    def judge(self, frame: np.ndarray) -> Guidance:
        """Judge one frame under the lock."""
        with self._lock:
            return self.guide.judge(frame)

    def boxes(self, frames: list[np.ndarray]) -> list[tuple[int, int, int, int]]:
        """Return the face box of each frame that shows exactly one face, in frame pixels."""
        found = []
        with self._lock:
            for frame in frames:
                _, scale, rects = self.guide.faces(frame)
                if len(rects) == 1:
                    r = rects[0]
                    found.append(
                        (int(r.left() / scale), int(r.top() / scale), int(r.right() / scale), int(r.bottom() / scale))
                    )
        return found

    def wait_for_front(self, timeout: float, on_guidance: Callable[[Guidance], None]) -> tuple[int, np.ndarray]:
        """Return the first frame, within timeout, where one face looks at the camera (else the latest)."""
        number, frame = self.camera.next_frame(0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            verdict = self.judge(frame)
            on_guidance(verdict)
            if verdict.ok:
                return number, frame
            number, frame = self.camera.next_frame(number)
        return number, frame

    def burst(
        self, count: int, seconds: float, on_guidance: Callable[[Guidance], None], front_timeout: float = 4.0
    ) -> list[bytes]:
        """Film `count` frames spread over `seconds`, starting when the face looks at the camera."""
        # The server compares the turn with the first frame, so the first frame must be frontal.
        number, first = self.wait_for_front(front_timeout, on_guidance)
        frames = [first.copy()]
        started = time.monotonic()
        interval = seconds / max(1, count - 1)
        for n in range(1, count):
            delay = started + n * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            number, frame = self.camera.next_frame(number)
            frames.append(frame.copy())
        return self.encode(frames)

    def encode(self, frames: list[np.ndarray]) -> list[bytes]:
        """Crop the frames to one region around the face and encode them."""
        boxes = self.boxes(frames)
        face_px = max((b[2] - b[0] for b in boxes), default=0)
        if len(boxes) < len(frames):
            log.info("burst: a face was found in %d of %d frames", len(boxes), len(frames))
        return crop_jpegs(frames, union(boxes), face_px)

    def still(self, tries: int = 10) -> bytes:
        """Return one cropped JPEG for a re-check, preferring a frame that shows one face."""
        number, frame = self.camera.next_frame(0)
        for _ in range(tries):
            if self.boxes([frame]):
                break
            number, frame = self.camera.next_frame(number)
        return self.encode([frame.copy()])[0]
