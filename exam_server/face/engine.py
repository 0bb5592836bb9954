"""The face engine: analyse an image once, enrol, and verify 1:1 with a three-valued decision."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from .detection import (
    DetectedFace,
    DlibHogDetector,
    DlibShape68Provider,
    FaceBox,
    FaceDetector,
    LandmarkProvider,
    eye_aspect_ratio,
    head_pose,
)
from .errors import FaceRefusal, ModelMismatchError
from .intake import DecodedImage, decode_image
from .liveness import Challenge, LivenessResult, check_liveness, issue_challenge
from .models import EmbeddingModel, load_model
from .quality import (
    QualityFigures,
    brightness,
    check_exposure,
    check_quality,
    clipped_share,
    face_patch,
    in_frame_share,
    sharpness,
)
from .samples import (
    DECISIONS,
    ID_CARD_SIZE,
    KINDS,
    SOURCE_KINDS,
    Decided,
    Embedding,
    FaceSample,
    Template,
    Verification,
)
from .settings import FaceSettings

# Share of an ID-card photo's width that the face box takes.
_ID_CARD_FACE_SHARE = 0.6
# Border added, as a share of the longer side, when no face is found in an image cut tight around one.
_CROP_PAD_SHARE = 0.25
# A burst frame's face is looked for first in the previous frame's face box grown this much about its centre,
# scaled so that the face is this wide (FaceEngine._detect_near).
_WINDOW_GROW = 1.6
_WINDOW_FACE_PX = 100

__all__ = [
    "DECISIONS",
    "ID_CARD_SIZE",
    "KINDS",
    "SOURCE_KINDS",
    "Decided",
    "Embedding",
    "FaceEngine",
    "FaceSample",
    "Template",
    "Verification",
]


class FaceEngine:
    """Analyse, enrol and verify faces with one detector, one landmark provider and one embedding model."""

    def __init__(
        self,
        settings: FaceSettings | None = None,
        detector: FaceDetector | None = None,
        landmarker: LandmarkProvider | None = None,
        model: EmbeddingModel | None = None,
        extra_models: Sequence[EmbeddingModel] | None = None,
    ) -> None:
        self.settings = settings or FaceSettings()
        if self.settings.opencv_threads > 0:
            cv2.setNumThreads(self.settings.opencv_threads)
        self.detector = detector or DlibHogDetector()
        self.landmarker = landmarker or DlibShape68Provider()
        self._model = model
        self._extra_models = list(extra_models) if extra_models is not None else None

    @property
    def model(self) -> EmbeddingModel:
        if self._model is None:
            self._model = self.load(self.settings.model)
        return self._model

    @property
    def extra_models(self) -> list[EmbeddingModel]:
        """Return the further models embedded at every analysis (settings.extra_models), loaded on first use."""
        if self._extra_models is None:
            loaded = [self.load(name) for name in self.settings.extra_models]
            self._extra_models = [m for m in loaded if m.key != self.model.key]
        return self._extra_models

    def load(self, name: str) -> EmbeddingModel:
        """Return a registered model as these settings load it (licence opt-in, flip averaging)."""
        return load_model(name, self.settings.allow_noncommercial_models, self.settings.flip_average)

    @property
    def models(self) -> list[EmbeddingModel]:
        """Return every model this engine holds, the primary one first."""
        return [self.model, *self.extra_models]

    @property
    def track_model(self) -> EmbeddingModel:
        """Return the model that follows the face through a burst (settings.liveness_track_model, else the primary)."""
        try:
            return self.model_for(self.settings.liveness_track_model)
        except ModelMismatchError:
            return self.model

    def model_for(self, model: str) -> EmbeddingModel:
        """Return the held model with this key ("name/version") or name; ModelMismatchError if none."""
        for held in self.models:
            if model in (held.key, held.name):
                return held
        raise ModelMismatchError(model, f"this engine's models {[m.key for m in self.models]}")

    def embed_with(
        self,
        model: str | EmbeddingModel,
        image: bytes | np.ndarray | FaceSample,
        kind: str = "upload",
        face: DetectedFace | None = None,
    ) -> Embedding:
        """Return one model's embedding of an image's single face (for re-enrolment with a new model).

        image: encoded bytes (decoded, detected and quality-checked here), an RGB array (with `face`
        to reuse a detection, else detected here) or a FaceSample that already holds that model's vector.
        The model need not be one of the engine's own (a name is loaded from the registry).
        """
        if not isinstance(model, EmbeddingModel):
            try:
                model = self.model_for(model)
            except ModelMismatchError:
                model = self.load(str(model))
        if isinstance(image, FaceSample):
            return image.embedding_for(model.key)
        if isinstance(image, (bytes, bytearray, memoryview)):
            _check_kind(kind)
            rgb = self.decode(bytes(image), kind).rgb
            face = self.find_single_face(rgb, kind)
            check_quality(self.measure(rgb, face), kind, self.settings)
        else:
            rgb = image
            face = face or self.find_single_face(rgb, kind)
        return Embedding(model.embed(rgb, face), model.name, model.version)

    @property
    def fusion(self) -> Any:
        """Return the fusion (exam_server.face.fusion.Fusion) of settings.fusion_file, checked against held models."""
        from .fusion import load_params

        fused = load_params(self.settings.fusion_file).fused
        if fused is None:
            raise ModelMismatchError("fused", "no fusion in the parameters file")
        for key in fused.model_keys:
            self.model_for(key)
        return fused

    def verify_fused(
        self, probes: FaceSample | Sequence[FaceSample], templates: Template | Sequence[Template], **options: Any
    ) -> Any:
        """Decide on the calibrated fused score of several models, frames and templates (fusion.MultiVerification)."""
        from .fusion import verify_fused

        return verify_fused(self, probes, templates, **options)

    def decode(self, image_bytes: bytes, kind: str = "live") -> DecodedImage:
        """Decode image bytes under the intake limits."""
        return decode_image(image_bytes, self.settings)

    def decode_frames(self, frames: Sequence[bytes]) -> list[np.ndarray | FaceRefusal]:
        """Decode a burst once for every use (replay hashes, liveness): each frame's RGB, or why it was refused."""
        decoded: list[np.ndarray | FaceRefusal] = []
        for data in frames:
            try:
                decoded.append(self.decode(data, "live").rgb)
            except FaceRefusal as refusal:
                decoded.append(refusal)
        return decoded

    def analyse(self, image_bytes: bytes, kind: str = "live", source: str | None = None) -> FaceSample:
        """Decode an image, require exactly one usable face, and embed it (raises FaceRefusal)."""
        _check_kind(kind)
        return self.analyse_rgb(self.decode(image_bytes, kind).rgb, kind, source)

    def analyse_rgb(
        self,
        rgb: np.ndarray,
        kind: str = "live",
        source: str | None = None,
        check: bool = True,
        embed: bool = True,
        near: FaceBox | None = None,
    ) -> FaceSample:
        """Analyse an upright RGB uint8 image: detect once, landmark once, check, embed.

        near: the face box of the previous frame of a burst, the same size, whose face is looked for around it first.
        """
        return self.describe(rgb, self.find_single_face(rgb, kind, near), kind, source, check, embed)

    def describe(
        self,
        rgb: np.ndarray,
        face: DetectedFace,
        kind: str = "live",
        source: str | None = None,
        check: bool = True,
        embed: bool = True,
    ) -> FaceSample:
        """Return the sample of a face already found in an image: its quality figures, checked, and its embeddings."""
        figures = self.measure(rgb, face)
        if check:
            check_quality(figures, kind, self.settings)
        # Not embedded: an empty vector, which FaceSample.embeddings leaves out (embed_sample fills it in).
        vector = self.model.embed(rgb, face) if embed else np.zeros(0, np.float32)
        embedding = Embedding(vector, self.model.name, self.model.version)
        extra = {m.key: Embedding(m.embed(rgb, face), m.name, m.version) for m in self.extra_models} if embed else {}
        return FaceSample(
            embedding,
            kind,
            source or kind,
            face.box,
            figures,
            int(rgb.shape[1]),
            int(rgb.shape[0]),
            face.landmarks,
            extra,
        )

    def embed_sample(
        self,
        rgb: np.ndarray,
        sample: FaceSample,
        quick: dict[str, np.ndarray] | None = None,
        models: Sequence[EmbeddingModel] | None = None,
    ) -> FaceSample:
        """Return a sample analysed with embed=False, embedded from its own detection and landmarks.

        quick: a model's quick_embed of this face by model key, which that model's embedding starts from.
        models: embed only these (default every model of the engine); a model the sample already has an
        embedding of is not embedded again.
        """
        if sample.landmarks is None:
            raise ValueError("a sample without landmarks cannot be embedded again")
        face = DetectedFace(sample.box, sample.landmarks)
        quick = quick or {}
        wanted = {m.key for m in (self.models if models is None else models)}
        have = sample.embeddings

        def embed(model: EmbeddingModel) -> Embedding | None:
            if model.key in have:
                return have[model.key]
            if model.key not in wanted:
                return None
            return Embedding(model.embed_from(rgb, face, quick.get(model.key)), model.name, model.version)

        embedding = embed(self.model) or sample.embedding
        extra = {m.key: e for m in self.extra_models if (e := embed(m)) is not None}
        embedded = dataclasses.replace(sample, embedding=embedding, extra_embeddings=extra, embed_rest=None)
        if any(m.key not in embedded.embeddings for m in self.models):
            embedded = dataclasses.replace(embedded, embed_rest=lambda: self.embed_sample(rgb, embedded))
        return embedded

    def embed_lead(self, rgb: np.ndarray, sample: FaceSample, quick: dict[str, np.ndarray] | None = None) -> FaceSample:
        """Embed a sample analysed with embed=False by the model the decision asks first (every model if none leads).

        The fused decision asks its lead model first (fusion.settled_by_lead) and the others only when that
        model leaves the decision open: the sample's embed_rest then adds them.
        """
        return self.embed_sample(rgb, sample, quick, self.first_models)

    @property
    def first_models(self) -> list[EmbeddingModel]:
        """Return the models a live face is embedded by before the decision asks for more (fusion.settled_by_lead)."""
        if not (self.settings.fused and self.settings.fused_lead_first):
            return self.models
        from .fusion import lead_model, load_params

        fused = load_params(self.settings.fusion_file).fused
        lead = lead_model(fused) if fused is not None else None
        if fused is None or lead is None:
            return self.models
        try:
            return [self.model_for(fused.model_keys[lead])]
        except ModelMismatchError:
            return self.models

    def find_single_face(self, rgb: np.ndarray, kind: str = "live", near: FaceBox | None = None) -> DetectedFace:
        """Return the only face in the image with its landmarks, or refuse.

        near: where the previous frame of a burst had its face; looked at first (_detect_near), and the full
        search below runs only when that window does not hold exactly one face.
        """
        upsample = {"live": self.settings.detect_upsample_live, "id_card": self.settings.detect_upsample_id_card}.get(
            kind, self.settings.detect_upsample_upload
        )
        boxes = self._detect_near(rgb, near) if near is not None and self.settings.detect_near_live else []
        if not boxes and kind == "live" and self.settings.detect_fast_live:
            boxes = self._detect_fast(rgb)
        if not boxes:
            boxes = self.detector.detect(rgb, upsample)
        if not boxes:
            boxes = self._detect_padded(rgb, upsample)
        if not boxes:
            # A face lost in the dark (or in glare) is better reported as the lighting problem.
            small = cv2.resize(rgb, (64, 48), interpolation=cv2.INTER_AREA)
            check_exposure(float(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).mean()), self.settings, "frame")
            raise FaceRefusal("no_face", "no face found")
        if len(boxes) > 1:
            raise FaceRefusal("multiple_faces", f"{len(boxes)} faces, widths {[b.width for b in boxes]}")
        box = boxes[0]
        return DetectedFace(box, self.landmarker.landmarks(rgb, box))

    def _detect_fast(self, rgb: np.ndarray) -> list[FaceBox]:
        """Look on a reduced copy, then at full size, without upsampling: a kiosk face is 150-300 px wide.

        HOG's cost grows with the pixels it scans and 4-fold per upsampling; at 640x480 a half-size pass
        costs about a twelfth of the upsampled one. A face (or a second face) too small to be found this
        way is looked for again by the caller with the configured upsampling.
        """
        side = self.settings.detect_fast_side
        scale = side / max(rgb.shape[:2])
        if scale < 1.0:
            small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            found = self.detector.detect(small, 0)
            if found:
                return [
                    FaceBox(
                        int(round(b.left / scale)),
                        int(round(b.top / scale)),
                        int(round(b.right / scale)),
                        int(round(b.bottom / scale)),
                        b.score,
                    )
                    for b in found
                ]
        if self.settings.detect_upsample_live == 0:
            return []  # the caller's own pass is this one
        return self.detector.detect(rgb, 0)

    def face_window(self, near: FaceBox, width: int, height: int) -> FaceBox:
        """Return the region of a width x height frame that _detect_near scans around a previous face box."""
        return near.grown(_WINDOW_GROW).clipped(width, height)

    def window_in_picture(self, near: FaceBox, width: int, height: int) -> bool:
        """Tell whether the window around a face box (face_window) lies wholly inside a width x height frame."""
        return near.grown(_WINDOW_GROW) == self.face_window(near, width, height)

    def one_face_near(self, rgb: np.ndarray, near: FaceBox) -> bool:
        """Tell whether the window around a previous face box holds exactly one face, clear of its edges."""
        return len(self._detect_near(rgb, near)) == 1

    def _detect_near(self, rgb: np.ndarray, near: FaceBox) -> list[FaceBox]:
        """Look for the face only around the previous frame's: [its box], or [] for the full search to decide.

        The window (face_window) is scaled so that the previous face is _WINDOW_FACE_PX wide and scanned without
        upsampling: a 160 px square, a third of the fast search's 320 px copy of a kiosk crop (2.5 ms against 7.6).
        What it can see: a face wholly inside the window, 0.8-1.6 times as wide as the previous one (HOG's 80 px
        at this scale up to the window's side), which is where the same face is a frame later. What it cannot:
        anything outside the window, such as a second face entering the picture, and a face smaller than that
        inside it. So it answers only when it finds exactly one face clear of the window's edges, and the caller
        (liveness.find_faces) asks it only for a frame after the first of a burst that is unchanged outside the
        window since the previous frame: a face that enters elsewhere changes it, and the full search sees the
        frame; a face elsewhere that has not moved since was there for the first frame's full search.
        """
        height, width = rgb.shape[:2]
        window = self.face_window(near, width, height)
        if near.width <= 0 or window.width <= 0 or window.height <= 0:
            return []
        scale = _WINDOW_FACE_PX / near.width
        patch = rgb[window.top : window.bottom, window.left : window.right]
        small = cv2.resize(
            patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        )
        found = self.detector.detect(small, 0)
        if len(found) != 1:
            return []
        b = found[0]
        # A box reaching past the window is a face only partly inside it (a moved or larger one): not trusted.
        if b.left < 0 or b.top < 0 or b.right > small.shape[1] or b.bottom > small.shape[0]:
            return []
        return [
            FaceBox(
                window.left + int(round(b.left / scale)),
                window.top + int(round(b.top / scale)),
                window.left + int(round(b.right / scale)),
                window.top + int(round(b.bottom / scale)),
                b.score,
            )
        ]

    def _detect_padded(self, rgb: np.ndarray, upsample: int) -> list[FaceBox]:
        """Look again with a replicated border: HOG misses faces cropped to their edges (27 of 47 such crops found)."""
        pad = int(_CROP_PAD_SHARE * max(rgb.shape[:2]))
        padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        return [
            FaceBox(b.left - pad, b.top - pad, b.right - pad, b.bottom - pad, b.score)
            for b in self.detector.detect(padded, upsample)
        ]

    def measure(self, rgb: np.ndarray, face: DetectedFace) -> QualityFigures:
        """Return the quality figures of a detected face."""
        height, width = rgb.shape[:2]
        clipped = face.box.clipped(width, height)
        patch = cv2.cvtColor(
            np.ascontiguousarray(rgb[clipped.top : clipped.bottom, clipped.left : clipped.right]), cv2.COLOR_RGB2GRAY
        )
        full = FaceBox(0, 0, patch.shape[1], patch.shape[0])
        yaw, pitch, roll = head_pose(face.landmarks, width, height)
        return QualityFigures(
            face_width=clipped.width,
            face_height=clipped.height,
            sharpness=sharpness(face_patch(patch, full)),
            brightness=brightness(patch),
            detector_score=face.box.score,
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            eye_aspect_ratio=eye_aspect_ratio(face.landmarks),
            clipped=clipped_share(patch),
            in_frame=in_frame_share(face.box, width, height),
        )

    def enrol_sample(self, image_bytes: bytes, source: str) -> FaceSample:
        """Analyse an enrolment photo (source: id_card, certificate, console, batch or live)."""
        try:
            kind = SOURCE_KINDS[source]
        except KeyError:
            raise ValueError(f"unknown photo source {source!r}; known: {sorted(SOURCE_KINDS)}") from None
        return self.analyse(image_bytes, kind, source)

    def verify(self, sample: FaceSample | Embedding, template: Template | FaceSample | Embedding) -> Verification:
        """Compare a sample with an enrolled template; raise ModelMismatchError across models."""
        if isinstance(template, FaceSample):
            template = template.template()
        elif isinstance(template, Embedding):
            template = Template(template, "live")
        stored = template.embedding
        probe = sample.embedding if isinstance(sample, FaceSample) else sample
        if isinstance(sample, FaceSample) and stored.model_key in sample.extra_embeddings:
            probe = sample.extra_embeddings[stored.model_key]  # the same face, embedded by the template's model
        if probe.model_key != stored.model_key:
            raise ModelMismatchError(probe.model_key, stored.model_key)
        model = self.model_for(probe.model_key)
        if model.key != probe.model_key:
            raise ModelMismatchError(probe.model_key, model.key)
        if np.shape(probe.vector) != np.shape(stored.vector):
            raise ModelMismatchError(
                f"{probe.model_key} dim {np.shape(probe.vector)}", f"{stored.model_key} dim {np.shape(stored.vector)}"
            )
        return self.decide(model.distance(probe.vector, stored.vector), template.kind, model)

    def decide(self, distance: float, template_kind: str = "live", model: EmbeddingModel | None = None) -> Verification:
        """Turn a distance into match / review / mismatch with the threshold for this template kind (and model).

        dlib's thresholds are settings fields; every other model's come from settings.fusion_file.
        """
        model = model or self.model
        threshold = self.settings.threshold_for(template_kind)
        low = threshold - self.settings.review_below
        high = threshold + self.settings.review_above
        if model.name != "dlib_resnet_v1":
            from .fusion import load_params

            threshold, low, high = (
                load_params(self.settings.fusion_file).point_for(model.name, model.key).band(template_kind)
            )
        if distance <= low:
            decision = "match"
        elif distance > high:
            decision = "mismatch"
        else:
            decision = "review"
        return Verification(
            float(distance),
            decision,
            bool(distance <= threshold),
            threshold,
            low,
            high,
            template_kind,
            model.name,
            model.version,
        )

    def issue_challenge(self) -> Challenge:
        """Pick a random liveness challenge valid for the configured time."""
        return issue_challenge(self.settings.liveness_ttl_seconds)

    def check_liveness(
        self,
        challenge: Challenge,
        frames: Sequence[bytes],
        now: float | None = None,
        decoded: Sequence[np.ndarray | FaceRefusal] | None = None,
    ) -> LivenessResult:
        """Judge a burst of frames answering a challenge (liveness only: the identity is fusion.verify_fused's).

        decoded: the frames as decode_frames returned them, when the caller decoded them already.
        """
        return check_liveness(self, challenge, frames, now, decoded)

    def id_card_photo(self, image_bytes: bytes, quality: int = 90) -> bytes:
        """Return a 102x126 JPEG cut around the single face, as an ID-card chip photo looks."""
        rgb = self.decode(image_bytes, "upload").rgb
        box = self.find_single_face(rgb, "upload").box
        crop_w = box.width / _ID_CARD_FACE_SHARE
        crop_h = crop_w * ID_CARD_SIZE[1] / ID_CARD_SIZE[0]
        cx = (box.left + box.right) / 2.0
        cy = (box.top + box.bottom) / 2.0 - 0.05 * crop_h
        x0, y0 = int(round(cx - crop_w / 2)), int(round(cy - crop_h / 2))
        x1, y1 = x0 + int(round(crop_w)), y0 + int(round(crop_h))
        h, w = rgb.shape[:2]
        pad = max(0, -x0, -y0, x1 - w, y1 - h)
        if pad:
            rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        crop = rgb[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
        small = cv2.resize(crop, ID_CARD_SIZE, interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise FaceRefusal("not_an_image", "cannot encode the ID-card photo")
        return encoded.tobytes()


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown image kind {kind!r}; known: {KINDS}")
