"""Mean certified L2 radius of a smoothed classifier (0 where it abstains or is wrong)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("mean_certified_radius")
@dataclass(frozen=True)
class MeanCertifiedRadius(Metric):
    """Average certified radius, counting 0 for abstentions and wrong predictions."""

    name = "mean_certified_radius"
    higher_is_better = True
    description = "mean certified L2 radius (0 where abstained or wrong)"
    tasks = ("certified_classification",)
    axis = "certified"

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(np.asarray(records.radius, dtype=np.float64)).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        r = np.nan_to_num(np.asarray(records.radius, dtype=np.float64))
        return mean_estimate(np.where(np.asarray(records.correct, bool), r, 0.0), seed)
