"""Challenge-response liveness: a random sequence of moves (head turns, blink, open mouth), answered with a burst."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from .detection import DetectedFace, FaceBox, Landmarks
from .errors import FaceRefusal
from .models.sface import ARCFACE_112_TEMPLATE, five_points
from .samples import Embedding

if TYPE_CHECKING:
    from .engine import FaceEngine
    from .samples import FaceSample

# The moves a challenge is made of; a challenge is one move (as before sequences) or several joined by "+".
CHALLENGES = ("turn_left", "turn_right", "blink", "open_mouth")
SEPARATOR = "+"
INSTRUCTIONS_ZH = {
    "turn_left": "请缓慢向左转头，再转回正面。",
    "turn_right": "请缓慢向右转头，再转回正面。",
    "blink": "请正对摄像头眨眼。",
    "open_mouth": "请正对摄像头张大嘴，再闭上。",
}
_STEP_ZH = {"turn_left": "向左转头再转回", "turn_right": "向右转头再转回", "blink": "眨眼", "open_mouth": "张嘴再闭上"}
_ORDER_ZH = ("先", "再", "最后")  # challenges have at most three moves
# Mouth open: the inner-lip opening over the mouth's width (dlib 68 points 60-67) at least this, and this much
# above the first frame's (a smile showing teeth measured 0.21-0.24 on shared/faces, closed lips 0.00-0.04).
MOUTH_OPEN_RATIO = 0.35
MOUTH_OPEN_RISE = 0.2
# The refusals for the moves alone: the burst was embedded and showed one face throughout, whose identity is
# still judged (a face that is not the claimed worker's is reported as that, before a move not seen).
MOVE_CODES = ("liveness_rigid", "liveness_movement_not_seen")
# Frames are compared at this size for the "same picture" test.
_THUMB = (64, 48)
# A frame's face is looked for only around the previous frame's (FaceEngine._detect_near) when their thumbnails
# agree outside that window: at most _OUTSIDE_PIXELS pixels more than _OUTSIDE_GREY grey levels outside the range
# of their 3x3 neighbourhood in the previous thumbnail, so that a picture moved by up to a thumbnail pixel (about
# 7 px of a kiosk crop) agrees. The smallest face the full search finds (80 px in its 320 px copy) covers about
# 16x12 of the 64x48 thumbnail: a quarter of that entering the picture sends the frame to the full search.
# Measured on scripts/bench_face.py's bursts: consecutive frames of one take 0-4 such pixels; another person's face
# pasted at a frame's edge, a quarter or a third of its longer side wide, 82-602.
_OUTSIDE_GREY = 24
_OUTSIDE_PIXELS = 48
# The face patch that joins consecutive frames into one face track (continuity): grey, this many pixels square,
# aligned on the five points as the embedding models align their 112 px crops, compared at shifts up to _PATCH_SHIFT.
_PATCH = 24
_PATCH_SHIFT = 2
_FLAT_PATCH = np.zeros((_PATCH, _PATCH), np.float32)  # a frame without landmarks: continuous with nothing


@dataclass(frozen=True)
class Challenge:
    """A liveness challenge the server issued; the kiosk must answer it before it expires."""

    kind: str
    nonce: str
    issued_at: float
    expires_at: float

    @property
    def instruction_zh(self) -> str:
        return instruction_zh(self.kind)

    @property
    def steps(self) -> list[str]:
        return steps_of(self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "instruction_zh": self.instruction_zh}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Challenge:
        return cls(str(data["kind"]), str(data["nonce"]), float(data["issued_at"]), float(data["expires_at"]))


@dataclass
class LivenessResult:
    """The verdict on a challenge answer, pass or fail: the moves, one live face throughout; never whose face it is."""

    decision: str
    code: str | None
    challenge: str
    frames: int
    yaw: list[float] = field(default_factory=list)
    eye_aspect_ratio: list[float] = field(default_factory=list)
    nonrigid: float = 0.0
    frame_difference: float = 0.0
    moves: list[str] = field(default_factory=list)  # a sequence challenge: the moves seen, in order
    detail: str = ""
    # The frames the identity is decided on (identity_frames: their numbers in the burst), for the one
    # decision over the burst (face_verify.judge).
    samples: list[FaceSample] = field(default_factory=list, repr=False)
    identity_frames: list[int] = field(default_factory=list)
    # The frames the tracking model embedded (tracked_frames); every other one is continuous with one of them.
    tracked_frames: list[int] = field(default_factory=list)
    # Their one-pass embeddings by frame number: the decision judges each alone against the templates.
    tracked: dict[int, Embedding] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return self.decision == "pass"

    @property
    def one_face(self) -> bool:
        """Tell whether the burst was embedded and showed one face throughout (passed, or refused for the moves)."""
        return bool(self.samples) and (self.passed or self.code in MOVE_CODES)

    @property
    def message_zh(self) -> str | None:
        return FaceRefusal(self.code).message_zh if self.code else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "code": self.code,
            "message_zh": self.message_zh,
            "challenge": self.challenge,
            "frames": self.frames,
            "yaw": [round(v, 2) for v in self.yaw],
            "eye_aspect_ratio": [round(v, 4) for v in self.eye_aspect_ratio],
            "nonrigid": round(self.nonrigid, 4),
            "frame_difference": round(self.frame_difference, 3),
            "moves": self.moves,
            "identity_frames": self.identity_frames,
            "tracked_frames": self.tracked_frames,
            "detail": self.detail,
        }


def steps_of(kind: str) -> list[str]:
    """Return the moves of a challenge kind ("turn_left" or "turn_left+blink+turn_right")."""
    return kind.split(SEPARATOR)


def instruction_zh(kind: str) -> str:
    """Return the Chinese instruction for a challenge: the move's own, or the moves in order."""
    steps = steps_of(kind)
    if len(steps) == 1:
        return INSTRUCTIONS_ZH[kind]
    order = ["先", "再"] if len(steps) == 2 else _ORDER_ZH
    return "，".join(f"{word}{_STEP_ZH[step]}" for word, step in zip(order, steps, strict=True)) + "。"


