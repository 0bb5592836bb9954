"""Measure what a check-in's cheap path changes on shared/faces: faces followed, one identity frame.

Usage: python scripts/measure_burst.py [FACES_DIR] [--video FILE ...]   (default ../shared/faces or EXAM_FACES_DIR)
Every single/ photo is filmed as one take of 16 frames (moved a pixel or two and scaled 1% more each frame,
as scripts/bench_face.py films its one-take burst), and, for people with more photos, as two takes of two
photos. Prints:
- faces followed by their 68 points (liveness._follow) against detected on every frame: how many frames
  were followed, how far their points are from the detector's (pixels, mean and worst), and the head pose
  read from them (yaw, degrees);
- one identity frame against two (one per half): the fused decision of each burst against every enrolled
  photo, as check-in takes it (verify_fused over the identity frames and the tracked frames), counted as
  let in / sent to review / refused for the same person and for different people, and how much the fused
  distance moves between the two;
- with --video (real footage, any format OpenCV reads): how often two frames of it as far apart as the
  kiosk films a challenge's frames are one face track (aligned patches correlating at
  liveness_track_min_correlation or more), and as far apart as the video's own frames. Two public clips
  were measured for docs/face.md: ageitgey/face_recognition examples/short_hamilton_clip.mp4 and
  SueGreen/face-pose-estimation data/orlando_bloom.avi (not committed).
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import time
from pathlib import Path

import cv2
import numpy as np
from bench_face import burst_frames  # scripts/ is on the path when a script runs

from exam_server.face import FaceEngine
from exam_server.face.detection import head_pose
from exam_server.face.fusion import verify_fused
from exam_server.face.liveness import Challenge, aligned_patch, continuity, find_faces
from exam_server.face.settings import FaceSettings
from exam_server.services.exam.checkin import BURST_FRAMES, BURST_SECONDS, SEQUENCE_FRAMES, SEQUENCE_SECONDS

FRAMES = 16


def _film(faces: Path, paths: list[str]) -> list[bytes]:
    """Return a burst of FRAMES whole JPEG frames filming the photos in turn (one take each), the face nearing."""
    return burst_frames(faces, FRAMES, cropped=False, zoom=0.01, photos=paths)


def _followed_against_detected(engine: FaceEngine, bursts: list[list[bytes]]) -> None:
    points, worst, followed, total = [], 0.0, 0, 0
    spread: dict[str, list[float]] = {"followed": [], "detected": []}  # one still photo: any spread is noise
    for frames in bursts:
        images = [engine.decode(f, "live").rgb for f in frames]
        faces = find_faces(engine, images)
        followed += len(faces.followed)
        total += len(images) - 1
        yaws: dict[str, list[float]] = {"followed": [], "detected": []}
        for n, rgb in enumerate(images):
            detected = engine.find_single_face(rgb)
            h, w = rgb.shape[:2]
            yaws["followed"].append(head_pose(faces.samples[n].landmarks, w, h)[0])
            yaws["detected"].append(head_pose(detected.landmarks, w, h)[0])
            if n in faces.followed:
                apart = np.abs(faces.samples[n].landmarks.points - detected.landmarks.points)
                points.append(apart.mean() / detected.box.width)
                worst = max(worst, float(apart.max()))
        for way, values in yaws.items():
            spread[way].append(max(values) - min(values))
    print(
        f"faces followed: {followed} of {total} frames after the first; their points from the detector's: mean "
        f"{np.mean(points):.2%} of the face's width (worst frame {max(points):.2%}, worst point {worst:.1f} px); "
        f"yaw over one still photo's burst (noise: the photo does not turn), spread median / worst: as check-in "
        f"finds the faces (followed where continuous, else the window or the full search) "
        f"{np.median(spread['followed']):.1f} / {max(spread['followed']):.1f} deg, every face by the full search "
        f"{np.median(spread['detected']):.1f} / {max(spread['detected']):.1f} deg"
    )


def _video_links(engine: FaceEngine, path: Path) -> None:
    """Print how often frames of a real video, as far apart as the kiosk films them, are one face track."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    faces: list[tuple | None] = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        boxes = engine.detector.detect(rgb, 1)
        box = max(boxes, key=lambda b: b.width) if boxes else None  # the largest face: the one filmed
        faces.append(None if box is None else (box, aligned_patch(rgb, engine.landmarker.landmarks(rgb, box))))
    minimum = engine.settings.liveness_track_min_correlation
    widths = [f[0].width for f in faces if f is not None]
    print(
        f"{path.name}: {len(faces)} frames at {fps:.0f} fps, a face in {len(widths)} ({min(widths)}-{max(widths)} px)"
    )
    three, one = SEQUENCE_SECONDS[3] / (SEQUENCE_FRAMES[3] - 1), BURST_SECONDS / (BURST_FRAMES - 1)
    for label, seconds in [("the video's own frames", 1 / fps), ("one move", one), ("three moves", three)]:
        step = max(1, round(seconds * fps))
        links = []
        for a, b in zip(faces, faces[step:], strict=False):
            # Only the same face: its box's centre moved less than its width (not a cut to another person).
            if a is None or b is None or abs(a[0].left - b[0].left) + abs(a[0].top - b[0].top) > a[0].width:
                continue
            links.append(continuity([a[1], b[1]])[0])
        share = np.mean(np.asarray(links) >= minimum)
        print(
            f"  frames {step / fps:.2f} s apart ({label}): one face track in {share:.0%} of {len(links)} pairs "
            f"(correlation median {np.median(links):.3f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("faces", nargs="?", type=Path, default=os.environ.get("EXAM_FACES_DIR", "../shared/faces"))
    parser.add_argument("--video", type=Path, action="append", default=[], help="real footage of a face")
    args = parser.parse_args()
    faces = Path(args.faces)
    for video in args.video:
        _video_links(FaceEngine(), video)
    with open(faces / "manifest.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["kind"] == "single"]
    people: dict[str, list[str]] = collections.defaultdict(list)
    for row in rows:
        people[row["identity"]].append(row["path"])
    engines = {
        "shipped": FaceEngine(),
        "two identity frames": FaceEngine(FaceSettings(liveness_identity_frames=2)),
        "faces detected": FaceEngine(FaceSettings(liveness_follow_faces=False)),
        "both (as before)": FaceEngine(FaceSettings(liveness_identity_frames=2, liveness_follow_faces=False)),
    }
    enrolled = {r["path"]: engines["shipped"].enrol_sample((faces / r["path"]).read_bytes(), "console") for r in rows}
    # Bursts: (kind, person, photos filmed); a photo filmed is never its own enrolment photo below.
    bursts = [("one take", person, [path]) for person, paths in people.items() for path in paths]
    bursts += [("two takes", person, paths[:2]) for person, paths in people.items() if len(paths) >= 3]
    _followed_against_detected(
        engines["shipped"], [_film(faces, filmed) for kind, _, filmed in bursts if kind == "one take"]
    )

    now = time.time()
    challenge = Challenge("turn_left+turn_right+turn_left", "n", now, now + 10**6)  # judged: the face, not the moves
    counts: dict[tuple[str, bool, str], collections.Counter] = collections.defaultdict(collections.Counter)
    moved: dict[tuple[str, bool, str], list[float]] = collections.defaultdict(list)
    for kind, person, filmed in bursts:
        frames = _film(faces, filmed)
        results = {name: engine.check_liveness(challenge, frames, now) for name, engine in engines.items()}
        for path, sample in enrolled.items():
            if path in filmed:
                continue
            same = path in people[person]
            distance = {}
            for name, engine in engines.items():
                result = results[name]
                verdict = verify_fused(engine, result.samples, sample.templates(), tracked=result.tracked)
                counts[(kind, same, name)][verdict.decision] += 1
                distance[name] = verdict.distance
            for name in engines:
                moved[(kind, same, name)].append(abs(distance[name] - distance["shipped"]))
    for kind in ("one take", "two takes"):
        for same in (True, False):
            pairs = len(moved[(kind, same, "shipped")])
            print(f"{kind}, {'same person' if same else 'different people'} ({pairs} bursts x enrolled photos):")
            for name in engines:
                told = ", ".join(f"{n} {d}" for d, n in sorted(counts[(kind, same, name)].items()))
                values = moved[(kind, same, name)]
                apart = "" if name == "shipped" else "; fused distance from the shipped one: median "
                apart += "" if name == "shipped" else f"{np.median(values):.4f}, worst {max(values):.4f}"
                print(f"  {name}: {told}{apart}")


if __name__ == "__main__":
    main()
