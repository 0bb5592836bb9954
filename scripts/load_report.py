"""Frames, bare face cost, CPU accounting, the lost-answer check and the report of the load benchmark."""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

from bench_common import percentile
from load_kiosk import BUSY_SUFFIX, FACE_ENDPOINTS

TURN = ("single/obama/obama1.jpg", "resolutions/obama-720p.jpg", "single/obama/obama3.jpg", "single/obama/obama4.jpg")


def load_frames(faces: Path, burst: int = 16) -> dict[str, list[bytes]]:
    """Return real kiosk frames (longest side 640 px, JPEG): a head turn to the left, reversed, and captures.

    burst: frames per check-in, as many as the server asks for its default three-move challenge
    (checkin.SEQUENCE_FRAMES): each photo of the turn is filmed burst/4 times, moved by a pixel or two.
    """
    import cv2
    import numpy as np

    if not (faces / TURN[0]).is_file():
        raise SystemExit(f"real face photos not found at {faces} (set EXAM_FACES_DIR or --faces)")
    photos, frames = [], []
    for path in TURN:
        bgr = cv2.imread(str(faces / path))
        factor = 640 / max(bgr.shape[:2])
        if factor < 1:
            bgr = cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        photos.append(bgr)
    for n in range(max(burst, len(TURN))):
        bgr = photos[n * len(TURN) // max(burst, len(TURN))]
        shift = np.float32([[1, 0, n % 3], [0, 1, n % 2]])
        moved = cv2.warpAffine(bgr, shift, bgr.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
        frames.append(cv2.imencode(".jpg", moved, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes())
    # At 640 px obama3's face is under the 80 px minimum (fine inside a burst, refused alone) and obama4,
    # turned 30 degrees, lands in the review band: captures use the frontal frames.
    first = [frames[0], frames[len(frames) // len(TURN)]]
    return {"turn_left": frames, "turn_right": frames[::-1], "capture": first}


def bare_face_seconds(frames: list[bytes], rounds: int = 3) -> float:
    """Return the median seconds of bare face_recognition (decode, locate, encode) on one frame."""
    import face_recognition

    times = []
    for _ in range(rounds):
        for frame in frames:
            started = time.perf_counter()
            image = face_recognition.load_image_file(io.BytesIO(frame))
            face_recognition.face_encodings(image, face_recognition.face_locations(image))
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def _children(pid: int) -> list[int]:
    try:
        found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return found + [c for child in found for c in _children(child)]


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def cpu_snapshot(server_pids: list[int]) -> dict[str, float]:
    """Return CPU seconds used so far by the servers (with their workers), this process and the machine."""
    hz = os.sysconf("SC_CLK_TCK")
    pools = [sum(_ticks(p) for p in [pid, *_children(pid)]) / hz for pid in server_pids]
    times = os.times()
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return {
        "server": sum(pools),
        "face_pool": pools[1] if len(pools) > 1 else float("nan"),
        "postgres": {
            int(p.parent.name): _ticks(int(p.parent.name)) / hz
            for p in Path("/proc").glob("[0-9]*/comm")
            if _read(p) == "postgres"
        },
        "client": times.user + times.system,
        "busy": (sum(values) - idle) / hz,
        "wall": time.monotonic(),
    }


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def verify_answers(url: str, stats) -> dict[str, int]:
    """Compare the answers the server acknowledged with the rows of the answer table."""
    from sqlalchemy import create_engine, select

    from exam_server.models import Answer, Sitting

    engine = create_engine(url)
    rows: dict[tuple[int, int], str] = {}
    statuses: dict[str, int] = {}
    with engine.connect() as conn:
        for start in range(0, len(stats.sittings), 500):
            chunk = stats.sittings[start : start + 500]
            for sitting_id, item_no, response in conn.execute(
                select(Answer.sitting_id, Answer.item_no, Answer.response).where(Answer.sitting_id.in_(chunk))
            ):
                rows[(sitting_id, item_no)] = response
            for (status,) in conn.execute(select(Sitting.status).where(Sitting.id.in_(chunk))):
                statuses[str(status.value)] = statuses.get(str(status.value), 0) + 1
    engine.dispose()
    lost = sum(1 for key, response in stats.acked.items() if rows.get(key) != response)
    return {
        "acked": len(stats.acked),
        "rows": len(rows),
        "lost": lost,
        "unacknowledged_rows": sum(1 for key in rows if key not in stats.acked),
        **{f"sittings_{k}": v for k, v in statuses.items()},
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds == seconds else "–"


def endpoint_table(stats, elapsed: float) -> list[str]:
    lines = [
        "| endpoint | requests | per second | p50 | p95 | p99 | errors (5xx status, or the client's exception) "
        "| refusals (4xx, or 503 face_busy) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    busy = [f"{name} {BUSY_SUFFIX}" for name in FACE_ENDPOINTS if f"{name} {BUSY_SUFFIX}" in stats.samples]
    for name in ("checkin", "frames", *busy, "answer", "clock", "capture", "submit"):
        samples = stats.samples.get(name, [])
        seconds = [s[1] for s in samples]
        errors = ", ".join(f"{kind} {n}" for (endpoint, kind), n in stats.errors.items() if endpoint == name) or 0
        refusals = ", ".join(f"{code} {n}" for (endpoint, code), n in stats.refusals.items() if endpoint == name)
        lines.append(
            f"| {name} | {len(samples):,} | {len(samples) / elapsed:.2f} | {_ms(percentile(seconds, 50))} | "
            f"{_ms(percentile(seconds, 95))} | {_ms(percentile(seconds, 99))} | {errors} | {refusals or 0} |"
        )
    return lines


def storm(stats) -> tuple[int, float]:
    """Return (check-in bursts judged, window seconds) over the check-in storm (first to last burst)."""
    bursts = stats.samples.get("frames", [])
    if not bursts:
        return 0, 0.0
    start, end = min(s[0] for s in bursts), max(s[0] + s[1] for s in bursts)
    return sum(1 for s in bursts if s[2] in (200, 422)), end - start


def burst_wait_row(stats, limit: float = 30.0) -> str:
    """Return the target row: every kiosk answered within `limit` seconds of first sending its burst (retries included)."""
    waits = getattr(stats, "burst_waits", [])
    if not waits:
        return f"| every burst answered within {limit:.0f} s of its first send | no burst sent | no |"
    seconds = [w for w, _ in waits]
    unanswered = sum(1 for _, answered in waits if not answered)
    met = unanswered == 0 and max(seconds) <= limit
    return (
        f"| every burst answered within {limit:.0f} s of its first send (face_busy waits and resends included) | "
        f"{len(waits):,} bursts: p50 {percentile(seconds, 50):.1f} s, p95 {percentile(seconds, 95):.1f} s, "
        f"max {max(seconds):.1f} s; {sum(1 for w in seconds if w > limit)} over {limit:.0f} s, {unanswered} "
        f"never answered | {'yes' if met else 'no'} |"
    )


def judged(stats, name: str) -> int:
    """Return how many requests of an endpoint the face engine judged (answered 200 or 422)."""
    return sum(1 for x in stats.samples.get(name, []) if x[2] in (200, 422))


def report(args, stats, answers: dict, bare: float, before: dict, after: dict, machine: str, when: str) -> str:
    from exam_server import gunicorn_conf

    elapsed = max(after["wall"] - before["wall"], 1e-9)
    cores = os.cpu_count() or 1
    answers_all = stats.samples.get("answer", [])
    during = [s[1] for s in answers_all if s[3]]
    steady = [s[1] for s in answers_all if s[0] > stats.last_checkin_done]
    steady_face = [s[1] for s in answers_all if s[0] > stats.last_checkin_done and s[3]]
    bursts, window = storm(stats)
    captures = judged(stats, "capture")
    face_cpu = after["face_pool"] - before["face_pool"]
    face_work_cpu = face_cpu if args.split else after["server"] - before["server"]
    p95_during = percentile(during, 95)
    server_cpu, client_cpu = after["server"] - before["server"], after["client"] - before["client"]
    busy = (after["busy"] - before["busy"]) / (elapsed * cores)
    pool = f"{gunicorn_conf.workers} workers x {gunicorn_conf.threads} threads (gthread)"
    variant = "face work on its own pool" if args.split else "one pool serves everything"
    if getattr(args, "every_frame", False):
        variant += ", every frame of a burst its own face track"
    lines = [
        f"## Kiosk API under load: {args.kiosks} kiosks ({variant})",
        "",
        f"Measured {when} by `python scripts/bench_load.py {' '.join(sys.argv[1:])}` on: {machine}; "
        f"load average before the run {os.getloadavg()[0]:.1f}.",
        f"Server: gunicorn with `gunicorn.conf.py` as configured, {pool}"
        + (
            ", plus a second pool of the same app with `EXAM_NICE=10 EXAM_THREADS=32` that receives the check-in bursts and "
            "captures (the kiosks' `--face-server`)"
            if args.split
            else ""
        )
        + f", on {args.db} holding the generated city ({args.scale} scale). "
        f"Load: {args.kiosks} kiosks on 127.0.0.1 starting evenly over {args.ramp:.0f} s, one sitting each "
        f"(54 questions, an answer every {args.pace[0]:.0f}-{args.pace[1]:.0f} s, a clock poll every 5 s, a "
        f"capture when the server asks: every 60-120 s by the default face policy); run {elapsed:.0f} s "
        f"(limit {args.duration:.0f} s).",
        "",
        *endpoint_table(stats, elapsed),
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        f"| autosave p95 < 100 ms while face checks run | {_ms(p95_during)} over {len(during):,} answers sent "
        f"while a burst or capture was in flight (all answers: p95 {_ms(percentile([s[1] for s in answers_all], 95))}; "
        f"after the last check-in: p95 {_ms(percentile(steady, 95))}, of which during captures "
        f"{_ms(percentile(steady_face, 95))}) | {'yes' if p95_during < 0.1 else 'no'} |",
        f"| no answer lost | {answers['acked']:,} acknowledged, {answers['rows']:,} rows in `answer`, "
        f"{answers['lost']} acknowledged but missing or different, {answers['unacknowledged_rows']} stored "
        f"without an acknowledgement | {'yes' if answers['lost'] == 0 else 'no'} |",
        # A burst's frames are not alike in cost (every frame: detection and landmarks; a few: the identity
        # embeddings), so the face work is counted per request, in bare analyses of CPU (docs/scaling.md).
        f"| check-in storm | {bursts:,} bursts of {args.burst_frames} frames judged in {window:.0f} s "
        f"({bursts / max(window, 1e-9):.2f}/s); {captures:,} captures over the run; "
        f"{'face-pool' if args.split else 'server'} CPU {face_work_cpu:.0f} s = "
        f"{face_work_cpu / bare / max(bursts + captures, 1):.1f} bare analyses ({bare * 1000:.0f} ms per frame, "
        f"with decode) per face request, bursts and captures together"
        + ("" if args.split else " (an upper bound: that CPU also served every other request)")
        + " | |",
        burst_wait_row(stats),
        f"| server errors | {sum(stats.errors.values())} 5xx or transport errors; "
        f"{answers['worker_crashes']} gunicorn workers killed by a signal | "
        f"{'yes' if not stats.errors and not answers['worker_crashes'] else 'no'} |",
        "",
        f"Sittings started {len(stats.sittings)}, submitted {stats.submitted}; capture decisions "
        f"{dict(stats.decisions) or '{}'}; sittings in the database: "
        f"{ {k[9:]: v for k, v in answers.items() if k.startswith('sittings_')} }.",
        f"CPU over the run: server processes {server_cpu:.0f} s"
        + (f" (face pool {face_cpu:.0f} s)" if args.split else "")
        + f", PostgreSQL backends alive at the end "
        f"{sum(t - before['postgres'].get(pid, 0) for pid, t in after['postgres'].items()):.0f} s, load generator {client_cpu:.0f} s, whole "
        f"machine busy {busy:.0%} of {cores} cores (the rest: PostgreSQL, the system and any other process).",
    ]
    return "\n".join(lines)
