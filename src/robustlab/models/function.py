"""Black-box adapter: any callable mapping a batch of inputs to class scores, labels or values."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from robustlab.errors import ConfigError
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
            returns ``(N,)`` values.
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
    ) -> None:
        task = check_task(task, "FunctionModel")
        output = default_output(task) if output is None else output
        if not callable(fn):
            raise ConfigError(f"FunctionModel needs a callable. Got {type(fn).__name__}.")
        _check_choice("input_format", "FunctionModel", input_format, ("numpy", "torch"))
        if output == "labels" and num_classes is None:
            # one-hot widths would follow each batch's largest label and disagree between batches
            raise ConfigError(
                "The 'num_classes' parameter of FunctionModel is required with output='labels'; "
                "labels alone do not say how many classes there are."
            )
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

    def _forward_batch(self, inputs: Any) -> Any:
        if self.modality in ("text", "ranking"):
            return self.fn(list(inputs))
        t = torch.as_tensor(inputs)
        return self.fn(t if self.input_format == "torch" else t.cpu().numpy())

    def fingerprint(self) -> str:
        try:
            source = inspect.getsource(self.fn)
        except (OSError, TypeError):
            source = getattr(self.fn, "__qualname__", type(self.fn).__qualname__)
        return self._hash(
            source, self.name, self.output, repr(self.bounds), self.version, *self._task_parts()
        )

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["input_format"] = self.input_format
        d["version"] = self.version
        return d
