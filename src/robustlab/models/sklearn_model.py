"""Black-box adapter for scikit-learn estimators that expose ``predict_proba``."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import torch

from robustlab.errors import ConfigError, ModelError
from robustlab.models.base import Model

__all__ = ["SklearnModel"]


class SklearnModel(Model):
    """A fitted scikit-learn classifier (or pipeline) queried through ``predict_proba``.

    Image batches ``(N, C, H, W)`` are flattened to ``(N, C*H*W)`` before the call, so a model
    trained on flattened pixels is scanned with the same image probes as a CNN.

    Args:
        estimator: A fitted estimator with ``predict_proba`` and integer ``classes_`` 0..K-1.
        modality: ``tabular`` (default), ``image`` or ``text`` (a text pipeline gets a list of str).
        bounds: Valid input range, or ``None`` if unbounded.
        flatten: Flatten numeric inputs to 2-D before calling the estimator (default).
        batch_size: Inputs per call.
        name: Name in the store and report (the estimator's class name by default).
    """

    kind = "sklearn"

    def __init__(
        self,
        estimator: Any,
        *,
        modality: str = "tabular",
        bounds: tuple[float, float] | None = None,
        flatten: bool = True,
        batch_size: int = 1024,
        name: str | None = None,
    ) -> None:
        if not hasattr(estimator, "predict_proba"):
            raise ConfigError(
                f"{type(estimator).__name__} has no predict_proba(); wrap its decision_function "
                f"with FunctionModel(fn, output='logits') instead."
            )
        classes = getattr(estimator, "classes_", None)
        if classes is None:
            raise ModelError(
                f"{type(estimator).__name__} is not fitted (no classes_); call fit() before scanning."
            )
        classes = np.asarray(classes)
        if not np.issubdtype(classes.dtype, np.integer) or not np.array_equal(
            classes, np.arange(len(classes))
        ):
            raise ModelError(
                f"{type(estimator).__name__}.classes_ is {classes.tolist()[:10]}; RobustLab needs "
                f"integer labels 0..K-1. Encode the labels (e.g. LabelEncoder) before fitting."
            )
        super().__init__(
            name=name or type(estimator).__name__,
            modality=modality,
            num_classes=len(classes),
            bounds=bounds,
            output="probabilities",
            batch_size=batch_size,
            device="cpu",
        )
        self.estimator = estimator
        self.flatten = flatten

    def _forward_batch(self, inputs: Any) -> np.ndarray:
        if self.modality == "text":
            return self.estimator.predict_proba(list(inputs))
        x = np.asarray(inputs.detach().cpu() if torch.is_tensor(inputs) else inputs)
        if self.flatten:
            x = x.reshape(len(x), -1)
        return self.estimator.predict_proba(x)

    def fingerprint(self) -> str:
        try:
            blob = pickle.dumps(self.estimator, protocol=4)
        except Exception:  # unpicklable estimators fall back to their parameters
            blob = repr(self.estimator.get_params()).encode()
        return self._hash(blob, repr(self.bounds), str(self.flatten))

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["estimator"] = repr(self.estimator)[:500]
        return d
