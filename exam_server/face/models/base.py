"""The interface every face embedding model implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..detection import DetectedFace


class EmbeddingModel(ABC):
    """Turn an aligned face into a fixed-length vector compared by distance."""

    name: str = ""
    version: str = ""
    dim: int = 0
    # "euclidean" on raw vectors, or "cosine" (1 - cosine similarity).
    metric: str = "euclidean"

    @property
    def key(self) -> str:
        """Return "name/version", the identity a stored vector must match."""
        return f"{self.name}/{self.version}"

    @abstractmethod
    def embed(self, rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """Return the float32 embedding of one face in an RGB uint8 image."""

    def quick_embed(self, rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """Return the embedding at its cheapest (one pass, no test-time augmentation) on the same scale as embed."""
        return self.embed(rgb_image, face)

    def embed_from(self, rgb_image: np.ndarray, face: DetectedFace, quick: np.ndarray | None) -> np.ndarray:
        """Return embed()'s vector, reusing this face's quick_embed when given (where the model can)."""
        return self.embed(rgb_image, face)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Return the model's distance between two of its vectors."""
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if self.metric == "cosine":
            # Half the squared distance between the unit vectors is 1 - cosine, but it cannot go below 0
            # and is exactly 0 for identical vectors, where 1 - a.b / (|a| |b|) rounds to about +-2e-16.
            return float(0.5 * np.sum((a / np.linalg.norm(a) - b / np.linalg.norm(b)) ** 2))
        return float(np.linalg.norm(a - b))
