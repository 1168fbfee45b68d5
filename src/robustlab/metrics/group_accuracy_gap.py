"""Gap between the best and the worst subgroup accuracy, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics._disparity import (
    best_of,
    count_groups,
    disparity_estimate,
    group_cells,
    worst_of,
)
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


def _gap(acc: np.ndarray) -> np.ndarray:
    return np.nanmax(acc, axis=1) - np.nanmin(acc, axis=1)


@METRICS.register("group_accuracy_gap")
@dataclass(frozen=True)
class GroupAccuracyGap(Metric):
    """Best subgroup accuracy minus worst subgroup accuracy (0 = every group equally served).

    Groups as for ``worst_group_accuracy``: None means no group and is left out, and ``applies``
    is False with fewer than two distinct groups. Every group counts however small, so a group of
    one example (accuracy 0 or 1) can set the gap; read the sizes in ``details``.

    The interval is a percentile bootstrap over grouped examples (a resample that happens to hold
    one group has gap 0), widened to contain the point value. ``details``: ``groups`` maps every
    group to its ``accuracy`` and size ``n``; ``best_group`` and ``worst_group`` name the ends.

    References:
        Sagawa et al., Distributionally Robust Neural Networks for Group Shifts, ICLR 2020.
    """

    name = "group_accuracy_gap"
    higher_is_better = False
    description = "best minus worst accuracy over the subgroups in the records' group column"
    axis = "subgroups"

    def applies(self, records: Records) -> bool:
        return count_groups(records) >= 2

    def _compute(self, records: Records, seed: int) -> Estimate:
        names, codes, correct = group_cells(records)
        return disparity_estimate(
            names,
            codes,
            correct,
            _gap,
            seed,
            lambda table, acc: {
                "groups": table,
                "best_group": best_of(table, acc),
                "worst_group": worst_of(table, acc),
            },
        )
