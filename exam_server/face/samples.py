"""What the engine produces and decides with: embeddings, templates, analysed faces, 1:1 outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .detection import FaceBox, Landmarks
from .errors import ModelMismatchError
from .quality import QualityFigures

KINDS = ("live", "upload", "id_card")
# Photo sources (the server's FacePhoto.source values and "live") and the kind of image each is.
SOURCE_KINDS = {
    "live": "live",
    "id_card": "id_card",
    "certificate": "id_card",
    "console": "upload",
    "batch": "upload",
    "upload": "upload",
}
ID_CARD_SIZE = (102, 126)
DECISIONS = ("match", "review", "mismatch")


@dataclass(frozen=True, eq=False)
class Embedding:
    """A face vector tagged with the model that made it."""

    vector: np.ndarray
    model_name: str
    model_version: str

    @property
    def model_key(self) -> str:
        return f"{self.model_name}/{self.model_version}"

    def to_bytes(self) -> bytes:
        """Return the vector as little-endian float32 bytes for storage."""
        return np.asarray(self.vector, dtype="<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, model_name: str, model_version: str) -> Embedding:
        """Rebuild an embedding from stored float32 bytes."""
        return cls(np.frombuffer(data, dtype="<f4").astype(np.float32), model_name, model_version)


@dataclass(frozen=True, eq=False)
class Template:
    """An enrolled embedding and the kind of photo it came from (which picks the 1:1 threshold)."""

    embedding: Embedding
    kind: str = "upload"
    template_id: int | None = None

    @classmethod
    def from_stored(
        cls,
        vector: bytes | np.ndarray,
        model_name: str,
        model_version: str,
        source: str,
        template_id: int | None = None,
    ) -> Template:
        """Build a template from a stored row (vector bytes, model name and version, photo source)."""
        if isinstance(vector, (bytes, bytearray, memoryview)):
            embedding = Embedding.from_bytes(bytes(vector), model_name, model_version)
        else:
            embedding = Embedding(np.asarray(vector, dtype=np.float32), model_name, model_version)
        return cls(embedding, SOURCE_KINDS.get(source, source), template_id)


@dataclass(frozen=True, eq=False)
class FaceSample:
    """One analysed face: its embedding, where it is, and its quality figures."""

    embedding: Embedding
    kind: str
    source: str
    box: FaceBox
    quality: QualityFigures
    image_width: int
    image_height: int
    landmarks: Landmarks | None = field(default=None, repr=False)
    # Embeddings of the engine's extra models, made from the same detection and landmarks, by model key.
    extra_embeddings: dict[str, Embedding] = field(default_factory=dict, repr=False)
    # A live face embedded by the model the decision asks first only (FaceEngine.embed_lead): returns it
    # embedded by every model, for a decision that model leaves open (fusion.verify_fused).
    embed_rest: Callable[[], FaceSample] | None = field(default=None, repr=False, compare=False)

    @property
    def vector(self) -> np.ndarray:
        return self.embedding.vector

    @property
    def embeddings(self) -> dict[str, Embedding]:
        """Return every embedding this face has by model key, the primary model's first (if it was embedded)."""
        primary = {self.embedding.model_key: self.embedding} if self.embedding.vector.size else {}
        return {**primary, **self.extra_embeddings}

    def embedding_for(self, model_key: str) -> Embedding:
        """Return this face's embedding by one model ("name/version"); ModelMismatchError if it has none."""
        try:
            return self.embeddings[model_key]
        except KeyError:
            raise ModelMismatchError(model_key, f"sample embedded with {sorted(self.embeddings)}") from None

    def templates(self, template_id: int | None = None) -> list[Template]:
        """Return one template per model (store each with its own model name and version)."""
        return [Template(e, self.kind, template_id) for e in self.embeddings.values()]

    @property
    def model_name(self) -> str:
        return self.embedding.model_name

    @property
    def model_version(self) -> str:
        return self.embedding.model_version

    def template(self, template_id: int | None = None) -> Template:
        """Return this sample as an enrolled template."""
        return Template(self.embedding, self.kind, template_id)

    def quality_dict(self) -> dict[str, Any]:
        """Return the quality figures with the image size, JSON-ready."""
        return {
            **self.quality.to_dict(),
            "image_width": self.image_width,
            "image_height": self.image_height,
            "box": self.box.to_list(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "kind": self.kind,
            "source": self.source,
            "quality": self.quality_dict(),
            "embedding": [round(float(v), 6) for v in self.vector],
        }


@dataclass(frozen=True)
class Decided:
    """A distance and the decision taken on it: what one model's and a fused comparison share."""

    distance: float
    decision: str
    match: bool
    threshold: float
    review_low: float
    review_high: float
    template_kind: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "distance": round(self.distance, 6),
            "match": self.match,
            "decision": self.decision,
            "threshold": self.threshold,
            "review_band": [round(self.review_low, 6), round(self.review_high, 6)],
            "template_kind": self.template_kind,
        }


@dataclass(frozen=True)
class Verification(Decided):
    """The outcome of one 1:1 comparison by one model."""

    model_name: str
    model_version: str

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "model_name": self.model_name, "model_version": self.model_version}
