"""Mean squared error of a regressor, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("mse")
@dataclass(frozen=True)
class MeanSquaredError(Metric):
    """Mean of ``(prediction - target)^2`` over the examples."""

    name = "mse"
    higher_is_better = False
    description = "mean squared error of the predictions"
    tasks: ClassVar[tuple[str, ...]] = ("regression",)

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.squared_error, seed)
