"""Every threshold and limit of the face engine, with calibrated defaults."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

ENV_PREFIX = "EXAM_FACE_"


@dataclass(frozen=True)
class FaceSettings:
    """Hold the face engine's limits and thresholds (distances are Euclidean, dlib scale)."""

    # Intake.
    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 40_000_000
    allowed_formats: tuple[str, ...] = ("JPEG", "PNG")
    # Larger images are downscaled before detection: a face needs no more than this.
    work_max_side: int = 1280

    # Detection: HOG finds faces from about 80 px / 2**upsample wide.
    detect_upsample_live: int = 1
    detect_upsample_upload: int = 1
    detect_upsample_id_card: int = 2
    # Live frames (kiosk bursts and in-exam captures) are looked at cheaply first: a copy scaled to
    # detect_fast_side px without upsampling (3-4% of a bare analysis), then full size without upsampling,
    # and with detect_upsample_live only when neither found a face (scripts/bench_face.py measures each).
    detect_fast_live: bool = True
    detect_fast_side: int = 320
    # After a burst's first frame, each frame's face is looked for first in a window around the previous
    # frame's (FaceEngine._detect_near): a third of the fast search's HOG cost on a kiosk crop.
    detect_near_live: bool = True

    # Quality.
    min_face_px_live: int = 80
    min_face_px_upload: int = 80
    min_face_px_id_card: int = 40
    # Share of the detected face box inside an uploaded photo; below it the face is cut by the frame's
    # edge. Measured on the shared photos: the two cut faces (partial/) 0.75 and 0.77, every single/
    # photo 1.00. Kiosk frames and ID-card chips are not held to it (a chip is cropped to the face).
    min_face_in_frame_upload: float = 0.9
    min_sharpness_live: float = 20.0
    min_sharpness_upload: float = 20.0
    min_sharpness_id_card: float = 12.0
    min_brightness: float = 45.0
    max_brightness: float = 240.0
    max_clipped_share: float = 0.25

    # 1:1 decisions: distance <= threshold is a match; the review band
    # [threshold - review_below, threshold + review_above] goes to a person.
    live_threshold: float = 0.35
    id_card_threshold: float = 0.38
    review_below: float = 0.0
    review_above: float = 0.17

    # 1:N search (duplicate enrolment): every hit goes to human review. It searches search_model's index
    # (the model that separates East-Asian faces, not dlib), with search_threshold on that model's scale.
    search_model: str = "sface_2021dec_int8bq"
    search_threshold: float = 0.26
    search_k: int = 10

    # Cohort score normalisation (fusion.verify_fused with a Population): each model's distance is
    # normalised against the nearest of a sample of other enrolled workers; below this many enrolled
    # workers in the index the plain calibrated decision is taken instead (and the decision says so).
    cohort_min_population: int = 500
    # The rank check: another enrolled worker nearer to the live face than the claimed worker sends a
    # "match" to review. "enterprise": the claimed worker's colleagues (a global search over 310,000
    # people would find a nearer stranger for most genuine faces: docs/face-models.md); "all": everyone.
    rank_check: bool = True
    rank_check_scope: str = "enterprise"

    # Liveness.
    liveness_min_frames: int = 4
    liveness_max_frames: int = 30
    liveness_ttl_seconds: int = 60
    liveness_min_yaw_deg: float = 15.0
    liveness_blink_ratio: float = 0.7
    liveness_static_max_diff: float = 2.0
    liveness_min_nonrigid: float = 0.02
    # Frames of a burst embedded for identity, the best of each part of it (liveness.identity_frames). One: the
    # thresholds are fitted on one photo against another, and a second frame of one face track is nearly the
    # same picture (docs/face.md "One identity frame"); every other track is held by the tracking model's pass.
    liveness_identity_frames: int = 1
    # The model whose one-pass embedding of every frame proves the same face throughout the burst (the
    # primary model when the engine does not hold it): SFace costs a fifth of dlib's encoding per frame.
    liveness_track_model: str = "sface_2021dec_int8bq"
    # Two consecutive frames this continuous are one face track, of which the tracking model embeds one frame:
    # the correlation of their 24 px grey face patches aligned on the five points (liveness.continuity).
    # scripts/measure_continuity.py on shared/faces: two different people at most 0.78 (388 pairs), the next
    # frame of one take (moved 1-6 px, scaled up to 4%) 0.998 median, 99% of them at 0.9 or more. Above 1,
    # every frame is embedded.
    liveness_track_min_correlation: float = 0.9
    # A frame continuous with the previous one has its face followed by its 68 points from the previous box,
    # without the detector (liveness._follow: a third of the cost); off, every frame's face is detected.
    liveness_follow_faces: bool = True
    mirrored_frames: bool = False

    # Embedding model and batch work.
    model: str = "dlib_resnet_v1"
    # Models that can (SFace, ArcFace) also embed the mirrored face and average the two: a model version
    # of its own ("...-flip"), so switching it means re-enrolling (exam-server face reenrol).
    flip_average: bool = True
    batch_processes: int = 2
    # OpenCV's threads per process (0: left as they are; OpenCV's default is one per core). The server runs one face analysis
    # at a time per process, a process per core, so OpenCV's extra threads only add CPU: one thread cut a
    # check-in's CPU time by 5-9% (scripts/bench_face.py). Set process-wide when a FaceEngine is made.
    opencv_threads: int = 1

    # More embedding models computed from the same detection at every analysis (comma-separated in
    # EXAM_FACE_EXTRA_MODELS; empty for dlib alone); thresholds of models other than dlib, and the
    # fusion, come from fusion_file (empty: the shipped exam_server/face/fusion_params.json).
    # fused: the server decides 1:1 with engine.verify_fused (a worker without a template of every
    # fused model goes to review; `exam-server face reenrol --model NAME` adds them). See docs/face-models.md.
    extra_models: tuple[str, ...] = ("sface_2021dec_int8bq",)
    fused: bool = True
    # The fused decision asks its lead model (the one carrying most of the fused weight: SFace) first and
    # embeds the others only when that model's distance leaves the decision open: when no distance of theirs
    # short of their own veto could change it (fusion.settled_by_lead). Off: every model is always embedded.
    fused_lead_first: bool = True
    fusion_file: str = ""
    # InsightFace's ArcFace weights are licensed for non-commercial research only: opt-in.
    allow_noncommercial_models: bool = False

    def threshold_for(self, template_kind: str) -> float:
        """Return the 1:1 threshold for a template of this kind."""
        return self.id_card_threshold if template_kind == "id_card" else self.live_threshold

    def __post_init__(self) -> None:
        if self.rank_check_scope not in ("enterprise", "all"):
            raise ValueError(f"rank_check_scope must be 'enterprise' or 'all', got {self.rank_check_scope!r}")

    def replace(self, **changes: Any) -> FaceSettings:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], prefix: str = "") -> FaceSettings:
        """Build settings from a mapping whose keys are field names (optionally prefixed, any case)."""
        known = {f.name: f for f in fields(cls)}
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            if prefix and not key.upper().startswith(prefix.upper()):
                continue
            name = key[len(prefix) :].lower()
            if name in known:
                changes[name] = _coerce(known[name].type, raw, key)
        return cls(**changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FaceSettings:
        """Build settings from EXAM_FACE_* environment variables, defaults elsewhere."""
        return cls.from_mapping(os.environ if environ is None else environ, ENV_PREFIX)


def _coerce(type_name: Any, raw: Any, key: str) -> Any:
    if not isinstance(raw, str):
        return tuple(raw) if isinstance(raw, list) else raw
    text = str(type_name)
    try:
        if text == "bool":
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if text == "int":
            return int(raw)
        if text == "float":
            return float(raw)
        if text.startswith("tuple"):
            return tuple(part.strip().upper() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"{key} must be a {text}, got {raw!r}") from exc
    return raw