def challenge_space(moves: Sequence[str] = CHALLENGES, length: int = 3) -> list[str]:
    """Return every challenge of `length` moves, no move twice in a row (two blinks in a row are easily missed)."""
    return [
        SEPARATOR.join(seq)
        for seq in itertools.product(moves, repeat=length)
        if all(a != b for a, b in itertools.pairwise(seq))
    ]


def draw_challenge(moves: Sequence[str] = CHALLENGES, length: int = 3) -> str:
    """Pick a challenge kind uniformly from the space, with the system's CSPRNG."""
    return secrets.choice(challenge_space(moves, length))


def issue_challenge(
    ttl_seconds: float = 60.0, kinds: Sequence[str] = CHALLENGES, now: float | None = None, length: int = 1
) -> Challenge:
    """Pick a random challenge (`length` moves) with an unguessable nonce."""
    issued = time.time() if now is None else now
    return Challenge(draw_challenge(kinds, length), secrets.token_urlsafe(16), issued, issued + ttl_seconds)


def mouth_aspect_ratio(landmarks: Landmarks | None) -> float:
    """Return the inner-lip opening over the mouth's width (0 for landmarks without the 68-point mouth)."""
    if landmarks is None or len(landmarks.points) < 68:
        return 0.0
    points = landmarks.points
    width = float(np.linalg.norm(points[60] - points[64]))
    opening = np.mean([np.linalg.norm(points[a] - points[b]) for a, b in ((61, 67), (62, 66), (63, 65))])
    return float(opening / width) if width > 0 else 0.0


