"""Mean sentence similarity of successful adversarial texts to their originals (bootstrap CI)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.attack_success_rate import attack_outcomes
from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("adversarial_similarity")
@dataclass(frozen=True)
class AdversarialSimilarity(Metric):
    """Mean MiniLM cosine similarity of each successful adversarial example to its original: how
    little an attack had to change the meaning (lower means the model needed larger changes)."""

    name = "adversarial_similarity"
    higher_is_better = False
    description = "mean similarity of successful adversarial examples to their originals"
    axis = "text attacks"

    def _measured(self, records: Records) -> np.ndarray:
        return attack_outcomes(records)[1] & np.isfinite(records.similarity)

    def applies(self, records: Records) -> bool:
        return bool(self._measured(records).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.similarity[self._measured(records)], seed)
