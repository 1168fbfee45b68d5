"""Black-box adapter: any callable mapping a batch of inputs to class scores, labels or values."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from robustlab.errors import ConfigError, ModelError
from robustlab.models.base import Model, _check_choice, check_task, default_output

__all__ = ["FunctionModel"]


class FunctionModel(Model):
    """Wraps ``f(batch) -> scores`` so any predictor (a REST client, a JAX model, an ensemble) can
    be scanned through queries only.

    Args:
        fn: The predictor. For image and tabular data it receives a batch as a NumPy array
            (``input_format='numpy'``, default) or a torch tensor; for text it receives a list of
            strings. It returns an array ``(N, num_classes)`` of logits or probabilities, or
            ``(N,)`` labels with ``output='labels'``; a regression model (``task='regression'``)
            returns ``(N,)`` values. A Hugging Face ``pipeline`` works as it
            is: its list of ``{"label", "score"}`` dicts per input (``top_k=None``, every
            class's score) or one dict per input (the top class; enough for two classes) is
            read into probabilities, in the class order ``labels`` gives.
        num_classes: Number of classes (inferred from the first batch when ``None``; required
            with ``output='labels'``).
        output: ``probabilities`` (the default for classification), ``logits`` or ``labels``;
            ``values`` (the only choice, and the default) for regression.
        modality: ``image`` (default), ``tabular``, ``text`` or ``ranking``.
        bounds: Valid input range, or ``None`` if unbounded.
        input_format: ``numpy`` or ``torch`` for numeric modalities.
        batch_size: Inputs per call.
        name: Name in the store and the report (the function's name by default).
        version: Anything identifying the predictor's behaviour (a checkpoint hash, a model
            version); it is part of the fingerprint that resuming relies on.
        labels: The class names in the model's class order (``config.id2label`` of a Hugging
            Face model, in index order), to read pipeline output; not needed when the labels
            are ``LABEL_0``, ``LABEL_1``, ...
        task: The task the predictor solves (``classification`` by default, ``regression``).
    """

    kind = "function"

    def __init__(
        self,
        fn: Callable[[Any], Any],
        *,
        num_classes: int | None = None,
        output: str | None = None,
        modality: str = "image",
        bounds: tuple[float, float] | None = (0.0, 1.0),
        input_format: str = "numpy",
        batch_size: int = 256,
        name: str | None = None,
        version: str = "",
        task: str = "classification",
        labels: Sequence[str] | None = None,
    ) -> None:
        task = check_task(task, "FunctionModel")
        output = default_output(task) if output is None else output
        if not callable(fn):
            raise ConfigError(f"FunctionModel needs a callable. Got {type(fn).__name__}.")
        _check_choice("FunctionModel", "input_format", input_format, ("numpy", "torch"))
        if output == "labels" and num_classes is None:
            # one-hot widths would follow each batch's largest label and disagree between batches
            raise ConfigError(
                "The 'num_classes' parameter of FunctionModel is required with output='labels'; "
                "labels alone do not say how many classes there are."
            )
        if labels is not None:
            if isinstance(labels, str) or not all(isinstance(v, str) for v in labels):
                raise ConfigError(
                    f"The 'labels' parameter of FunctionModel must be a list of class names in "
                    f"the model's class order. Got {labels!r} instead."
                )
            labels = list(labels)
            if len(set(labels)) != len(labels) or len(labels) < 2:
                raise ConfigError(
                    f"The 'labels' parameter of FunctionModel must name two or more distinct "
                    f"classes. Got {labels!r} instead."
                )
            if num_classes is not None and num_classes != len(labels):
                raise ConfigError(
                    f"FunctionModel got num_classes={num_classes} but {len(labels)} labels; "
                    f"give one name per class."
                )
            num_classes = len(labels)
        super().__init__(
            name=name or str(getattr(fn, "__name__", type(fn).__name__)),
            modality=modality,
            num_classes=num_classes,
            bounds=bounds if modality in ("image", "tabular") else None,
            output=output,
            batch_size=batch_size,
            device="cpu",
            task=task,
        )
        self.fn = fn
        self.input_format = input_format
        self.version = version
        self.labels = labels

    def _forward_batch(self, inputs: Any) -> Any:
        if self.modality in ("text", "ranking"):
            raw = self.fn(list(inputs))
        else:
            t = torch.as_tensor(inputs)
            raw = self.fn(t if self.input_format == "torch" else t.cpu().numpy())
        return self._from_pipeline(raw) if _is_pipeline_output(raw) else raw

    def _from_pipeline(self, raw: list[Any]) -> np.ndarray:
        """Hugging Face pipeline output (``{"label", "score"}`` dicts) as scores per class."""
        where = f"Model {self.name!r}"
        rows = [[row] if isinstance(row, Mapping) else row for row in raw]
        for row in rows:
            if not isinstance(row, list) or not row or not all(_is_entry(e) for e in row):
                raise ModelError(
                    f"{where} returned pipeline output with an entry that is not a "
                    f'{{"label": str, "score": float}} dict ({row!r:.80}); return one such dict '
                    f"per class (top_k=None) or class scores (N, num_classes)."
                )
        index = self._class_index(sorted({e["label"] for row in rows for e in row}))
        width = {len(row) for row in rows}
        k = self.num_classes or (width.pop() if len(width) == 1 and min(width) > 1 else 0)
        if not k:
            raise ModelError(
                f"{where} returned only the top class's pipeline score per input, which does not "
                f"say how many classes there are; pass num_classes (or labels), or call the "
                f"pipeline with top_k=None."
            )
        if max(index.values()) >= k:
            raise ModelError(
                f"{where} returned the pipeline label {max(index, key=index.__getitem__)!r}, "
                f"class {max(index.values())}, but has {k} classes; check num_classes or labels."
            )
        if self.output == "labels":
            if any(len(row) != 1 for row in rows):
                raise ModelError(f"{where} declares output='labels'; return one label per input.")
            return np.array([index[row[0]["label"]] for row in rows], dtype=np.int64)
        out = np.full((len(rows), k), np.nan)
        for i, row in enumerate(rows):
            for e in row:
                out[i, index[e["label"]]] = float(e["score"])
            missing = np.isnan(out[i])
            if missing.sum() == 1 and len(row) == k - 1:
                out[i, missing] = max(0.0, 1.0 - float(np.nansum(out[i])))  # the other class
            elif missing.any():
                raise ModelError(
                    f"{where} returned pipeline scores for {len(row)} of its {k} classes; call "
                    f"the pipeline with top_k=None so that every class gets a score."
                )
        return out

    def _class_index(self, found: list[str]) -> dict[str, int]:
        """Each pipeline label's class index: its place in ``labels``, or N of ``LABEL_N``."""
        if self.labels is not None:
            unknown = [name for name in found if name not in self.labels]
            if unknown:
                raise ModelError(
                    f"Model {self.name!r} returned the pipeline label(s) {unknown}, which are not "
                    f"in labels={self.labels}; pass the model's labels in class order."
                )
            return {name: self.labels.index(name) for name in found}
        numbered = [re.fullmatch(r"LABEL_([0-9]+)", name) for name in found]
        if all(numbered):
            return {name: int(m.group(1)) for name, m in zip(found, numbered) if m}
        raise ModelError(
            f"Model {self.name!r} returned Hugging Face pipeline output with labels {found}; "
            f"pass FunctionModel(..., labels=[...]) with the class names in the model's class "
            f"order (its config.id2label by index) so each score lands on the right class."
        )

    def fingerprint(self) -> str:
        try:
            source = inspect.getsource(self.fn)
        except (OSError, TypeError):
            source = getattr(self.fn, "__qualname__", type(self.fn).__qualname__)
        labels = () if self.labels is None else (repr(self.labels),)
        # The state the function reads (a bound estimator, closure cells, module globals it
        # names), so that a refitted model behind the same source never resumes an old run. A
        # given ``version`` is the user's word for the behaviour and replaces the state.
        state = () if self.version else _state_digests(self.fn)
        return self._hash(
            source,
            self.name,
            self.output,
            repr(self.bounds),
            self.version,
            *self._task_parts(),
            *labels,
            *state,
        )

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["input_format"] = self.input_format
        d["version"] = self.version
        if self.labels is not None:
            d["labels"] = self.labels
        return d


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and isinstance(entry.get("label"), str)
        and isinstance(entry.get("score"), (int, float, np.floating))
        and not isinstance(entry.get("score"), bool)
    )