def moves_seen(
    yaws: Sequence[float],
    ears: Sequence[float],
    mouths: Sequence[float],
    min_yaw: float,
    blink_ratio: float,
    mirrored: bool = False,
) -> list[str]:
    """Return the moves a burst shows, in the order they start, measured from its first (frontal) frame."""
    toward_left = np.asarray(yaws, dtype=np.float64) - yaws[0]
    if mirrored:
        toward_left = -toward_left
    events: list[tuple[int, str]] = []
    # A turn starts past min_yaw and ends back within half of it (hysteresis: no flicker at the threshold).
    head: str | None = None
    for n, turn in enumerate(toward_left):
        side = "turn_left" if turn >= min_yaw else "turn_right" if turn <= -min_yaw else None
        if side is not None and side != head:
            events.append((n, side))
            head = side
        elif side is None and abs(turn) < min_yaw / 2:
            head = None
    # Eyes and mouth are judged on frontal frames only: a turned face foreshortens both ratios.
    front = [n for n, turn in enumerate(toward_left) if abs(turn) < min_yaw / 2]
    open_mouth = max(MOUTH_OPEN_RATIO, mouths[0] + MOUTH_OPEN_RISE)
    mouth_open = False
    for n in front:
        if not mouth_open and mouths[n] >= open_mouth:
            events.append((n, "open_mouth"))
            mouth_open = True
        elif mouth_open and mouths[n] < (open_mouth + mouths[0]) / 2:
            mouth_open = False
    levels = [ears[n] for n in front]
    if len(levels) >= 3:
        open_level = float(np.percentile(levels, 75))
        state, start = "unknown", 0
        for n in front:
            if ears[n] >= 0.9 * open_level:
                if state == "closed":
                    events.append((start, "blink"))  # closed between two open frames
                state = "open"
            elif ears[n] <= blink_ratio * open_level and state == "open":
                state, start = "closed", n
    return [kind for _, kind in sorted(events)]


def sequence_seen(steps: Sequence[str], seen: Sequence[str]) -> bool:
    """Tell whether the moves seen answer the steps: head and mouth moves exactly, blinks where asked."""
    # Natural blinks come every few seconds, so extra ones are forgiven; any other extra move is not, or a
    # recording of one sequence would answer every sequence it contains.
    if [m for m in seen if m != "blink"] != [s for s in steps if s != "blink"]:
        return False
    found = iter(seen)
    return all(any(m == step for m in found) for step in steps)


def nonrigid_motion(landmarks: Sequence[Landmarks]) -> float:
    """Return the largest landmark motion no homography explains, relative to the eye distance."""
    # A photo moved, scaled or tilted in front of the camera maps its landmarks by a homography;
    # a real head turning does not.
    first = landmarks[0].points.astype(np.float32)
    scale = max(landmarks[0].eye_distance(), 1.0)
    worst = 0.0
    for other in landmarks[1:]:
        points = other.points.astype(np.float32)
        homography, _ = cv2.findHomography(first, points, 0)
        if homography is None:
            return float("inf")
        mapped = cv2.perspectiveTransform(first.reshape(-1, 1, 2), homography).reshape(-1, 2)
        residual = float(np.sqrt(np.mean(np.sum((mapped - points) ** 2, axis=1))))
        worst = max(worst, residual / scale)
    return worst


def yaw_turn_seen(yaws: Sequence[float], direction: str, min_degrees: float, mirrored: bool = False) -> bool:
    """Tell whether the head turned the requested way by at least min_degrees from the first frame."""
    # Yaw > 0 means the nose points to the image's right: the subject's own left in an unmirrored frame.
    toward_left = np.asarray(yaws, dtype=np.float64) - yaws[0]
    if mirrored:
        toward_left = -toward_left
    turned = toward_left if direction == "turn_left" else -toward_left
    return bool(turned.max() >= min_degrees)


