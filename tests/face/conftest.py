"""Fixtures for the face engine tests: real photos from EXAM_FACES_DIR (default <repo>/../shared/faces)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from exam_server.face import FaceEngine, FaceSample, FaceSettings

REPO = Path(__file__).resolve().parents[2]
FACES_DIR = Path(os.environ.get("EXAM_FACES_DIR", REPO.parent / "shared" / "faces"))
FACES_MISSING = not (FACES_DIR / "manifest.csv").is_file()
SKIP_REASON = (
    f"real face photos not found at {FACES_DIR} (set EXAM_FACES_DIR to the shared/faces folder holding manifest.csv)"
)

needs_faces = pytest.mark.skipif(FACES_MISSING, reason=SKIP_REASON)


def encode_jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


class Photos:
    """Read-only access to the shared photos, each analysed at most once per kind."""

    def __init__(self, root: Path, engine: FaceEngine) -> None:
        self.root = root
        self.engine = engine
        with open(root / "manifest.csv", newline="") as handle:
            self.rows = list(csv.DictReader(handle))
        self._bytes: dict[str, bytes] = {}
        self._rgb: dict[str, np.ndarray] = {}
        self._samples: dict[tuple[str, str], FaceSample] = {}

    def paths(self, kind: str) -> list[str]:
        return [r["path"] for r in self.rows if r["kind"] == kind]

    def identity(self, path: str) -> str:
        return next(r["identity"] for r in self.rows if r["path"] == path)

    def by_identity(self, kind: str = "single") -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for row in self.rows:
            if row["kind"] == kind:
                out.setdefault(row["identity"], []).append(row["path"])
        return out

    def data(self, path: str) -> bytes:
        if path not in self._bytes:
            self._bytes[path] = (self.root / path).read_bytes()
        return self._bytes[path]

    def rgb(self, path: str, max_side: int = 1280) -> np.ndarray:
        key = f"{path}@{max_side}"
        if key not in self._rgb:
            self._rgb[key] = (
                self.engine.decode(self.data(path)).rgb
                if max_side == 1280
                else _shrink(self.engine.decode(self.data(path)).rgb, max_side)
            )
        return self._rgb[key]

    def sample(self, path: str, kind: str = "upload") -> FaceSample:
        key = (path, kind)
        if key not in self._samples:
            self._samples[key] = self.engine.analyse(self.data(path), kind)
        return self._samples[key]

    def id_card_sample(self, path: str) -> FaceSample:
        key = (path, "id_card")
        if key not in self._samples:
            self._samples[key] = self.engine.enrol_sample(self.engine.id_card_photo(self.data(path)), "id_card")
        return self._samples[key]


def _shrink(rgb: np.ndarray, max_side: int) -> np.ndarray:
    factor = max_side / max(rgb.shape[:2])
    if factor >= 1:
        return rgb
    return cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine(FaceSettings())


@pytest.fixture(scope="session")
def photos(engine: FaceEngine) -> Photos:
    if FACES_MISSING:
        pytest.skip(SKIP_REASON)
    return Photos(FACES_DIR, engine)
