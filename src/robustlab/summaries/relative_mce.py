"""Relative mCE: corruption-induced degradation compared with the baseline's degradation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from robustlab.errors import ConfigError
from robustlab.summaries.base import SUMMARIES, ProbeErrors, Summary, of_axis
from robustlab.summaries.mce import by_corruption


@SUMMARIES.register("relative_mce")
@dataclass(frozen=True)
class RelativeMCE(Summary):
    """``sum_s (E(s, c) - E_clean) / sum_s (E_base(s, c) - E_base_clean)``, averaged over ``c``.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019.
    """

    name = "relative_mce"
    higher_is_better = False
    description = "degradation from clean relative to the baseline's degradation"
    axis = "corruptions"
    needs_baseline = True

    def probes(self, probes: list[ProbeErrors]) -> list[ProbeErrors]:
        corrupt = of_axis(probes, self.axis)
        clean = of_axis(probes, "clean")
        return [*clean[:1], *corrupt] if corrupt and clean else []

    def statistic(
        self,
        rates: Mapping[str, np.ndarray],
        probes: list[ProbeErrors],
        baseline: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        assert baseline is not None
        clean = of_axis(probes, "clean")[0].key
        corrupt = of_axis(probes, self.axis)
        values = []
        for corruption, group in by_corruption(corrupt).items():
            den = np.sum([baseline[p.key] - baseline[clean] for p in group], axis=0)
            if np.all(den == 0):
                raise ConfigError(
                    f"The baseline's error does not change under {corruption!r}, so relative "
                    f"mCE is undefined; choose another baseline model."
                )
            num = np.sum([rates[p.key] - rates[clean] for p in group], axis=0)
            # A resample in which the baseline does not degrade leaves the ratio undefined.
            den = np.where(den > 1e-9, den, np.nan)
            values.append(num / den)
        return np.mean(values, axis=0)
