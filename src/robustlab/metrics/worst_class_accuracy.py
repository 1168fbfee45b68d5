"""Lowest per-class accuracy (recall of the worst class), with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics._disparity import class_cells, disparity_estimate, worst_of
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("worst_class_accuracy")
@dataclass(frozen=True)
class WorstClassAccuracy(Metric):
    """Lowest accuracy over the true classes in ``target`` (the worst class's recall).

    Only classes present among the records count; a class absent from them has no accuracy and
    is not a 0. Every present class counts however small, so a class of one example (accuracy 0
    or 1) can set the value; read the sizes in ``details``. With a single class present the value
    is that class's accuracy.

    The interval is a percentile bootstrap over examples (a class missing from a resample is
    absent from that resample's minimum), widened to contain the point value. ``details``:
    ``classes`` maps every class index to its ``accuracy`` and size ``n``; ``worst_class`` names
    the minimum (ties: the lowest class index).
    """

    name = "worst_class_accuracy"
    higher_is_better = True
    description = "lowest per-class accuracy over the classes present in the targets"
    axis = "subgroups"

    def _compute(self, records: Records, seed: int) -> Estimate:
        names, codes, correct = class_cells(records)
        return disparity_estimate(
            names,
            codes,
            correct,
            lambda acc: np.nanmin(acc, axis=1),
            seed,
            lambda table, acc: {"classes": table, "worst_class": worst_of(table, acc)},
        )
