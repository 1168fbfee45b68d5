"""Turn user objects and ``FILE.py:FACTORY`` specs into Model adapters."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustlab.errors import ConfigError, ModelError
from robustlab.models.base import Model
from robustlab.models.function import FunctionModel
from robustlab.models.sklearn_model import SklearnModel
from robustlab.models.torch_model import TorchModel

__all__ = ["as_model", "load_model", "load_weights"]


def as_model(obj: Any, **kwargs: Any) -> Model:
    """Wrap ``obj`` in the matching adapter: a Model as is, an ``nn.Module`` in TorchModel, an
    estimator with ``predict_proba`` in SklearnModel, any other callable in FunctionModel."""
    if isinstance(obj, Model):
        if kwargs:
            raise ConfigError(
                f"{type(obj).__name__} is already a RobustLab model; set {sorted(kwargs)} when "
                f"constructing it instead."
            )
        return obj
    if isinstance(obj, nn.Module):
        return TorchModel(obj, **kwargs)
    if hasattr(obj, "predict_proba") and hasattr(obj, "fit"):
        return SklearnModel(obj, **kwargs)
    if callable(obj):
        return FunctionModel(obj, **kwargs)
    raise ConfigError(
        f"Cannot use a {type(obj).__name__} as a model; pass a torch.nn.Module, a fitted "
        f"scikit-learn classifier, a callable batch -> scores, or a robustlab Model."
    )


def load_weights(module: nn.Module, path: str | Path) -> None:
    """Load a ``state_dict`` saved with ``torch.save`` into ``module`` (``weights_only=True``)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Weights file {str(p)!r} does not exist; check the --weights path.")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(
            f"Could not read weights from {str(p)!r} with torch.load(weights_only=True): {exc}. "
            f"Save them with torch.save(model.state_dict(), path)."
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(
            f"{str(p)!r} holds a {type(state).__name__}, not a state_dict; save it with "
            f"torch.save(model.state_dict(), path)."
        )
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(
            f"Weights in {str(p)!r} do not fit {type(module).__name__}: {first} "
            f"Check that the factory builds the same architecture the weights were saved from."
        ) from None


def load_callable(spec: str, option: str = "--model") -> Any:
    """The callable named by ``"path/to/file.py:name"`` (a model factory, a slicing function)."""
    path_str, sep, name = spec.rpartition(":")
    if not sep or not path_str or not name:
        raise ConfigError(
            f"{option} must look like FILE.py:{'FACTORY' if option == '--model' else 'FUNCTION'} "
            f"(e.g. {'models.py:build' if option == '--model' else 'slices.py:by_ink'}). "
            f"Got {spec!r}."
        )
    path = Path(path_str)
    if not path.is_file():
        what = "Model file" if option == "--model" else "File"
        raise ConfigError(f"{what} {path_str!r} does not exist; check the {option} path.")
    mod_name = f"robustlab_user_{abs(hash(path.resolve()))}"
    spec_obj = importlib.util.spec_from_file_location(mod_name, path)
    if spec_obj is None or spec_obj.loader is None:
        raise ConfigError(f"Cannot import {path_str!r} as Python; {option} must name a .py file.")
    module = importlib.util.module_from_spec(spec_obj)
    sys.modules[mod_name] = module
    try:
        spec_obj.loader.exec_module(module)
    except Exception as exc:
        raise ModelError(f"Importing {path_str!r} failed: {type(exc).__name__}: {exc}") from exc
    found = getattr(module, name, None)
    if found is None or not callable(found):
        available = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise ConfigError(
            f"{path_str!r} has no callable {name!r}. Callables there: "
            f"{', '.join(sorted(available)) or 'none'}."
        )
    return found


def load_model(spec: str, weights: str | Path | None = None, **kwargs: Any) -> Model:
    """Build a model from ``"path/to/file.py:factory"``; the factory takes no arguments and returns
    an ``nn.Module``, a fitted estimator, a callable or a Model. ``weights`` loads a state_dict."""
    factory = load_callable(spec, "--model")
    factory_name = spec.rpartition(":")[2]
    obj = factory()
    if weights is not None:
        target = obj.module if isinstance(obj, TorchModel) else obj
        if not isinstance(target, nn.Module):
            raise ConfigError(
                f"--weights applies to torch models, but {factory_name}() returned a "
                f"{type(obj).__name__}."
            )
        load_weights(target, weights)
    return as_model(obj, **kwargs)
