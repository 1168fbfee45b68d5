"""Robust accuracy against the union of the suite's attacks: the per-example worst case."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from robustlab.analysis.axes import fixed_budget
from robustlab.summaries.base import SUMMARIES, ProbeErrors, Summary, of_axis


@SUMMARIES.register("worst_case_robust_accuracy")
@dataclass(frozen=True)
class WorstCaseRobustAccuracy(Summary):
    """Share of examples that no attack probe of the suite breaks (and that are classified
    correctly when clean): robust accuracy against the union of the threat models.

    References:
        Croce & Hein, Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks, ICML 2020 (per-example worst case); Dai et al., MultiRobustBench.
    """

    name = "worst_case_robust_accuracy"
    higher_is_better = True
    description = "fraction of examples robust to every attack probe (per-example worst case)"
    axis = "adversarial"

    def probes(self, probes: list[ProbeErrors]) -> list[ProbeErrors]:
        # fixed-budget attacks only: a minimal-perturbation probe breaks every example it can
        attacks = [p for p in of_axis(probes, self.axis) if fixed_budget(p.spec)]
        return attacks if len(attacks) >= 2 else []

    def joint(self, probes: list[ProbeErrors]) -> np.ndarray:
        return np.any([p.errors for p in probes], axis=0)

    def statistic(
        self,
        rates: Mapping[str, np.ndarray],
        probes: list[ProbeErrors],
        baseline: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        return 1.0 - rates["joint"]
