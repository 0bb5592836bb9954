"""Face embedding models, looked up by name."""

from __future__ import annotations

from collections.abc import Callable

from .base import EmbeddingModel
from .dlib_resnet import DlibResNetModel

_FACTORIES: dict[str, Callable[[], EmbeddingModel]] = {DlibResNetModel.name: DlibResNetModel}
_INSTANCES: dict[str, EmbeddingModel] = {}


def register_model(name: str, factory: Callable[[], EmbeddingModel]) -> None:
    """Make a model available under a name."""
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def get_model(name: str) -> EmbeddingModel:
    """Return the (shared) model registered under a name."""
    if name not in _INSTANCES:
        try:
            factory = _FACTORIES[name]
        except KeyError:
            raise KeyError(f"unknown face model {name!r}; known: {sorted(_FACTORIES)}") from None
        _INSTANCES[name] = factory()
    return _INSTANCES[name]


def model_names() -> list[str]:
    """Return the registered model names."""
    return sorted(_FACTORIES)


__all__ = ["EmbeddingModel", "DlibResNetModel", "get_model", "register_model", "model_names"]
