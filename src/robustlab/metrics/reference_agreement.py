"""Agreement with a reference ("oracle") model on the same perturbed inputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("reference_agreement")
@dataclass(frozen=True)
class ReferenceAgreement(Metric):
    """Share of examples on which the model predicts what the reference model predicts for the
    same input; defined only for scans with a reference model.

    References:
        Zhang et al., Foundation Model-oriented Robustness: Robust Image Model Evaluation with
        Pretrained Models, ICLR 2024.
    """

    name = "reference_agreement"
    higher_is_better = True
    description = "share of predictions equal to the reference model's on the same input"
    axis = None

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(records.reference).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        known = np.isfinite(records.reference)
        agree = records.prediction[known] == records.reference[known]
        k, n = int(agree.sum()), int(known.sum())
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson")
