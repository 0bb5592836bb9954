"""Face engine of the exam server: intake, quality, 1:1 verification, liveness and 1:N search.

Models load lazily on first use; importing this package loads none.
"""

from .engine import Embedding, FaceEngine, FaceSample, Template, Verification
from .errors import FaceError, FaceRefusal, ModelMismatchError
from .settings import FaceSettings

__all__ = [
    "Embedding",
    "FaceEngine",
    "FaceSample",
    "Template",
    "Verification",
    "FaceError",
    "FaceRefusal",
    "ModelMismatchError",
    "FaceSettings",
]
