"""Classification: the model returns ``(n, K)`` class scores; targets are class ids."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from robustlab.errors import DataError
from robustlab.tasks.base import TASKS, Task


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
