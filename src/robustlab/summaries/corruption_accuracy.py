"""Mean accuracy over every corruption probe of the suite."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from robustlab.summaries.base import SUMMARIES, ProbeErrors, Summary


@SUMMARIES.register("mean_corruption_accuracy")
@dataclass(frozen=True)
class MeanCorruptionAccuracy(Summary):
    """Accuracy averaged over all (corruption, severity) probes, each weighted equally."""

    name = "mean_corruption_accuracy"
    higher_is_better = True
    description = "mean accuracy over all corruption probes"
    axis = "corruptions"

    def statistic(
        self,
        rates: Mapping[str, np.ndarray],
        probes: list[ProbeErrors],
        baseline: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        return 1.0 - np.mean([rates[p.key] for p in probes], axis=0)
