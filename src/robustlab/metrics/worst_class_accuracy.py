"""Lowest per-class accuracy (recall of the worst class), with a simultaneous exact interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics._disparity import class_cells, min_cell_estimate, worst_of
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

    The interval is the simultaneous (Bonferroni) Clopper-Pearson interval of the minimum
    over the classes, as for ``worst_group_accuracy``: it covers the worst class's true accuracy
    with probability at least 95%. ``details``:
    ``classes`` maps every class index to its ``accuracy`` and size ``n``; ``worst_class`` names
    the minimum (ties: the lowest class index).
    """

    name = "worst_class_accuracy"
    higher_is_better = True
    description = "lowest per-class accuracy over the classes present in the targets"
    axis = "subgroups"

    def _compute(self, records: Records, seed: int) -> Estimate:
        names, codes, correct = class_cells(records)
        return min_cell_estimate(
            names,
            codes,
            correct,
            lambda table, acc: {"classes": table, "worst_class": worst_of(table, acc)},
        )
