"""Turn user objects and ``FILE.py:FACTORY`` specs into Model adapters."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from robustlab.errors import ConfigError, ModelError
from robustlab.models.base import Model
from robustlab.models.function import FunctionModel
from robustlab.models.sklearn_model import SklearnModel
from robustlab.models.torch_model import TorchModel

__all__ = ["ModelFactory", "as_model", "load_model", "load_weights", "model_factory"]

#: Prefix of the module names under which user files (``--model FILE.py:FACTORY``) are imported.
USER_MODULE_PREFIX = "robustlab_user_"


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
    from robustlab.ranking.base import Ranker

    if isinstance(obj, Ranker):
        raise ConfigError(
            f"A {type(obj).__name__} ranks the documents of a collection: return "
            "robustlab.ranking.model.RankerModel(ranker, collection) from the factory (e.g. "
            "with robustlab.ranking.data.bundled_collection()), or pass the Ranker to scan() "
            "with ranking data."
        )
    if isinstance(obj, nn.Module):
        return TorchModel(obj, **kwargs)
    from robustlab.llm.base import LanguageModel

    if isinstance(obj, LanguageModel):  # a language model answers multiple-choice prompts
        from robustlab.llm.adapter import LLMModel

        return LLMModel(obj, **kwargs)
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
        text = str(exc).strip()
        pickled = "weights_only" in text or "Unsupported global" in text
        what = (
            "it holds a whole pickled model (or other Python objects), which is not loaded "
            "for safety (torch.load(weights_only=True))"
            if pickled
            else f"torch.load(weights_only=True) failed: {text.splitlines()[0] if text else exc!r}"
        )
        raise ModelError(
            f"Could not read weights from {str(p)!r}: {what}. Save the state_dict instead, once, "
            f"where the model class is importable: model = torch.load(path, weights_only=False); "
            f"torch.save(model.state_dict(), 'weights.pt'); then pass --weights weights.pt."
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(
            f"{str(p)!r} holds a {type(state).__name__}, not a state_dict; save it with "
            f"torch.save(model.state_dict(), path)."
        )
    keys = [k for k in state if isinstance(k, str)]
    own = module.state_dict()
    if (
        keys
        and all(k.startswith("module.") for k in keys)
        and not any(k.startswith("module.") for k in own)
    ):
        state = {k[len("module.") :]: v for k, v in state.items()}
        warnings.warn(
            f"{str(p)!r} was saved from a DataParallel/DistributedDataParallel wrapper; "
            f"stripped the 'module.' prefix from its {len(keys)} keys.",
            stacklevel=2,
        )
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(
            f"Weights in {str(p)!r} do not fit {type(module).__name__}: {first} "
            f"Check that the factory builds the same architecture the weights were saved from."
        ) from None


def user_module_name(path: str | Path) -> str:
    """The module name a user file is imported under: the same in every process, so objects whose
    classes it defines can be pickled in one process and rebuilt in another."""
    digest = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    return f"{USER_MODULE_PREFIX}{digest}"


def import_user_file(path: str | Path, option: str = "--model") -> ModuleType:
    """Import the Python file ``path`` as a module and return it; a file imported before and
    unchanged since is not executed again (so classes keep their identity and pickle)."""
    p = Path(path)
    mod_name = user_module_name(p)
    stat = p.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    known = sys.modules.get(mod_name)
    if known is not None and getattr(known, "__robustlab_stamp__", None) == stamp:
        return known
    spec_obj = importlib.util.spec_from_file_location(mod_name, p)
    if spec_obj is None or spec_obj.loader is None:
        raise ConfigError(f"Cannot import {str(path)!r} as Python; {option} must name a .py file.")
    module = importlib.util.module_from_spec(spec_obj)
    module.__robustlab_stamp__ = stamp  # type: ignore[attr-defined]
    sys.modules[mod_name] = module
    try:
        spec_obj.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        raise ModelError(f"Importing {str(path)!r} failed: {type(exc).__name__}: {exc}") from exc
    return module


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
    module = import_user_file(path, option=option)
    found = getattr(module, name, None)
    if found is None or not callable(found):
        available = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise ConfigError(
            f"{path_str!r} has no callable {name!r}. Callables there: "
            f"{', '.join(sorted(available)) or 'none'}."
        )
    return found


@dataclass(frozen=True)
class ModelFactory:
    """How :func:`load_model` built a model: another process rebuilds it from the same file and
    weights instead of receiving a pickled copy (see the ``process`` backend)."""

    spec: str
    weights: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    model_args: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Model:
        return load_model(self.spec, self.weights, model_args=self.model_args, **self.kwargs)


_FACTORY_ATTRIBUTE = "_robustlab_factory"


def model_factory(model: Model) -> ModelFactory | None:
    """The factory a model was loaded with by :func:`load_model`, or ``None``."""
    found = getattr(model, _FACTORY_ATTRIBUTE, None)
    return found if isinstance(found, ModelFactory) else None


def parse_model_args(pairs: Any) -> dict[str, Any]:
    """``["depth=3", "name=wide"]`` (``--model-arg``) to keyword arguments; values are read as
    Python literals (numbers, booleans, lists) where they parse, else kept as strings."""
    import ast

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = str(pair).partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(
                f"--model-arg takes KEY=VALUE with KEY a Python identifier (e.g. --model-arg "
                f"width=32). Got {pair!r}."
            )
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


def call_factory(factory: Any, factory_name: str, path_str: str, model_args: dict[str, Any]) -> Any:
    """Call a user's model factory; a signature mismatch or the factory's own exception is
    reported as the factory's, with its message and the fix."""
    import inspect

    where = f"{factory_name}() in {path_str!r}"
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        try:
            sig.bind(**model_args)
        except TypeError as exc:
            needed = [
                n
                for n, prm in sig.parameters.items()
                if prm.default is inspect.Parameter.empty
                and prm.kind in (prm.POSITIONAL_OR_KEYWORD, prm.KEYWORD_ONLY)
                and n not in model_args
            ]
            fix = (
                f"give {', '.join(needed)} a default, or pass "
                + " ".join(f"--model-arg {n}=VALUE" for n in needed)
                + " (Python: load_model(spec, model_args={...}))"
                if needed
                else "check the --model-arg names against the factory's parameters "
                f"({', '.join(sig.parameters) or 'none'})"
            )
            raise ConfigError(
                f"The model factory {where} cannot be called as given ({exc}); a factory must "
                f"be callable without arguments: {fix}."
            ) from None
    try:
        return factory(**model_args)
    except Exception as exc:
        raise ModelError(
            f"The model factory {where} raised {type(exc).__name__}: {exc}. Fix the factory; "
            f"RobustLab calls it with no arguments"
            + (f" except {sorted(model_args)} from --model-arg" if model_args else "")
            + "."
        ) from exc