def blink_seen(ears: Sequence[float], ratio: float) -> bool:
    """Tell whether the eye aspect ratio dropped below ratio x this person's own open-eye level and recovered."""
    values = np.asarray(ears, dtype=np.float64)
    if len(values) < 3:
        return False
    open_level = float(np.percentile(values, 75))
    closed = np.flatnonzero(values <= ratio * open_level)
    if open_level <= 0 or closed.size == 0:
        return False
    # Open eyes must be seen before and after the blink, not a face that is simply squinting throughout.
    near_open = values >= 0.9 * open_level
    return bool(near_open[: closed[0]].any() and near_open[closed[-1] + 1 :].any())


def identity_frames(samples: Sequence[FaceSample], count: int, settings: Any) -> list[int]:
    """Return the numbers of the frames whose identity is embedded and decided on: the best frontal one of each part.

    The burst is cut into `count` equal parts (one by default, liveness_identity_frames) and each gives its most
    frontal, open-eyed, closed-mouthed and sharpest frame: the pose the enrolment photos and the calibrated
    thresholds are of (a turned, blinking or blurred face is further from its own enrolment photo). That the
    face which made the moves is the claimed worker's is proven for every frame apart: by the
    tracking model's one-pass embedding, judged alone against the templates by the decision (fusion.verify_fused),
    or by continuity, frame to frame, with a frame so embedded (tracked_frames).
    """
    total = len(samples)
    if total <= count:
        return list(range(total))
    ears = np.asarray([s.quality.eye_aspect_ratio for s in samples], dtype=np.float64)
    open_eyes = 0.9 * float(np.percentile(ears, 75))

    def rank(n: int) -> tuple[bool, bool, bool, float]:
        q = samples[n].quality
        frontal = max(abs(q.yaw), abs(q.pitch)) <= settings.liveness_min_yaw_deg / 2
        mouth_open = mouth_aspect_ratio(samples[n].landmarks) >= MOUTH_OPEN_RATIO
        return (not frontal, ears[n] < open_eyes, mouth_open, -q.sharpness)

    bounds = np.linspace(0, total, max(count, 1) + 1).round().astype(int)
    return sorted({min(range(a, b), key=rank) for a, b in itertools.pairwise(bounds) if b > a})


def aligned_patch(rgb: np.ndarray, landmarks: Landmarks) -> np.ndarray:
    """Return the face as a small grey patch aligned on its five points (float32)."""
    # A least-squares similarity of all five points: the embedding models' LMEDS fit picks a subset of them,
    # and the subset changing between two frames of one take tilted the patch enough to halve the match.
    source = five_points(landmarks).astype(np.float64)
    target = ARCFACE_112_TEMPLATE.astype(np.float64) * (_PATCH / 112.0)
    src, dst = source - source.mean(axis=0), target - target.mean(axis=0)
    spread = float(np.sum(src**2))
    if spread <= 0:
        return np.zeros((_PATCH, _PATCH), np.float32)  # degenerate points: continuous with nothing
    # The complex ratio sum(dst * conj(src)) / sum(|src|^2) is the scale and rotation that fit best.
    a = float(np.sum(src[:, 0] * dst[:, 0] + src[:, 1] * dst[:, 1])) / spread
    b = float(np.sum(src[:, 0] * dst[:, 1] - src[:, 1] * dst[:, 0])) / spread
    linear = np.array([[a, -b], [b, a]])
    matrix = np.hstack([linear, (target.mean(axis=0) - linear @ source.mean(axis=0))[:, None]])
    # Warped to four times the size and averaged down: warped straight to a few dozen pixels the sampling
    # aliases, and the same face moved a pixel matched its own next frame much worse.
    scale_up = np.diag([4.0, 4.0])
    big = cv2.warpAffine(rgb, np.hstack([scale_up @ matrix[:, :2], 4.0 * matrix[:, 2:]]), (4 * _PATCH, 4 * _PATCH))
    small = cv2.resize(big, (_PATCH, _PATCH), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)


