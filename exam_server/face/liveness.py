"""Challenge-response liveness: a random head movement or blink, answered with a short burst of frames."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np

from .detection import Landmarks
from .errors import FaceRefusal

if TYPE_CHECKING:
    from .engine import FaceEngine
    from .samples import FaceSample, Template, Verification

CHALLENGES = ("turn_left", "turn_right", "blink")
INSTRUCTIONS_ZH = {
    "turn_left": "请缓慢向左转头，再转回正面。",
    "turn_right": "请缓慢向右转头，再转回正面。",
    "blink": "请正对摄像头眨眼。",
}
# Frames are compared at this size for the "same picture" test.
_THUMB = (64, 48)


@dataclass(frozen=True)
class Challenge:
    """A liveness challenge the server issued; the kiosk must answer it before it expires."""

    kind: str
    nonce: str
    issued_at: float
    expires_at: float

    @property
    def instruction_zh(self) -> str:
        return INSTRUCTIONS_ZH[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "instruction_zh": self.instruction_zh}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Challenge:
        return cls(str(data["kind"]), str(data["nonce"]), float(data["issued_at"]), float(data["expires_at"]))


@dataclass
class LivenessResult:
    """The verdict on a challenge answer: pass, review (identity in the review band) or fail."""

    decision: str
    code: str | None
    challenge: str
    frames: int
    yaw: list[float] = field(default_factory=list)
    eye_aspect_ratio: list[float] = field(default_factory=list)
    nonrigid: float = 0.0
    frame_difference: float = 0.0
    verifications: list[Verification] = field(default_factory=list)
    detail: str = ""
    # The analysed frames (every model's embedding), for a decision over the whole burst.
    samples: list[FaceSample] = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return self.decision == "pass"

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
            "distances": [round(v.distance, 4) for v in self.verifications],
            "detail": self.detail,
        }


def issue_challenge(
    ttl_seconds: float = 60.0, kinds: Sequence[str] = CHALLENGES, now: float | None = None
) -> Challenge:
    """Pick a random challenge with an unguessable nonce."""
    issued = time.time() if now is None else now
    return Challenge(secrets.choice(list(kinds)), secrets.token_urlsafe(16), issued, issued + ttl_seconds)


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


def check_liveness(
    engine: FaceEngine,
    challenge: Challenge,
    frames: Sequence[bytes],
    template: Template | Sequence[Template],
    now: float | None = None,
) -> LivenessResult:
    """Judge a burst of frames answering a challenge for the claimed worker's template (or fused templates).

    With one template each frame is verified by that template's model; with a list (one template per
    fused model) each frame is judged by engine.verify_fused.
    """
    settings = engine.settings
    result = LivenessResult("fail", None, challenge.kind, len(frames))
    if (time.time() if now is None else now) > challenge.expires_at:
        return _fail(result, "liveness_expired", "challenge expired")
    if challenge.kind not in CHALLENGES:
        raise ValueError(f"unknown challenge {challenge.kind!r}")
    if len(frames) < settings.liveness_min_frames:
        return _fail(result, "liveness_too_few_frames", f"{len(frames)} < {settings.liveness_min_frames} frames")
    if len(frames) > settings.liveness_max_frames:
        return _fail(result, "liveness_too_many_frames", f"{len(frames)} > {settings.liveness_max_frames} frames")
    if len({hashlib.sha256(bytes(f)).digest() for f in frames}) == 1:
        return _fail(result, "liveness_static", "every frame is the same file")

    samples: list[FaceSample] = []
    thumbs: list[np.ndarray] = []
    for number, data in enumerate(frames):
        try:
            rgb = engine.decode(data, "live").rgb
            # Motion blurs frames in the middle of a turn; only the identity and the count of faces matter here.
            samples.append(engine.analyse_rgb(rgb, "live", check=False))
        except FaceRefusal as refusal:
            return _fail(result, refusal.code, f"frame {number}: {refusal.detail}")
        grey = cv2.cvtColor(cv2.resize(rgb, _THUMB, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        thumbs.append(grey.astype(np.float32))

    result.yaw = [s.quality.yaw for s in samples]
    result.eye_aspect_ratio = [s.quality.eye_aspect_ratio for s in samples]
    result.frame_difference = max(float(np.abs(a - b).mean()) for a, b in zip(thumbs, thumbs[1:], strict=False))
    if result.frame_difference < settings.liveness_static_max_diff:
        return _fail(result, "liveness_static", f"frames differ by {result.frame_difference:.2f} grey levels")

    result.samples = samples
    templates = list(template) if isinstance(template, (list, tuple)) else [cast("Template", template)]
    result.verifications = [
        engine.verify(s, templates[0]) if len(templates) == 1 else engine.verify_fused(s, templates) for s in samples
    ]
    consistency = [engine.model.distance(samples[0].vector, s.vector) for s in samples[1:]]
    if max(consistency) > settings.live_threshold + settings.review_above:
        return _fail(result, "liveness_face_changed", f"frame distance up to {max(consistency):.3f}")
    if any(v.decision == "mismatch" for v in result.verifications):
        worst = max(v.distance for v in result.verifications)
        return _fail(result, "face_mismatch", f"distance to template up to {worst:.3f}")

    result.nonrigid = nonrigid_motion([s.landmarks for s in samples if s.landmarks is not None])
    # A blink is itself a non-rigid change (and a single photo cannot blink); a turn must not be planar.
    if challenge.kind != "blink" and result.nonrigid < settings.liveness_min_nonrigid:
        return _fail(result, "liveness_rigid", f"landmarks move as one plane (residual {result.nonrigid:.4f})")

    if challenge.kind == "blink":
        seen = blink_seen(result.eye_aspect_ratio, settings.liveness_blink_ratio)
    else:
        seen = yaw_turn_seen(result.yaw, challenge.kind, settings.liveness_min_yaw_deg, settings.mirrored_frames)
    if not seen:
        return _fail(result, "liveness_movement_not_seen", f"{challenge.kind} not seen")

    result.decision = "pass" if all(v.decision == "match" for v in result.verifications) else "review"
    return result


def _fail(result: LivenessResult, code: str, detail: str) -> LivenessResult:
    result.decision = "fail"
    result.code = code
    result.detail = detail
    return result
