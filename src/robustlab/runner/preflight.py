"""Checks run before any work: model vs data (task, modality, classes, bounds, outputs) and the
suite's metrics vs the model's task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from robustlab.data.arrays import ArrayDataset
from robustlab.data.base import Dataset
from robustlab.errors import ConfigError, DataError
from robustlab.models.base import Model

if TYPE_CHECKING:
    from robustlab.suites import Suite

__all__ = ["check_bounds", "check_metric_tasks", "check_task", "preflight"]

_TOLERANCE = 1e-4


def check_bounds(inputs: Any, model: Model, where: str) -> None:
    """Raise if numeric inputs fall outside the model's declared bounds."""
    if model.bounds is None or not torch.is_tensor(inputs) or inputs.numel() == 0:
        return
    low, high = model.bounds
    if inputs.is_floating_point():
        bad = ~torch.isfinite(inputs.flatten(1) if inputs.ndim > 1 else inputs)
        rows = bad.any(dim=1) if bad.ndim > 1 else bad
        if bool(rows.any()):  # NaN compares false with everything, so min/max cannot catch it
            first = int(rows.nonzero()[0, 0])
            raise DataError(
                f"{where}: {int(rows.sum())} of {len(rows)} inputs contain NaN or infinite values "
                f"(the first at position {first}); model {model.name!r} declares bounds "
                f"({low:g}, {high:g}): replace or drop those inputs."
            )
    lo, hi = float(inputs.min()), float(inputs.max())
    if lo < low - _TOLERANCE or hi > high + _TOLERANCE:
        hint = " (divide by 255)" if hi > 1.5 and high <= 1.0 else ""
        raise DataError(
            f"{where}: inputs range {lo:.4g}..{hi:.4g} but model {model.name!r} declares bounds "
            f"({low:g}, {high:g}); scale the inputs into the bounds{hint} or declare the model's "
            f"real bounds (bounds=(low, high))."
        )


def check_task(model: Model, dataset: Dataset) -> None:
    """Raise if the model's task is not the task of the dataset's targets."""
    if model.task == dataset.task:
        return
    from robustlab.tasks import get_task

    raise ConfigError(
        f"Model {model.name!r} is a {model.task} model but dataset {dataset.name!r} holds "
        f"{dataset.task} targets ({get_task(dataset.task).target}); wrap the model with "
        f"task={dataset.task!r}, or load data of the model's task with task={model.task!r} "
        f"(targets: {get_task(model.task).target})."
    )


def check_metric_tasks(suite: Suite, model: Model) -> None:
    """Raise if the suite names a metric that does not apply to the model's task."""
    from robustlab.metrics import METRICS
    from robustlab.tasks import get_task

    for name in suite.metrics or ():
        cls = METRICS.get(name)
        if model.task not in cls.tasks:
            fits = [m for m, c in METRICS.items() if model.task in c.tasks]
            raise ConfigError(
                f"Suite {suite.name!r} names metric {name!r}, which applies to "
                f"{'/'.join(cls.tasks)} models, but model {model.name!r} is a {model.task} "
                f"model; remove {name!r} from the suite's metrics, or use metrics of the "
                f"{model.task} task ({', '.join(fits) or ', '.join(get_task(model.task).metrics)})."
            )


def preflight(
    model: Model, dataset: Dataset, sample_size: int = 64, *, suite: Suite | None = None
) -> None:
    """Fail fast, before any unit runs, on every mismatch detectable up front."""
    if len(dataset) == 0:
        raise DataError(f"Dataset {dataset.name!r} is empty; pass at least one example.")
    check_task(model, dataset)
    if suite is not None:
        check_metric_tasks(suite, model)
    if model.modality != dataset.modality:
        raise ConfigError(
            f"Model {model.name!r} is declared for {model.modality} inputs but dataset "
            f"{dataset.name!r} holds {dataset.modality} inputs; pass modality="
            f"{dataset.modality!r} to the model adapter or use matching data."
        )
    if model.task != "classification":
        where = f"Dataset {dataset.name!r}"
        if isinstance(dataset, ArrayDataset):
            check_bounds(dataset.inputs, model, where)
        sample = dataset.batch(np.arange(min(sample_size, len(dataset))))
        check_bounds(sample.inputs, model, where)
        model.predict_outputs(sample.inputs)  # raises on wrong shape, NaN, non-numbers
        return
    if int(dataset.targets.min()) < 0:
        raise DataError(
            f"Dataset {dataset.name!r} has negative labels; labels must be class indices 0..K-1."
        )
    where = f"Dataset {dataset.name!r}"
    if isinstance(dataset, ArrayDataset):
        check_bounds(dataset.inputs, model, where)
    sample = dataset.batch(np.arange(min(sample_size, len(dataset))))
    check_bounds(sample.inputs, model, where)
    scores = model.predict_scores(sample.inputs)  # raises on wrong shape, NaN, non-probabilities
    if model.num_classes is None:
        model.num_classes = int(scores.shape[1])
    top = int(dataset.targets.max())
    if top >= model.num_classes:
        raise DataError(
            f"{where} has labels up to {top} but model {model.name!r} has {model.num_classes} "
            f"classes (0..{model.num_classes - 1}); fix the labels or the model's num_classes."
        )
    if dataset.class_names is not None and len(dataset.class_names) != model.num_classes:
        raise DataError(
            f"{where} names {len(dataset.class_names)} classes but model {model.name!r} outputs "
            f"{model.num_classes}; they must match."
        )
