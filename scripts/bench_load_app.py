"""WSGI app of the load benchmark: the real app, with check-in challenges limited to head turns.

The shared photos hold a real head-turn sequence (four photos of one person at different yaw) but
no blink sequence, so simulated kiosks can answer turn_left and turn_right (the sequence reversed)
with real frames, never a blink. Everything else is the production app from the EXAM_ environment.

EXAM_BENCH_DETECTOR_LOCK=1 applies the proposed fix for a crash found by this benchmark: dlib's HOG
detector releases the GIL but is not thread-safe, so two face checks in one gthread worker at once
kill the worker (SIGSEGV/abort); a per-process lock around it prevents that.
"""
import os
import threading

from exam_server import create_app

if os.environ.get("EXAM_BENCH_DETECTOR_LOCK") == "1":
    from exam_server.face import detection

    _lock = threading.Lock()
    _detect = detection.DlibHogDetector.detect

    def _locked_detect(self, rgb, upsample):
        """Run dlib's detector one call at a time in this process."""
        with _lock:
            return _detect(self, rgb, upsample)

    detection.DlibHogDetector.detect = _locked_detect

app = create_app({"CHECKIN_CHALLENGES": ("turn_left", "turn_right")})