def _is_pipeline_output(raw: Any) -> bool:
    """A list whose first item is a ``{"label", ...}`` dict or a list of them (what a Hugging
    Face classification pipeline returns)."""
    if not isinstance(raw, list) or not raw:
        return False
    first = raw[0]
    if isinstance(first, list) and first:
        first = first[0]
    return isinstance(first, Mapping) and "label" in first


def _state_digests(fn: Any) -> list[str]:
    """Digests of the objects whose state decides what ``fn`` computes: a bound method's
    object, a ``functools.partial``'s arguments, closure cells, the non-module globals its code
    names, and a callable object itself. Plain functions of their inputs give no digest (their
    fingerprint is the source alone). An object whose state cannot be read gives a digest unique
    to this process, so a run is never resumed on a guess (pass ``version=`` to resume it)."""
    import functools
    import types

    objects: list[Any] = []
    target = fn
    while isinstance(target, functools.partial):
        objects += [target.args, target.keywords]
        target = target.func
    if inspect.ismethod(target):
        objects.append(target.__self__)
        target = target.__func__
    if isinstance(target, types.FunctionType):
        for cell in target.__closure__ or ():
            try:
                objects.append(cell.cell_contents)
            except ValueError:  # an empty cell
                continue
        names = target.__code__.co_names
        for name in names:
            value = target.__globals__.get(name)
            if value is not None and not isinstance(
                value, (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType)
            ):
                objects.append(value)
    elif not isinstance(target, types.BuiltinFunctionType):
        objects.append(target)  # a callable object: its attributes are its state
    return [_digest(o) for o in objects if not _stateless(o)]


def _stateless(obj: Any) -> bool:
    import types

    return (
        isinstance(obj, (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType))
        or obj is None
        or (isinstance(obj, (tuple, dict)) and not obj)
    )


def _digest(obj: Any) -> str:
    import hashlib
    import pickle
    import uuid

    import torch

    h = hashlib.sha256()
    if isinstance(obj, torch.nn.Module):
        for key, tensor in obj.state_dict().items():
            h.update(key.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()
    if isinstance(obj, np.ndarray):
        h.update(obj.tobytes())
        return h.hexdigest()
    try:
        h.update(pickle.dumps(obj, protocol=4))
    except Exception:  # unreadable state: never equal to another process's
        return f"unknown-state-{uuid.uuid4().hex}"
    return h.hexdigest()
