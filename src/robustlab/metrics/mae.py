"""Mean absolute error of a regressor, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("mae")
@dataclass(frozen=True)
class MeanAbsoluteError(Metric):
    """Mean of ``|prediction - target|`` over the examples."""

    name = "mae"
    higher_is_better = False
    description = "mean absolute error of the predictions"
    tasks: ClassVar[tuple[str, ...]] = ("regression",)

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(np.abs(records.error), seed)
