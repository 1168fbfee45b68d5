"""Relative mCE: corruption-induced degradation compared with the baseline's degradation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from robustlab.summaries.base import SUMMARIES, ProbeErrors, Summary, UndefinedSummary, of_axis
from robustlab.summaries.mce import by_corruption, scoped


@SUMMARIES.register("relative_mce")
@dataclass(frozen=True)
class RelativeMCE(Summary):
    """``sum_s (E(s, c) - E_clean) / sum_s (E_base(s, c) - E_base_clean)``, averaged over ``c``.

    ``c`` ranges over ImageNet-C's 15 corruptions; the others are ``relative_mce_extra``.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019.
    """

    name = "relative_mce"
    higher_is_better = False
    description = (
        "degradation from clean under ImageNet-C's 15 corruptions relative to the baseline's"
    )
    axis = "corruptions"
    needs_baseline = True
    scope: ClassVar[str] = "benchmark"

    def probes(self, probes: list[ProbeErrors]) -> list[ProbeErrors]:
        corrupt = scoped(probes, self.axis, self.scope)
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
                raise UndefinedSummary(
                    f"The baseline's error does not change under {corruption!r}, so relative "
                    f"mCE is undefined; choose another baseline model."
                )
            num = np.sum([rates[p.key] - rates[clean] for p in group], axis=0)
            # A resample in which the baseline does not degrade leaves the ratio undefined.
            den = np.where(den > 1e-9, den, np.nan)
            values.append(num / den)
        return np.mean(values, axis=0)


@SUMMARIES.register("relative_mce_extra")
@dataclass(frozen=True)
class RelativeMCEExtra(RelativeMCE):
    """Relative mCE over the suite's corruptions other than ImageNet-C's 15."""

    name = "relative_mce_extra"
    description = (
        "degradation from clean under the corruptions outside ImageNet-C's 15 relative to the "
        "baseline's"
    )
    scope = "extra"
