"""Tables as datasets (pandas DataFrames or NumPy arrays with a :class:`Schema`) and one model
adapter for anything that predicts on a DataFrame: scikit-learn pipelines, gradient-boosted
trees (scikit-learn's, XGBoost, LightGBM), torch MLPs and plain callables."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from robustlab.data.base import Dataset
from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.models.base import Model, check_task
from robustlab.tabular.schema import Schema

__all__ = ["TableDataset", "TableModel", "as_table_model"]


class TableDataset(Dataset):
    """Rows of a table with their targets, encoded by a :class:`Schema` (inferred when not given).

    Args:
        data: A DataFrame (or a 2-D array with ``columns``) of features.
        targets: The targets, or the name of a column of ``data`` holding them.
        schema: The rules rows follow; inferred from ``data`` when None. Data contradicting a
            given schema is refused with its first violating rows.
        columns: Column names for an array.
        group_column: A column whose values become the per-example ``group`` (subgroup
            analyses); a numeric column is binned into ``bins`` quantile bins.
        task: ``classification`` (default) or ``regression``.
    """

    modality = "tabular"

    def __init__(
        self,
        data: Any,
        targets: Any,
        *,
        schema: Schema | None = None,
        columns: Sequence[str] | None = None,
        group_column: str | None = None,
        bins: int = 4,
        ids: Sequence[str] | None = None,
        meta: Mapping[str, Sequence[Any]] | None = None,
        class_names: Sequence[str] | None = None,
        name: str = "table",
        task: str = "classification",
    ) -> None:
        from robustlab.tabular.schema import _frame

        frame = _frame(data, columns)
        if isinstance(targets, str):
            if targets not in frame.columns:
                raise DataError(
                    f"Dataset {name!r} has no target column {targets!r}; its columns: "
                    f"{', '.join(map(str, frame.columns))}."
                )
            y = frame[targets].to_numpy()
            frame = frame.drop(columns=[targets])
        else:
            y = np.asarray(targets)
        self.schema = schema if schema is not None else Schema.infer(frame)
        encoded = self.schema.encode(frame)
        self.schema.validate(encoded, f"dataset {name!r}")
        meta = dict(meta or {})
        if group_column is not None:
            meta["group"] = _groups(frame, group_column, bins, self.schema)
        super().__init__(
            name=name, targets=y, ids=ids, meta=meta, class_names=class_names, task=task
        )
        if len(encoded) != len(self.targets):
            raise DataError(
                f"Dataset {name!r}: {len(encoded)} rows but {len(self.targets)} targets."
            )
        self.rows = torch.as_tensor(encoded, dtype=torch.float64)

    @property
    def frame(self) -> Any:
        return self.schema.decode(self.rows.numpy())

    def load_inputs(self, indices: np.ndarray) -> torch.Tensor:
        return self.rows[torch.as_tensor(indices)]

    def _content_hash(self, h: Any) -> None:
        h.update(repr(self.schema.to_dict()).encode())
        h.update(self.rows.numpy().tobytes())


def _groups(frame: Any, column: str, bins: int, schema: Schema) -> list[str]:
    import pandas as pd

    col = schema.column(column)
    s = frame[column]
    if col.kind == "categorical":
        return [f"{column}={v}" for v in s.tolist()]
    cut = pd.qcut(s, q=bins, duplicates="drop")
    return [f"{column} in {iv}" for iv in cut.astype(str).tolist()]


class TableModel(Model):
    """Any tabular predictor behind one ``predict`` / ``predict_proba`` adapter.

    It receives encoded rows and hands the predictor a DataFrame with the schema's columns and
    original categorical levels (``input_format='frame'``, default) or the encoded array
    (``'array'``). A ``torch.nn.Module`` gets a float32 tensor of encoded rows and returns logits
    (classification) or values.

    Args:
        predictor: A fitted estimator with ``predict_proba`` (classifier) or ``predict``
            (regressor), an ``nn.Module``, or a callable returning probabilities / values.
        schema: The table's schema (the dataset's).
        task: ``classification`` or ``regression``; from the estimator when None.
        accepts_nan: Whether the predictor handles missing cells itself (scikit-learn's
            HistGradientBoosting, XGBoost and LightGBM do); otherwise NaN is refused, naming the
            row and column.
    """

    kind = "table"

    def __init__(
        self,
        predictor: Any,
        schema: Schema,
        *,
        task: str | None = None,
        input_format: str = "frame",
        num_classes: int | None = None,
        accepts_nan: bool | None = None,
        batch_size: int = 4096,
        name: str | None = None,
    ) -> None:
        if input_format not in ("frame", "array"):
            raise ConfigError(f"input_format must be 'frame' or 'array'; got {input_format!r}.")
        self.predictor = predictor
        self.schema = schema
        self.input_format = input_format
        self.is_torch = isinstance(predictor, torch.nn.Module)
        if task is None:
            from robustlab.models.sklearn_model import _estimator_task

            task = "classification" if self.is_torch else _estimator_task(predictor)
        task = check_task(task, "TableModel")
        output = "values" if task == "regression" else "probabilities"
        if self.is_torch and task == "classification":
            output = "logits"
        if task == "classification" and num_classes is None:
            classes = getattr(predictor, "classes_", None)
            if classes is not None:
                num_classes = len(classes)
        if accepts_nan is None:
            accepts_nan = type(predictor).__name__.startswith(
                ("HistGradientBoosting", "XGB", "LGBM")
            )
        self.accepts_nan = accepts_nan
        super().__init__(
            name=name or type(predictor).__name__,
            modality="tabular",
            num_classes=num_classes,
            bounds=None,
            output=output,
            batch_size=batch_size,
            device="cpu",
            task=task,
        )

    def _forward_batch(self, inputs: Any) -> Any:
        x = np.asarray(inputs.detach().cpu() if torch.is_tensor(inputs) else inputs, np.float64)
        if not self.accepts_nan and np.isnan(x).any():
            i, j = (int(v) for v in np.argwhere(np.isnan(x))[0])
            raise ModelError(
                f"Row {i}, column {self.schema.names[j]!r} is missing (NaN) and {self.name} "
                f"cannot take NaN; use an imputer (the missing-value perturbations take "
                f"impute='mean') or pass accepts_nan=True if it handles missing values."
            )
        if self.is_torch:
            with torch.no_grad():
                out = self.predictor(torch.as_tensor(x, dtype=torch.float32))
            return out.squeeze(-1) if self.task == "regression" else out
        arg = self.schema.decode(x) if self.input_format == "frame" else x
        if callable(getattr(self.predictor, "predict_proba", None)) and self.task != "regression":
            return np.asarray(self.predictor.predict_proba(arg))
        if callable(getattr(self.predictor, "predict", None)):
            return np.asarray(self.predictor.predict(arg))
        if callable(self.predictor):
            return np.asarray(self.predictor(arg))
        raise ConfigError(
            f"{type(self.predictor).__name__} has neither predict_proba, predict nor __call__."
        )

    def fingerprint(self) -> str:
        try:
            blob = pickle.dumps(self.predictor, protocol=4)
        except Exception:
            blob = repr(self.predictor).encode()
        h = hashlib.sha256(blob)
        h.update(repr(self.schema.to_dict()).encode())
        return self._hash(h.hexdigest(), self.input_format, *self._task_parts())


def as_table_model(predictor: Any, schema: Schema, **kwargs: Any) -> TableModel:
    """``predictor`` as a :class:`TableModel` (a TableModel is returned as it is)."""
    if isinstance(predictor, TableModel):
        return predictor
    return TableModel(predictor, schema, **kwargs)


Predictor = Callable[[Any], Any]
