"""Mean confidence of the predicted class, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("mean_confidence")
@dataclass(frozen=True)
class MeanConfidence(Metric):
    """Mean probability of the predicted class; compare it with accuracy for over-confidence."""

    name = "mean_confidence"
    higher_is_better = True
    description = "mean probability of the predicted class"
    axis = None

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.confidence, seed)
