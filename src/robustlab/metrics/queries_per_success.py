"""Mean model queries per successful attack, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.attack_success_rate import attack_outcomes, counted
from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("queries_per_success")
@dataclass(frozen=True)
class QueriesPerSuccess(Metric):
    """Mean number of model queries a black-box attack spent on the examples it broke."""

    name = "queries_per_success"
    higher_is_better = True
    description = "mean model queries spent per successful attack"
    axis = "adversarial"

    def _broken(self, records: Records) -> np.ndarray:
        return attack_outcomes(records)[1] & np.isfinite(records.queries)

    def applies(self, records: Records) -> bool:
        return counted(records) and bool(self._broken(records).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.queries[self._broken(records)], seed)
