"""Regression: the model returns one real value per example; targets are real values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from robustlab.errors import DataError
from robustlab.tasks.base import TASKS, Task

if TYPE_CHECKING:
    from robustlab.models.base import Model


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
    outputs: ClassVar[tuple[str, ...]] = ("values",)

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

    def predict(self, model: Model, inputs: Any) -> np.ndarray:
        return model.predict_values(inputs).numpy()

    def reference_of(self, model: Model, inputs: Any) -> np.ndarray:
        return model.predict_values(inputs).numpy()

    def record_fields(
        self,
        outputs: Any,
        targets: Any,
        *,
        reference: Any = None,
        **options: Any,
    ) -> dict[str, np.ndarray]:
        """``outputs`` are ``(n,)`` (or ``(n, 1)``) predicted values; ``error`` is
        ``prediction - target``."""
        pred = np.asarray(outputs, dtype=np.float64)
        if pred.ndim == 2 and pred.shape[1] == 1:
            pred = pred[:, 0]
        y = np.asarray(targets, dtype=np.float64)
        if pred.ndim != 1:
            raise DataError(
                f"regression outputs must be one value per example, shape (n,); got shape "
                f"{pred.shape}."
            )
        self._check_outputs(pred, len(y), "(n,)")
        error = pred - y
        return {
            "target": y,
            "prediction": pred,
            "error": error,
            "squared_error": error**2,
            "reference": np.full(len(y), np.nan) if reference is None else np.asarray(reference),
        }

    def default_broken(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        # score_changed compares to the unperturbed prediction, which a probe's records alone do
        # not hold: probes that perturb pass broken= from the criterion
        return np.zeros(len(fields["prediction"]), dtype=bool)
