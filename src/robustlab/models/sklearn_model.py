"""Black-box adapter for scikit-learn classifiers (``predict_proba``) and regressors (``predict``)."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import torch

from robustlab.errors import ConfigError, ModelError
from robustlab.models.base import Model, check_task

__all__ = ["SklearnModel"]


class SklearnModel(Model):
    """A fitted scikit-learn classifier or regressor (or pipeline).

    A classifier is queried through ``predict_proba``; a regressor (``task='regression'``, the
    default for estimators scikit-learn marks as regressors) through ``predict``.

    Image batches ``(N, C, H, W)`` are flattened to ``(N, C*H*W)`` before the call, so a model
    trained on flattened pixels is scanned with the same image probes as a CNN.

    Args:
        estimator: A fitted classifier with ``predict_proba`` and integer ``classes_`` 0..K-1, or
            a fitted regressor with ``predict``.
        modality: ``tabular`` (default), ``image`` or ``text`` (a text pipeline gets a list of str).
        bounds: Valid input range, or ``None`` if unbounded.
        flatten: Flatten numeric inputs to 2-D before calling the estimator (default).
        batch_size: Inputs per call.
        name: Name in the store and report (the estimator's class name by default).
        task: ``classification`` or ``regression``; by default ``regression`` for estimators
            scikit-learn marks as regressors and ``classification`` otherwise.
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
        task: str | None = None,
    ) -> None:
        task = check_task(_estimator_task(estimator) if task is None else task, "SklearnModel")
        if task == "regression":
            self._init_regressor(estimator, modality, bounds, flatten, batch_size, name)
            return
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

    def _init_regressor(
        self,
        estimator: Any,
        modality: str,
        bounds: tuple[float, float] | None,
        flatten: bool,
        batch_size: int,
        name: str | None,
    ) -> None:
        if not hasattr(estimator, "predict"):
            raise ConfigError(
                f"{type(estimator).__name__} has no predict(); a regressor needs one. Wrap the "
                "predictor with FunctionModel(fn, task='regression') instead."
            )
        if hasattr(estimator, "classes_"):
            raise ConfigError(
                f"{type(estimator).__name__} is a classifier (it has classes_); wrap it with "
                "task='classification', or pass a fitted regressor for task='regression'."
            )
        super().__init__(
            name=name or type(estimator).__name__,
            modality=modality,
            num_classes=None,
            bounds=bounds,
            output="values",
            batch_size=batch_size,
            device="cpu",
            task="regression",
        )
        self.estimator = estimator
        self.flatten = flatten

    def _forward_batch(self, inputs: Any) -> np.ndarray:
        call = self.estimator.predict if self.task == "regression" else self.estimator.predict_proba
        if self.modality == "text":
            return call(list(inputs))
        x = np.asarray(inputs.detach().cpu() if torch.is_tensor(inputs) else inputs)
        if self.flatten:
            x = x.reshape(len(x), -1)
        return call(x)

    def fingerprint(self) -> str:
        try:
            blob = pickle.dumps(self.estimator, protocol=4)
        except Exception:  # unpicklable estimators fall back to their parameters
            blob = repr(self.estimator.get_params()).encode()
        return self._hash(blob, repr(self.bounds), str(self.flatten), *self._task_parts())

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["estimator"] = repr(self.estimator)[:500]
        return d


def _estimator_task(estimator: Any) -> str:
    """``regression`` for an estimator scikit-learn marks as a regressor, else
    ``classification``."""
    try:
        from sklearn.base import is_regressor
    except ImportError:  # pragma: no cover - an estimator without scikit-learn installed
        return "classification"
    try:
        return "regression" if is_regressor(estimator) else "classification"
    except Exception:  # objects that only look like estimators
        return "classification"
