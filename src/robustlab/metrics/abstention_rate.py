"""Abstention rate of a smoothed classifier, with an exact (Clopper-Pearson) interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("abstention_rate")
@dataclass(frozen=True)
class AbstentionRate(Metric):
    """Share of examples on which the smoothed classifier abstains (no class wins clearly)."""

    name = "abstention_rate"
    higher_is_better = False
    description = "fraction of examples the smoothed classifier abstains on"
    tasks = ("certified_classification",)
    axis = "certified"

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(np.asarray(records.radius, dtype=np.float64)).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        n = len(records)
        k = int(np.asarray(records.abstained, dtype=bool).sum())
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson")
