"""Median perturbation size, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.base import METRICS, Estimate, Metric, bootstrap_ci
from robustlab.records import Records


@METRICS.register("median_perturbation")
@dataclass(frozen=True)
class MedianPerturbation(Metric):
    """Median size of the applied perturbation (in the probe's norm) over all examples."""

    name = "median_perturbation"
    higher_is_better = False
    description = "median perturbation size in the probe's norm"

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(records.perturbation).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        values = records.perturbation[np.isfinite(records.perturbation)]
        low, high = bootstrap_ci(values, np.median, seed=seed, resamples=500)
        return Estimate(float(np.median(values)), low, high, len(values), "bootstrap")
