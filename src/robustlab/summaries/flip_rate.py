"""Mean flip rate over the suite's perturbation sequences (ImageNet-P), and mFR vs a baseline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from robustlab.summaries.base import SUMMARIES, ProbeErrors, Summary, UndefinedSummary


@SUMMARIES.register("mean_flip_rate")
@dataclass(frozen=True)
class MeanFlipRate(Summary):
    """Flip probability averaged over the perturbation sequences, without normalisation.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019.
    """

    name = "mean_flip_rate"
    higher_is_better = False
    description = "flip rate averaged over perturbation sequences (no baseline)"
    axis = "stability"
    uses = "values"

    def statistic(
        self,
        rates: Mapping[str, np.ndarray],
        probes: list[ProbeErrors],
        baseline: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        return np.mean([rates[p.key] for p in probes], axis=0)


@SUMMARIES.register("mfr")
@dataclass(frozen=True)
class MFR(Summary):
    """mFR: each sequence's flip probability divided by the baseline's, averaged.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019.
    """

    name = "mfr"
    higher_is_better = False
    description = "mean flip rate relative to the baseline run (1.0 = as stable)"
    axis = "stability"
    needs_baseline = True
    uses = "values"

    def statistic(
        self,
        rates: Mapping[str, np.ndarray],
        probes: list[ProbeErrors],
        baseline: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        assert baseline is not None
        ratios = []
        for p in probes:
            if np.all(baseline[p.key] == 0):
                raise UndefinedSummary(
                    f"The baseline never flips along {p.key}, so mFR is undefined; choose "
                    f"another baseline model or a longer sequence."
                )
            den = np.where(baseline[p.key] > 1e-12, baseline[p.key], np.nan)
            ratios.append(rates[p.key] / den)
        return np.mean(ratios, axis=0)
