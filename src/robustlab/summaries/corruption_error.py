"""Un-normalised mean corruption error: what mCE reports when no baseline model is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from robustlab.summaries.base import SUMMARIES, ProbeErrors, Summary
from robustlab.summaries.mce import by_corruption


@SUMMARIES.register("mean_corruption_error")
@dataclass(frozen=True)
class MeanCorruptionError(Summary):
    """Error averaged over corruptions, each corruption's error summed over its severities first.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019 (the un-normalised variant of mCE).
    """

    name = "mean_corruption_error"
    higher_is_better = False
    description = "mean over corruptions of the error averaged over severities (no baseline)"
    axis = "corruptions"

    def statistic(
        self,
        rates: Mapping[str, np.ndarray],
        probes: list[ProbeErrors],
        baseline: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        return np.mean(
            [
                np.mean([rates[p.key] for p in group], axis=0)
                for group in by_corruption(probes).values()
            ],
            axis=0,
        )
