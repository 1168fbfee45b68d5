"""Worst-group accuracy over the records' subgroups, with a simultaneous exact interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics._disparity import count_groups, group_cells, min_cell_estimate, worst_of
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("worst_group_accuracy")
@dataclass(frozen=True)
class WorstGroupAccuracy(Metric):
    """Lowest accuracy over the subgroups of the ``group`` column.

    Examples whose group is None belong to no group and are left out (``n`` counts the grouped
    examples). Groups are compared by their text, as the store keeps them. Undefined, so
    ``applies`` is False, unless there are at least two distinct groups: with one group it would
    only repeat that group's accuracy. Every group counts however small; a group of one example
    has accuracy 0 or 1, so read the sizes in ``details`` before trusting the minimum.

    The interval holds the lowest true group accuracy with probability at least 95% whatever the
    groups: Clopper-Pearson intervals at level ``1 - 0.05 / G`` for each of the ``G`` groups
    (Bonferroni) give ``[min of lowers, min of uppers]`` (method
    ``clopper-pearson-bonferroni``). A bootstrap of the minimum is biased low and covered only
    0.864 with three groups two points apart; with small groups the interval is wide, as it
    should be. ``details``: ``groups`` maps every group to its
    ``accuracy`` and size ``n``; ``worst_group`` names the minimum (ties: first in sorted order).

    References:
        Sagawa et al., Distributionally Robust Neural Networks for Group Shifts, ICLR 2020.
    """

    name = "worst_group_accuracy"
    higher_is_better = True
    description = "lowest accuracy over the subgroups in the records' group column"
    axis = "subgroups"

    def applies(self, records: Records) -> bool:
        return count_groups(records) >= 2

    def _compute(self, records: Records, seed: int) -> Estimate:
        names, codes, correct = group_cells(records)
        return min_cell_estimate(
            names,
            codes,
            correct,
            lambda table, acc: {"groups": table, "worst_group": worst_of(table, acc)},
        )
