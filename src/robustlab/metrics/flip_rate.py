"""Mean flip rate along perturbation sequences, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("flip_rate")
@dataclass(frozen=True)
class FlipRate(Metric):
    """Mean over examples of the share of sequence frames whose prediction flips.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019 (flip probability).
    """

    name = "flip_rate"
    higher_is_better = False
    description = "mean share of perturbation-sequence frames whose prediction flips"
    axis = "stability"

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(records.value).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.value[np.isfinite(records.value)], seed)
