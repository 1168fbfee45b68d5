"""Classification: the model returns ``(n, K)`` class scores; targets are class ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from robustlab.errors import DataError
from robustlab.tasks.base import TASKS, Task

if TYPE_CHECKING:
    from robustlab.models.base import Model


@TASKS.register("classification")
class Classification(Task):
    """Predict one of ``K`` classes; an example breaks when it is misclassified."""

    name: ClassVar[str] = "classification"
    output: ClassVar[str] = "(n, K) class scores or probabilities (or (n,) class indices)"
    target: ClassVar[str] = "one integer class index in 0..K-1 per example"
    fields: ClassVar[dict[str, str]] = {
        "target": "int",
        "prediction": "int",
        "correct": "bool",
        "confidence": "float",
        "loss": "float",
        "brier": "float",
        "reference": "int",
    }
    score_field: ClassVar[str] = "correct"
    metrics: ClassVar[tuple[str, ...]] = ("accuracy", "nll", "brier", "mean_confidence")
    criterion: ClassVar[str] = "misclassified"
    outputs: ClassVar[tuple[str, ...]] = ("probabilities", "logits", "labels")

    def check_targets(self, targets: Any, where: str) -> np.ndarray:
        t = np.asarray(targets.cpu() if torch.is_tensor(targets) else targets)
        if t.ndim != 1:
            raise DataError(
                f"{where}: targets must be one integer label per example, shape (N,); "
                f"got shape {t.shape}. Pass class indices, not one-hot vectors."
            )
        if len(t) == 0:
            raise DataError(f"{where} is empty; pass at least one example.")
        if not np.issubdtype(t.dtype, np.integer):
            if np.issubdtype(t.dtype, np.floating) and np.all(np.mod(t, 1) == 0):
                t = t.astype(np.int64)
            else:
                raise DataError(
                    f"{where}: targets must be integer class indices; got dtype {t.dtype}. "
                    f"Encode string labels as 0..K-1 first."
                )
        return t.astype(np.int64)

    def predict(self, model: Model, inputs: Any) -> np.ndarray:
        return model.predict_proba(inputs).numpy()

    def reference_of(self, model: Model, inputs: Any) -> np.ndarray:
        return model.predict_scores(inputs).argmax(1).numpy()

    def record_fields(
        self, outputs: Any, targets: Any, *, reference: Any = None, **options: Any
    ) -> dict[str, np.ndarray]:
        """``outputs`` are class probabilities ``(n, K)``."""
        p = np.asarray(outputs, dtype=np.float64)
        y = np.asarray(targets, dtype=np.int64)
        n = len(y)
        if p.ndim != 2:
            raise DataError(
                f"classification outputs must be class probabilities of shape (n, K); got shape "
                f"{p.shape}."
            )
        self._check_outputs(p, n, "(n, K)")
        rows = np.arange(n)
        pred = p.argmax(axis=1)
        onehot = np.zeros_like(p)
        onehot[rows, y] = 1.0
        return {
            "target": y,
            "prediction": pred,
            "correct": pred == y,
            "confidence": p.max(axis=1),
            "loss": -np.log(np.clip(p[rows, y], 1e-12, None)),
            "brier": ((p - onehot) ** 2).sum(axis=1),
            "reference": np.full(n, np.nan) if reference is None else np.asarray(reference),
        }

    def default_broken(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        return ~np.asarray(fields["correct"], dtype=bool)
