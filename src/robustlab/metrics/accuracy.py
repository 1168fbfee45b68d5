"""Accuracy with an exact (Clopper-Pearson) binomial interval."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import beta

from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for ``k`` successes in ``n`` trials.

    References:
        Clopper & Pearson, The use of confidence or fiducial limits illustrated in the case of the
        binomial, Biometrika 1934.
    """
    alpha = 1 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


@METRICS.register("accuracy")
@dataclass(frozen=True)
class Accuracy(Metric):
    """Share of examples predicted correctly (robust accuracy under an attack)."""

    name = "accuracy"
    higher_is_better = True
    description = "fraction of examples whose prediction equals the label"
    tasks = ("classification", "certified_classification")
    axis = None

    def _compute(self, records: Records, seed: int) -> Estimate:
        n = len(records)
        k = int(records.correct.sum())
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson")
