"""Certified (verified) accuracy: share of examples proven correct within the probe's budget."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records

#: L2 radii of the certified-accuracy-vs-radius curve kept in the details.
CURVE_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)


@METRICS.register("certified_accuracy")
@dataclass(frozen=True)
class CertifiedAccuracy(Metric):
    """Share of examples certified (randomized smoothing) or verified (bound propagation)
    correct within the probe's ``epsilon``: a lower bound on robust accuracy. With certified
    radii, the details hold the certified accuracy at each radius of :data:`CURVE_RADII`.

    References:
        Cohen, Rosenfeld & Kolter, Certified Adversarial Robustness via Randomized Smoothing,
        ICML 2019.
    """

    name = "certified_accuracy"
    higher_is_better = True
    description = "fraction of examples proven correct within the budget"
    tasks = ("certified_classification",)
    axis = "certified"

    def _compute(self, records: Records, seed: int) -> Estimate:
        n = len(records)
        k = int(np.asarray(records.verified, dtype=bool).sum())
        low, high = clopper_pearson(k, n)
        radius = np.asarray(records.radius, dtype=np.float64)
        details = None
        if np.isfinite(radius).any():
            ok = np.asarray(records.correct, dtype=bool) & np.isfinite(radius)
            details = {
                "curve": [[r, float((ok & (radius >= r)).mean())] for r in CURVE_RADII],
            }
        return Estimate(k / n, low, high, n, "clopper-pearson", details=details)