def continuity(patches: Sequence[np.ndarray], shift: int = _PATCH_SHIFT) -> list[float]:
    """Return how well each frame's aligned patch matches the next frame's (one fewer than the frames).

    The normalised correlation of the centre of one patch with the other, at the best of the shifts up to
    `shift` pixels: the landmarks of one face jitter by a pixel or so from frame to frame (the detector's box
    moves in steps), which alone took some frames of one take under 0.9 (scripts/measure_continuity.py).
    """
    out = []
    for a, b in itertools.pairwise(patches):
        centre = a[shift : a.shape[0] - shift, shift : a.shape[1] - shift]
        flat = float(centre.std()) == 0.0 or float(b.std()) == 0.0
        out.append(0.0 if flat else float(cv2.matchTemplate(b, centre, cv2.TM_CCOEFF_NORMED).max()))
    return out


def track_segments(links: Sequence[float], min_correlation: float) -> list[range]:
    """Return the burst cut into face tracks: runs of frames each continuous with the next (links[n]: n and n + 1)."""
    cuts = [0, *(n + 1 for n, link in enumerate(links) if link < min_correlation), len(links) + 1]
    return [range(a, b) for a, b in itertools.pairwise(cuts)]


def tracked_frames(total: int, anchors: Sequence[int], links: Sequence[float], min_correlation: float) -> list[int]:
    """Return the frames the tracking model must embed so that every face track holds an embedded frame.

    links[n] is the continuity of frames n and n + 1 (total - 1 of them). A track is a run of frames each
    continuous with the next (track_segments): one face followed from frame to frame. The anchors (the
    identity frames) are embedded anyway; a track without one has its middle frame embedded. A face swapped
    into any frame breaks the links on both sides of it, so it starts a track of its own and is embedded.
    """
    if len(links) != max(total - 1, 0):
        raise ValueError(f"{len(links)} links for {total} frames")
    chosen = set(anchors)
    for track in track_segments(links, min_correlation) if total else []:
        if not chosen.intersection(track):
            chosen.add(track[len(track) // 2])
    return sorted(chosen)


@dataclass
class BurstEmbedding:
    """What a burst's identity is decided on: the judged frames' samples and the tracked frames' embeddings."""

    identity_frames: list[int]
    tracked_frames: list[int]
    samples: list[FaceSample]  # the identity frames, embedded by the model the decision asks first (embed_rest: all)
    tracked: dict[int, Embedding]  # the tracking model's one-pass embedding of each tracked frame


def embed_burst(
    engine: FaceEngine,
    images: Sequence[np.ndarray],
    found: Sequence[FaceSample],
    patches: Sequence[np.ndarray] | None = None,
) -> BurstEmbedding:
    """Embed a burst analysed without embeddings (`found`, one sample of each image) as its identity is decided.

    The identity embeddings, the costly part, only for the frames that decide (identity_frames says which).
    The tracking model's one pass for those and for one frame of every face track that holds none of them
    (tracked_frames): a face swapped into any frame breaks its track and is embedded and compared. A burst
    without continuity (frames of different takes) has every frame embedded; a filmed one only its identity
    frames. Check-in and `exam-server face verify` both embed a burst here, so that they decide on the same vectors.
    patches: the frames' aligned patches where the caller has them (find_faces), else made here.
    """
    settings = engine.settings
    track = engine.track_model
    faces = [DetectedFace(s.box, s.landmarks) for s in found if s.landmarks is not None]  # analyse_rgb sets them
    chosen = identity_frames(found, settings.liveness_identity_frames, settings)
    if patches is None:
        patches = [aligned_patch(rgb, face.landmarks) for rgb, face in zip(images, faces, strict=True)]
    links = continuity(patches)
    embedded = tracked_frames(len(images), chosen, links, settings.liveness_track_min_correlation)
    vectors = {n: track.quick_embed(images[n], faces[n]) for n in embedded}
    # The identity frames by the model the decision asks first; the others only if it asks for them.
    samples = [engine.embed_lead(images[n], found[n], {track.key: vectors[n]}) for n in chosen]
    tracked = {n: Embedding(v, track.name, track.version) for n, v in vectors.items()}
    return BurstEmbedding(chosen, embedded, samples, tracked)


def check_liveness(
    engine: FaceEngine,
    challenge: Challenge,
    frames: Sequence[bytes],
    now: float | None = None,
    decoded: Sequence[np.ndarray | FaceRefusal] | None = None,
) -> LivenessResult:
    """Judge a burst of frames answering a challenge: the moves, a live face, one face throughout; not whose.

    No template is looked at: the result carries the frames' embeddings (samples, tracked) for the one
    identity decision (face_verify.judge, fusion.verify_fused), which judges each of them.
    decoded: the frames as FaceEngine.decode_frames returned them (the caller's, decoded once), else decoded here.
    """
    settings = engine.settings
    result = LivenessResult("fail", None, challenge.kind, len(frames))
    if (time.time() if now is None else now) > challenge.expires_at:
        return _fail(result, "liveness_expired", "challenge expired")
    steps = challenge.steps
    if any(step not in CHALLENGES for step in steps):
        raise ValueError(f"unknown challenge {challenge.kind!r}")
    if len(frames) < settings.liveness_min_frames:
        return _fail(result, "liveness_too_few_frames", f"{len(frames)} < {settings.liveness_min_frames} frames")
    if len(frames) > settings.liveness_max_frames:
        return _fail(result, "liveness_too_many_frames", f"{len(frames)} > {settings.liveness_max_frames} frames")
    if len({hashlib.sha256(bytes(f)).digest() for f in frames}) == 1:
        return _fail(result, "liveness_static", "every frame is the same file")

    decoded = engine.decode_frames(frames) if decoded is None else decoded
    if len(decoded) != len(frames):
        raise ValueError(f"{len(decoded)} decoded images for {len(frames)} frames")
    try:
        faces = find_faces(engine, decoded)
    except FaceRefusal as refusal:
        return _fail(result, refusal.code, refusal.detail)
    found, thumbs = faces.samples, faces.thumbs

    result.yaw = [s.quality.yaw for s in found]
    result.eye_aspect_ratio = [s.quality.eye_aspect_ratio for s in found]
    result.frame_difference = max(float(np.abs(a - b).mean()) for a, b in zip(thumbs, thumbs[1:], strict=False))
    if result.frame_difference < settings.liveness_static_max_diff:
        return _fail(result, "liveness_static", f"frames differ by {result.frame_difference:.2f} grey levels")

    burst = embed_burst(engine, faces.images, found, faces.patches)
    result.identity_frames, result.tracked_frames = burst.identity_frames, burst.tracked_frames
    # One face throughout, judged on the frames against each other by the tracking model: the judged
    # frames against each other, every tracked frame against the nearest judged one.
    changed = _face_changed(engine, burst.tracked, burst.identity_frames)
    if changed is not None:
        return _fail(result, "liveness_face_changed", changed)
    # From here the burst is one face: its identity is judged whatever the moves show (LivenessResult.one_face).
    result.samples, result.tracked = burst.samples, burst.tracked

    result.nonrigid = nonrigid_motion([s.landmarks for s in found if s.landmarks is not None])
    # A blink or an open mouth is itself a non-rigid change (a single photo can do neither); a turn must not be planar.
    turns = any(step.startswith("turn_") for step in steps)
    if turns and result.nonrigid < settings.liveness_min_nonrigid:
        return _fail(result, "liveness_rigid", f"landmarks move as one plane (residual {result.nonrigid:.4f})")

    seen = _movement_seen(result, found, challenge.kind, settings)
    if not seen:
        detail = f"{challenge.kind} not seen" + (
            f" (moves seen: {'+'.join(result.moves) or 'none'})" if len(steps) > 1 else ""
        )
        return _fail(result, "liveness_movement_not_seen", detail)

    result.decision = "pass"
    return result


@dataclass
class FoundFaces:
    """Every frame of a burst with its face analysed without embedding (find_faces)."""

    samples: list[FaceSample]
    images: list[np.ndarray]
    thumbs: list[np.ndarray]  # grey thumbnails, _THUMB
    patches: list[np.ndarray]  # the faces' aligned patches (aligned_patch), for continuity
    followed: list[int] = field(default_factory=list)  # frames whose face was followed, not detected (_follow)


def find_faces(engine: FaceEngine, decoded: Sequence[np.ndarray | FaceRefusal]) -> FoundFaces:
    """Return every frame's face analysed without embedding, with its image, thumbnail and patch; raise the first refusal.

    Every frame: the face, its count and its 68 points (what the moves are read from), no embedding. Motion blurs
    frames in the middle of a turn; only the identity and the count of faces matter here.
    """
    out = FoundFaces([], [], [], [])
    for number, rgb in enumerate(decoded):
        try:
            if isinstance(rgb, FaceRefusal):
                raise rgb
            grey = cv2.cvtColor(cv2.resize(rgb, _THUMB, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
            thumb = grey.astype(np.float32)
            # The first frame, and any other that changed outside the window around the previous face, has the
            # full search: a face entering the picture there changes it (FaceEngine._detect_near says what the
            # window search can and cannot see).
            previous = out.samples[-1] if out.samples else None
            if previous is not None and _same_outside(out.images[-1], out.thumbs[-1], rgb, thumb, previous.box, engine):
                near: FaceBox | None = previous.box
                followed = _follow(engine, rgb, previous, out.patches[-1])
            else:
                near, followed = None, None
            if followed is not None:
                sample, patch = followed
                out.followed.append(number)
            else:
                sample = engine.analyse_rgb(rgb, "live", check=False, embed=False, near=near)
                patch = aligned_patch(rgb, sample.landmarks) if sample.landmarks is not None else _FLAT_PATCH
        except FaceRefusal as refusal:
            raise FaceRefusal(
                refusal.code, f"frame {number}: {refusal.detail}", refusal.message_zh, refusal.limits, number
            ) from refusal
        out.samples.append(sample)
        out.images.append(rgb)
        out.thumbs.append(thumb)
        out.patches.append(patch)
    return out


def _follow(
    engine: FaceEngine, rgb: np.ndarray, previous: FaceSample, previous_patch: np.ndarray
) -> tuple[FaceSample, np.ndarray] | None:
    """Return the previous frame's face followed into this frame by its 68 points, with its patch; None to detect it.

    The 68 points are placed in the previous face's box (dlib's shape predictor corrects a box a few pixels
    off) and the box moves as they moved: no detector, when the face is continuous with the previous frame's
    (one face track, liveness_track_min_correlation) and the window the detector would scan (face_window) lies
    wholly inside the picture: a second face can then reach it only across the rest of the picture, which the
    caller has seen unchanged. Where the window touches the picture's edge, the window search still counts the
    faces in it (one, clear of its edges), and the points are still the followed ones: switching to the
    detector's box mid-take moved them enough to break the track (scripts/measure_burst.py). Measured on
    scripts/bench_face.py's one-take burst: the points 0.4 px from the detector's on average, the cost a third.
    """
    settings = engine.settings
    if not settings.liveness_follow_faces or previous.landmarks is None:
        return None
    landmarks = engine.landmarker.landmarks(rgb, previous.box)
    patch = aligned_patch(rgb, landmarks)
    if continuity([previous_patch, patch])[0] < settings.liveness_track_min_correlation:
        return None
    height, width = rgb.shape[:2]
    if not engine.window_in_picture(previous.box, width, height) and not engine.one_face_near(rgb, previous.box):
        return None
    box = _moved_box(previous.box, previous.landmarks.points, landmarks.points)
    return engine.describe(rgb, DetectedFace(box, landmarks), "live", check=False, embed=False), patch


def _moved_box(box: FaceBox, before: np.ndarray, after: np.ndarray) -> FaceBox:
    """Return the box moved and scaled as the points moved from before to after (their centroid and spread)."""
    start, end = before.mean(axis=0), after.mean(axis=0)
    spread = float(np.sum((before - start) ** 2))
    scale = float(np.sqrt(np.sum((after - end) ** 2) / spread)) if spread > 0 else 1.0
    corners = (np.array([[box.left, box.top], [box.right, box.bottom]], np.float64) - start) * scale + end
    (left, top), (right, bottom) = np.round(corners).astype(int)
    return FaceBox(int(left), int(top), int(right), int(bottom), box.score)


def _same_outside(
    before: np.ndarray,
    before_thumb: np.ndarray,
    after: np.ndarray,
    after_thumb: np.ndarray,
    box: FaceBox,
    engine: FaceEngine,
) -> bool:
    """Tell whether a frame is the previous one's picture outside the window around its face box (same size too)."""
    if before.shape != after.shape:
        return False  # the previous face's box means nothing in a frame of another size
    height, width = after.shape[:2]
    window = engine.face_window(box, width, height)
    sx, sy = _THUMB[0] / width, _THUMB[1] / height
    outside = np.ones(after_thumb.shape, dtype=bool)
    # The window's thumbnail pixels, rounded outwards: a pixel half inside it holds the face's own motion.
    outside[
        int(window.top * sy) : int(np.ceil(window.bottom * sy)), int(window.left * sx) : int(np.ceil(window.right * sx))
    ] = False
    near = np.ones((3, 3), np.uint8)
    brighter = after_thumb > cv2.dilate(before_thumb, near) + _OUTSIDE_GREY
    darker = after_thumb < cv2.erode(before_thumb, near) - _OUTSIDE_GREY
    return int((brighter | darker)[outside].sum()) <= _OUTSIDE_PIXELS


def _face_changed(engine: FaceEngine, tracked: dict[int, Embedding], judged: Sequence[int]) -> str | None:
    """Return why when a tracked frame's face is not the judged frames' one (the moves made by someone else), else None.

    tracked: the tracked frames' one-pass embeddings by the tracking model, by frame number (the judged frames
    among them). Whether that one face is the claimed worker's is the identity decision's to say.
    """
    track = engine.track_model
    changed = max(min(track.distance(e.vector, tracked[n].vector) for n in judged) for e in tracked.values())
    # The judged frames are each other's nearest only among themselves (each is its own nearest above).
    between = [track.distance(tracked[a].vector, tracked[b].vector) for a, b in itertools.combinations(judged, 2)]
    changed = max([changed, *between])
    if engine.decide(changed, "live", track).decision == "mismatch":
        return f"{track.name} frame distance up to {changed:.3f}"
    return None


def _movement_seen(result: LivenessResult, samples: Sequence[FaceSample], kind: str, settings: Any) -> bool:
    """Tell whether the burst shows the challenge's moves (a single move is judged as before sequences)."""
    steps = steps_of(kind)
    if kind == "blink":
        return blink_seen(result.eye_aspect_ratio, settings.liveness_blink_ratio)
    if len(steps) == 1 and kind != "open_mouth":
        return yaw_turn_seen(result.yaw, kind, settings.liveness_min_yaw_deg, settings.mirrored_frames)
    mouths = [mouth_aspect_ratio(s.landmarks) for s in samples]
    result.moves = moves_seen(
        result.yaw,
        result.eye_aspect_ratio,
        mouths,
        settings.liveness_min_yaw_deg,
        settings.liveness_blink_ratio,
        settings.mirrored_frames,
    )
    return sequence_seen(steps, result.moves)


def _fail(result: LivenessResult, code: str, detail: str) -> LivenessResult:
    result.decision = "fail"
    result.code = code
    result.detail = detail
    return result
