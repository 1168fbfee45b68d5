"""Median perturbation size, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.base import METRICS, Estimate, Metric, bootstrap_ci
from robustlab.records import Records


@METRICS.register("median_perturbation")
@dataclass(frozen=True)
class MedianPerturbation(Metric):
    """Median size of the perturbations recorded (the probe's norm): of every corrupted input for
    a corruption, of every successful adversarial example for an attack."""

    name = "median_perturbation"
    higher_is_better = False
    description = "median size of the recorded perturbations (successful ones for attacks)"
    axis = "adversarial"

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(records.perturbation).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        finite = np.isfinite(records.perturbation)
        values = records.perturbation[finite]
        low, high = bootstrap_ci(values, np.median, seed=seed, resamples=500, method="percentile")
        targets = records.target[finite]
        per_class = {
            str(int(c)): float(np.median(values[targets == c])) for c in np.unique(targets)
        }
        return Estimate(
            float(np.median(values)),
            low,
            high,
            len(values),
            "bootstrap",
            details={"per_class": per_class},
        )
