"""Mean multi-class Brier score, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("brier")
@dataclass(frozen=True)
class Brier(Metric):
    """Mean multi-class Brier score, ``sum_k (p_k - y_k)^2``.

    References:
        Brier, Verification of forecasts expressed in terms of probability, 1950.
    """

    name = "brier"
    higher_is_better = False
    description = "mean multi-class Brier score"
    axis = None

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.brier, seed)
