"""Measure liveness continuity on shared/faces: the next frame of one take against another person's face.

Usage: python scripts/measure_continuity.py [FACES_DIR]   (default ../shared/faces or EXAM_FACES_DIR)
For each way of comparing aligned face patches, prints the highest correlation between two different
people (every ordered pair of single/ photos of different identities: what a swapped-in stranger can reach)
and, for the same photo moved 1-6 px and scaled up to 4% as the frames of one take (each frame against
the next), the lowest, the 5th percentile, the median and the share at or above 0.9
(liveness_track_min_correlation): those frames need no embedding of their own.
"""

from __future__ import annotations

import csv
import itertools
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from exam_server.face import FaceEngine
from exam_server.face.liveness import _PATCH, _PATCH_SHIFT, aligned_patch, continuity
from exam_server.face.models.sface import ARCFACE_112_TEMPLATE, five_points

MOVES = [((n % 5) - 2, (n % 3) - 1, 1.0) for n in range(6)] + [(6, -3, 1.04), (-4, 1, 0.98)]


def _frame(path: Path, side: int = 640) -> np.ndarray:
    bgr = cv2.imread(str(path))
    factor = min(1.0, side / max(bgr.shape[:2]))
    bgr = cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _moved(rgb: np.ndarray, dx: float, dy: float, scale: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    m = np.float32([[scale, 0, dx + (1 - scale) * w / 2], [0, scale, dy + (1 - scale) * h / 2]])
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _direct(rgb: np.ndarray, landmarks) -> np.ndarray:
    """The patch warped straight to 32 px (the first version, kept for comparison)."""
    matrix, _ = cv2.estimateAffinePartial2D(five_points(landmarks), ARCFACE_112_TEMPLATE * 32 / 112, method=cv2.LMEDS)
    return cv2.cvtColor(cv2.warpAffine(rgb, matrix, (32, 32)), cv2.COLOR_RGB2GRAY).astype(np.float32)


def _plain(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def main() -> None:
    faces = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("EXAM_FACES_DIR", "../shared/faces"))
    engine = FaceEngine()
    with open(faces / "manifest.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["kind"] == "single"]

    def landmarks(rgb: np.ndarray):
        return engine.analyse_rgb(rgb, "live", check=False, embed=False).landmarks

    photos = {r["path"]: (r["identity"], _frame(faces / r["path"])) for r in rows}
    takes = {path: [_moved(rgb, *move) for move in MOVES] for path, (_, rgb) in photos.items()}
    marks = {path: [landmarks(rgb) for rgb in frames] for path, frames in takes.items()}
    ways = {"32 px warped straight (LMEDS fit), no shift": (_direct, _plain)}
    for shift in (0, 1, 2):
        ways[f"{_PATCH} px, least squares, shifts up to {shift} px{' (shipped)' if shift == _PATCH_SHIFT else ''}"] = (
            aligned_patch,
            lambda a, b, shift=shift: continuity([a, b], shift)[0],
        )
    for name, (patch, compare) in ways.items():
        patches = {path: [patch(rgb, m) for rgb, m in zip(takes[path], marks[path], strict=True)] for path in takes}
        strangers = [
            compare(patches[a][0], patches[b][0])
            for a, b in itertools.permutations(patches, 2)
            if photos[a][0] != photos[b][0]
        ]
        take = np.array([compare(p, q) for frames in patches.values() for p, q in itertools.pairwise(frames)])
        print(
            f"{name}: different people max {max(strangers):.3f} (p99 {np.percentile(strangers, 99):.3f}, "
            f"{len(strangers)} pairs); next frame of a take min {take.min():.3f}, p5 {np.percentile(take, 5):.3f}, "
            f"median {np.median(take):.3f}, >= 0.9: {np.mean(take >= 0.9):.0%} of {len(take)}"
        )


if __name__ == "__main__":
    main()
