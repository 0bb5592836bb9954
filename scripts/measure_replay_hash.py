"""Measure the replay hash on shared/faces: copies of one frame against different photos of one person.

Usage: python scripts/measure_replay_hash.py [FACES_DIR]   (default ../shared/faces or EXAM_FACES_DIR)
Prints, per hash size, the largest distance of a re-encoded, resized or shifted copy and the smallest
distance between two different photos (same person, and different people); then, for the shipped hash,
how far a worker holding still moves a frame: only the head moved by a few pixels before the same
background, as between two in-exam captures at a kiosk (why captures are not compared with earlier frames).
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from exam_server.face import replay


def _frame(path: Path, side: int = 640) -> np.ndarray:
    bgr = cv2.imread(str(path))
    factor = min(1.0, side / max(bgr.shape[:2]))
    bgr = cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def copies(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Return what a replaying attacker sends instead of the recorded frame."""
    h, w = rgb.shape[:2]
    out = {f"jpeg q{q}": _jpeg(rgb, q) for q in (95, 85, 75, 60, 40)}
    for f in (0.5, 0.75, 1.5):
        out[f"resize x{f}"] = _jpeg(cv2.resize(rgb, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA), 85)
    out["shift 1px"] = _jpeg(cv2.warpAffine(rgb, np.float32([[1, 0, 1], [0, 1, 1]]), (w, h), borderMode=1), 90)
    return out


def main(root: Path) -> None:
    people: dict[str, list[np.ndarray]] = {}
    for person in sorted((root / "single").iterdir()):
        frames = [_frame(p) for p in sorted(person.glob("*.jpg"))]
        if len(frames) >= 2:
            people[person.name] = frames
    count = sum(len(v) for v in people.values())
    print(f"{count} photos of {len(people)} people with 2+ photos")
    for side in (8, 16):
        replay.HASH_SIDE = side
        worst_copy, worst_name = 0, ""
        for frames in people.values():
            for rgb in frames:
                own = replay.phash(rgb)
                for name, copy in copies(rgb).items():
                    d = replay.distance(own, replay.phash(copy))
                    if d > worst_copy:
                        worst_copy, worst_name = d, name
        hashes = {k: [replay.phash(f) for f in v] for k, v in people.items()}
        same = [replay.distance(a, b) for v in hashes.values() for a, b in itertools.combinations(v, 2)]
        other = [
            replay.distance(a, b) for (_, v), (_, u) in itertools.combinations(hashes.items(), 2) for a in v for b in u
        ]
        bits = side * side
        # Where a transformed copy stops being recognised: what the liveness challenge must then stop.
        for name, moves in (("shift % of width", (1, 2, 3, 5)), ("zoom %", (2, 3, 5, 8))):
            row = []
            for pct in moves:
                worst = 0
                for frames in people.values():
                    for rgb in frames:
                        h, w = rgb.shape[:2]
                        if name.startswith("shift"):
                            m = np.float32([[1, 0, w * pct / 100], [0, 1, 0]])
                        else:
                            m = cv2.getRotationMatrix2D((w / 2, h / 2), 0, 1 + pct / 100)
                        moved = cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
                        worst = max(worst, replay.distance(replay.phash(rgb), replay.phash(moved)))
                row.append(f"{pct}: {worst}")
            print(f"{bits}-bit pHash, {name}, largest distance: " + ", ".join(row))
        print(
            f"{bits}-bit pHash: copies at most {worst_copy} ({worst_name}); same person different photos "
            f"min {min(same)} median {int(np.median(same))} of {len(same)} pairs; different people min {min(other)}"
        )
    still_worker(people)


def still_worker(people: dict[str, list[np.ndarray]], moves: tuple[int, ...] = (4, 8, 16)) -> None:
    """Print the distances between a frame and the same frame with only the head moved by a few pixels."""
    import face_recognition

    replay.HASH_SIDE = 16
    found: dict[int, list[int]] = {m: [] for m in moves}
    for frames in people.values():
        for rgb in frames:
            boxes = face_recognition.face_locations(rgb)
            if not boxes:
                continue
            top, right, bottom, left = boxes[0]
            pad = (bottom - top) // 3
            t, b = max(top - pad, 0), min(bottom + pad, rgb.shape[0])
            left_, right_ = max(left - pad, 0), min(right + pad, rgb.shape[1])
            head = rgb[t:b, left_:right_]
            for m in moves:
                moved = rgb.copy()
                shift = np.float32([[1, 0, m], [0, 1, m // 2]])
                moved[t:b, left_:right_] = cv2.warpAffine(
                    head, shift, (head.shape[1], head.shape[0]), borderMode=cv2.BORDER_REFLECT
                )
                found[m].append(replay.distance(replay.phash(rgb), replay.phash(moved)))
    for m, dists in found.items():
        below = sum(d <= replay.REPLAY_MAX_BITS for d in dists)
        print(
            f"still worker, head moved {m} px: distance min {min(dists)} median {int(np.median(dists))} "
            f"max {max(dists)}; {below} of {len(dists)} within {replay.REPLAY_MAX_BITS} bits (would be refused)"
        )


if __name__ == "__main__":
    default = Path(os.environ.get("EXAM_FACES_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "faces"))
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