def load_model(
    spec: str,
    weights: str | Path | None = None,
    *,
    model_args: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Model:
    """Build a model from ``"path/to/file.py:factory"``; the factory takes no arguments and returns
    an ``nn.Module``, a fitted estimator, a callable or a Model. ``weights`` loads a state_dict.

    The model remembers its factory (:func:`model_factory`), so worker processes can rebuild it
    from the file and weights."""
    factory = load_callable(spec, "--model")
    path_str, _, factory_name = spec.rpartition(":")
    obj = call_factory(factory, factory_name, path_str, model_args or {})
    if weights is not None:
        target = obj.module if isinstance(obj, TorchModel) else obj
        if not isinstance(target, nn.Module):
            raise ConfigError(
                f"--weights applies to torch models, but {factory_name}() returned a "
                f"{type(obj).__name__}."
            )
        load_weights(target, weights)
    model = as_model(obj, **kwargs)
    if weights is not None and "name" not in kwargs:
        # runs of one model with different checkpoints read apart: "digitnet@best.pt"
        model.name = f"{model.name}@{Path(weights).name}"
    source = ModelFactory(
        f"{Path(path_str).resolve()}:{factory_name}",
        None if weights is None else str(Path(weights).resolve()),
        dict(kwargs),
        dict(model_args or {}),
    )
    setattr(model, _FACTORY_ATTRIBUTE, source)
    return model
