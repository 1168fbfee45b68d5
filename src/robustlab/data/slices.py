"""Subgroups of any dataset from a slicing function: a predicate on each input and its metadata.

The result is the same data with a ``group`` metadata column, so every probe of a scan reports
worst-group accuracy, the group gap and MacroStd over the slices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from robustlab.data.base import Dataset
from robustlab.errors import ConfigError, DataError

__all__ = ["GroupedDataset", "slice_by"]

SliceFn = Callable[[Any, dict[str, Any]], Any]


class GroupedDataset(Dataset):
    """``base`` with its ``group`` metadata column replaced by ``groups`` (inputs load from
    ``base`` unchanged)."""

    def __init__(self, base: Dataset, groups: Sequence[Any], *, name: str | None = None) -> None:
        if len(groups) != len(base):
            raise DataError(
                f"Dataset {base.name!r} has {len(base)} examples but {len(groups)} group labels "
                f"were given; pass one per example."
            )
        meta = {k: v for k, v in base.meta.items() if k != "group"}
        meta["group"] = [None if g is None else str(g) for g in groups]
        super().__init__(
            name=name or base.name,
            targets=base.targets,
            ids=base.ids,
            meta=meta,
            class_names=base.class_names,
            task=base.task,
        )
        self.base = base
        self.modality = base.modality

    def load_inputs(self, indices: np.ndarray) -> Any:
        return self.base.load_inputs(indices)

    def _content_hash(self, h: Any) -> None:
        h.update(self.base.fingerprint().encode())

    def describe(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for g in self.meta["group"]:
            if g is not None:
                counts[g] = counts.get(g, 0) + 1
        return {**self.base.describe(), **super().describe(), "groups": counts}


def slice_by(
    dataset: Dataset,
    fn: SliceFn | None = None,
    *,
    predicates: Mapping[str, Callable[[Any, dict[str, Any]], bool]] | None = None,
    other: str | None = "other",
    batch_size: int = 256,
) -> GroupedDataset:
    """Tag every example of ``dataset`` with a subgroup.

    Give either ``fn(input, meta) -> label`` (``None`` leaves the example out of every group), or
    ``predicates``, a mapping of slice name to ``predicate(input, meta) -> bool`` in priority
    order: an example joins the first slice whose predicate holds, else ``other`` (``None``:
    no group). ``input`` is one example as the model sees it (a ``(C, H, W)`` tensor, a feature
    row or a str); ``meta`` is its metadata (id, target and the dataset's columns).

    References:
        Goel et al., Robustness Gym: Unifying the NLP Evaluation Landscape, NAACL 2021 Demos
        (slices as first-class evaluation units).
    """
    if (fn is None) == (predicates is None):
        raise ConfigError("slice_by() takes either fn=... or predicates={...}, exactly one.")
    if predicates is not None:
        if not predicates:
            raise ConfigError("slice_by(predicates=...) needs at least one named predicate.")
        if other is not None and other in predicates:
            raise ConfigError(f"A slice may not be named {other!r}: that names the unmatched ones.")
        for name, p in predicates.items():
            if not callable(p):
                raise ConfigError(
                    f"The predicate of slice {name!r} must be a callable (input, meta) -> bool. "
                    f"Got {type(p).__name__}."
                )
        named = dict(predicates)

        def first_match(x: Any, meta: dict[str, Any]) -> Any:
            return next((name for name, p in named.items() if p(x, meta)), other)

        labeller: SliceFn = first_match

    else:
        if not callable(fn):
            raise ConfigError(
                f"slice_by(fn=...) needs a callable (input, meta) -> label. Got {type(fn).__name__}."
            )
        labeller = fn
    groups: list[Any] = []
    for start in range(0, len(dataset), batch_size):
        idx = np.arange(start, min(start + batch_size, len(dataset)))
        inputs = dataset.load_inputs(idx)
        for pos, i in enumerate(idx):
            meta = {"id": dataset.ids[i], "target": int(dataset.targets[i])}
            meta.update({k: v[i] for k, v in dataset.meta.items()})
            try:
                label = labeller(inputs[pos], meta)
            except Exception as exc:  # a user function: say which example broke it
                raise DataError(
                    f"The slicing function failed on example {dataset.ids[i]!r} of "
                    f"{dataset.name!r}: {type(exc).__name__}: {exc}"
                ) from exc
            groups.append(label)
    if all(g is None for g in groups):
        raise DataError(
            f"The slicing function put no example of {dataset.name!r} into a group (it returned "
            f"None for all {len(groups)}); return a group label for the examples to compare."
        )
    return GroupedDataset(dataset, groups)
