"""Mean negative log-likelihood of the true class, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("nll")
@dataclass(frozen=True)
class NegativeLogLikelihood(Metric):
    """Mean cross-entropy of the true class (probabilities clipped at 1e-12)."""

    name = "nll"
    higher_is_better = False
    description = "mean negative log-likelihood of the true class"
    axis = None

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.loss, seed)
