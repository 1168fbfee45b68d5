"""Attack success rate of a query-counted attack, with an exact (Clopper-Pearson) interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


def attack_outcomes(records: Records) -> tuple[np.ndarray, np.ndarray]:
    """``(attacked, broken)`` masks of an attack probe's records.

    An attack records a perturbation only where it broke an example, so an example is broken when
    it is now misclassified and has a perturbation, and was attacked (classified correctly before
    the attack) when it is broken or still correct; examples misclassified already are neither.
    """
    broken = ~records.correct & np.isfinite(records.perturbation)
    return records.correct | broken, broken


def counted(records: Records) -> bool:
    """Whether the records come from an attack that counted its queries."""
    return bool(np.isfinite(records.queries).any())


@METRICS.register("attack_success_rate")
@dataclass(frozen=True)
class AttackSuccessRate(Metric):
    """Share of the examples classified correctly before the attack that the attack broke."""

    name = "attack_success_rate"
    higher_is_better = False
    description = "successful attacks / examples classified correctly before the attack"
    axis = "adversarial"

    def applies(self, records: Records) -> bool:
        return counted(records) and bool(attack_outcomes(records)[0].any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        attacked, broken = attack_outcomes(records)
        n, k = int(attacked.sum()), int(broken.sum())
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson")
