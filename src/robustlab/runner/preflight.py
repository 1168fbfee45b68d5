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


def expected_channels(model: Model) -> int | None:
    """The input channels of a torch model's first convolution, or ``None`` when unknown."""
    module = getattr(model, "module", None)
    if not isinstance(module, torch.nn.Module):
        return None
    for layer in module.modules():
        if isinstance(layer, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            return int(layer.in_channels)
    return None


def _channel_fix(dataset: Dataset, want: int) -> str:
    from robustlab.data.folder import ImageFolderDataset

    base = getattr(dataset, "base", dataset)
    if isinstance(base, ImageFolderDataset):
        mixed = " (the folder mixes grayscale and RGB images)" if base.mixed_modes else ""
        return (
            f"convert the images on loading{mixed}: CLI --channels {want}, Python "
            f"ImageFolderDataset(root, channels={want}) or load_dataset(root, channels={want})"
        )
    how = "x.mean(axis=1, keepdims=True)" if want == 1 else "x.repeat(3, axis=1)"
    return (
        f"convert the arrays to {want} channel{'s' if want > 1 else ''} (N, {want}, H, W), e.g. "
        f"{how}, or load an image folder with --channels {want}"
    )


def check_channels(model: Model, dataset: Dataset, inputs: Any) -> None:
    """Raise if image inputs have a channel count the model's first convolution does not take."""
    if dataset.modality != "image" or not torch.is_tensor(inputs) or inputs.ndim != 4:
        return
    want = expected_channels(model)
    got = int(inputs.shape[1])
    if want is None or want == got:
        return
    raise DataError(
        f"Dataset {dataset.name!r} has {got}-channel images (shape {tuple(inputs.shape[1:])}) "
        f"but model {model.name!r} takes {want}-channel inputs; {_channel_fix(dataset, want)}."
    )


def _explain_forward_failure(model: Model, dataset: Dataset, inputs: Any, exc: Exception) -> None:
    """After the preflight forward pass failed: raise a DataError naming the fix when the cause is
    the inputs' channel count; otherwise return (the caller re-raises ``exc``)."""
    check_channels(model, dataset, inputs)
    text = str(exc)
    if torch.is_tensor(inputs) and inputs.ndim == 4 and "channels" in text:
        first = text.strip().splitlines()[0]
        raise DataError(
            f"Model {model.name!r} rejected a batch of dataset {dataset.name!r} with shape "
            f"{tuple(inputs.shape)}: {first}. The channel count (axis 1) does not fit the model; "
            f"convert the images (CLI --channels 1|3, ImageFolderDataset(channels=...)) or the "
            f"arrays to the channels the model takes."
        ) from None


def check_epsilons(suite: Suite, model: Model) -> None:
    """Warn when a probe's Linf epsilon exceeds half the model's input range (``8`` for ``8/255``)."""
    import warnings

    from robustlab.validation import epsilon_label

    if model.bounds is None:
        return
    span = float(model.bounds[1]) - float(model.bounds[0])
    for probe in suite.probes:
        eps = getattr(probe, "epsilon", None)
        if getattr(probe, "norm", None) != "linf" or not isinstance(eps, (int, float)):
            continue
        if span > 0 and eps > 0.5 * span:
            warnings.warn(
                f"Probe {probe.key} of suite {suite.name!r} has Linf epsilon "
                f"{epsilon_label(float(eps))}, more than half the input range "
                f"{model.bounds[0]:g}..{model.bounds[1]:g}: did you forget /255 (epsilon: 8/255)?",
                stacklevel=3,
            )


def check_chance(model: Model, dataset: Dataset, sample_size: int = 128) -> None:
    """Warn when the model's accuracy on a sample spread over the dataset is near chance: the
    commonest cause is inputs normalised differently from training (or a wrong class order)."""
    import warnings

    n = len(dataset)
    if n < 20:
        return
    rows = np.unique(np.linspace(0, n - 1, min(sample_size, n)).astype(int))
    batch = dataset.batch(rows)
    scores = model.predict_scores(batch.inputs)
    k = int(scores.shape[1])
    y = torch.as_tensor(np.asarray(batch.targets)).long().flatten()
    if k < 2 or len(y) < 20 or y.max() >= k:
        return
    acc = float((torch.as_tensor(scores).argmax(1).cpu() == y).float().mean())
    if acc <= 1.5 / k:
        mean, std = getattr(model, "mean", None), getattr(model, "std", None)
        norm = (
            "does the model expect normalised inputs? pass --mean/--std (Python: "
            "TorchModel(module, mean=..., std=...))"
            if mean is None and std is None
            else "check the --mean/--std values"
        )
        warnings.warn(
            f"Model {model.name!r} scores {acc:.2f} accuracy on {len(y)} examples of dataset "
            f"{dataset.name!r}, near chance (1/{k} = {1 / k:.2f}): {norm}, the --bounds "
            f"(inputs are scaled to [0, 1] by default), the image mode (--image-mode L|RGB) and "
            f"the class order (--classes).",
            stacklevel=3,
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
        check_epsilons(suite, model)
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
        try:
            model.predict_outputs(sample.inputs)  # raises on wrong shape, NaN, non-numbers
        except Exception as exc:
            _explain_forward_failure(model, dataset, sample.inputs, exc)
            raise  # raises on wrong shape, NaN, non-numbers
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
    try:
        scores = model.predict_scores(sample.inputs)  # raises on wrong shape, NaN, ...
    except Exception as exc:
        _explain_forward_failure(model, dataset, sample.inputs, exc)
        raise
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
    check_chance(model, dataset)
    for probe in suite.probes if suite is not None else ():
        check_inputs = getattr(probe, "check_inputs", None)  # e.g. union: colour on 1 channel
        if check_inputs is not None:
            check_inputs(sample.inputs)
