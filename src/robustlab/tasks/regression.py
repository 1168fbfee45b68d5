"""Regression: the model returns one real value per example; targets are real values."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from robustlab.errors import DataError
from robustlab.tasks.base import TASKS, Task


@TASKS.register("regression")
class Regression(Task):
    """Predict a real value; an example breaks when its prediction moves beyond a tolerance."""

    name: ClassVar[str] = "regression"
    output: ClassVar[str] = "(n,) real-valued predictions"
    target: ClassVar[str] = "one finite real value per example"
    fields: ClassVar[dict[str, str]] = {
        "target": "float",
        "prediction": "float",
        "error": "float",
        "squared_error": "float",
        "reference": "float",
    }
    score_field: ClassVar[str] = "squared_error"
    metrics: ClassVar[tuple[str, ...]] = ("mse", "mae")
    criterion: ClassVar[str] = "score_changed"

    def check_targets(self, targets: Any, where: str) -> np.ndarray:
        t = np.asarray(targets.cpu() if torch.is_tensor(targets) else targets)
        if t.ndim != 1:
            raise DataError(
                f"{where}: regression targets must be one value per example, shape (N,); got "
                f"shape {t.shape}."
            )
        if len(t) == 0:
            raise DataError(f"{where} is empty; pass at least one example.")
        try:
            t = t.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"{where}: regression targets must be numbers; got dtype {t.dtype}."
            ) from None
        bad = np.flatnonzero(~np.isfinite(t))
        if len(bad):
            raise DataError(
                f"{where}: regression target {int(bad[0])} is {t[bad[0]]}; targets must be finite "
                "(drop or impute missing values first)."
            )
        return t
