"""Mean fraction of words an attack changed in the texts it broke, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics.attack_success_rate import attack_outcomes, counted
from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("words_perturbed")
@dataclass(frozen=True)
class WordsPerturbed(Metric):
    """Mean fraction of the words a text attack changed, over the examples it broke."""

    name = "words_perturbed"
    higher_is_better = True
    description = "mean fraction of words changed per successful text attack"
    axis = "text attacks"

    def applies(self, records: Records) -> bool:
        return counted(records) and bool(attack_outcomes(records)[1].any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.perturbation[attack_outcomes(records)[1]], seed)
