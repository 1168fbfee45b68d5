"""Signed over-confidence (mean confidence minus accuracy), with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("overconfidence")
@dataclass(frozen=True)
class Overconfidence(Metric):
    """Mean confidence of the predicted class minus accuracy, signed.

    Positive: the model claims more than it achieves (over-confident, typical of modern networks
    and of models under shift or attack); negative: under-confident; 0: calibrated on average
    (which ECE refines bin by bin). ``higher_is_better`` is False because over-confidence is the
    usual failure, but a large negative value is a miscalibration too: read the sign, not only
    the ranking. Defined for any non-empty records; one example gives
    ``confidence - correct``.

    The interval is a percentile bootstrap of the mean of ``confidence - correct``.

    References:
        Guo et al., On Calibration of Modern Neural Networks, ICML 2017.
    """

    name = "overconfidence"
    higher_is_better = False
    description = "mean confidence minus accuracy (positive = over-confident)"
    axis = "calibration"

    def _compute(self, records: Records, seed: int) -> Estimate:
        # Sorted, so that the bootstrap and the float sums do not depend on the record order.
        gap = np.sort(records.confidence - records.correct.astype(np.float64))
        est = mean_estimate(gap, seed)
        return Estimate(
            est.value,
            min(est.ci_low, est.value),
            max(est.ci_high, est.value),
            est.n,
            est.method,
            est.level,
            details={
                "mean_confidence": float(np.mean(np.sort(records.confidence))),
                "accuracy": float(np.mean(records.correct)),
            },
        )
