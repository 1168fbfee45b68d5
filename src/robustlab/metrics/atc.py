"""Label-free estimate of accuracy under shift: average thresholded confidence (ATC)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics._domains import bootstrap_records, domain_masks, has_shift
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


def atc_threshold(confidence: np.ndarray, correct: np.ndarray) -> float:
    """The confidence threshold below which the ID set has as many examples as errors."""
    return float(np.quantile(confidence, 1.0 - correct.mean()))


def _estimate(records: Records) -> float:
    ident, ood = domain_masks(records)
    t = atc_threshold(records.confidence[ident], records.correct[ident])
    mask = np.any(list(ood.values()), axis=0)
    return float(np.mean(records.confidence[mask] >= t))


@METRICS.register("atc_ood_accuracy")
@dataclass(frozen=True)
class ATCOODAccuracy(Metric):
    """OOD accuracy predicted without OOD labels: the share of OOD examples whose confidence
    exceeds the threshold that matches the ID accuracy. Details give the estimate and, since the
    labels exist here, the true accuracy and the estimation error per domain.

    References:
        Garg et al., Leveraging Unlabeled Data to Predict Out-of-Distribution Performance, ICLR 2022.
    """

    name = "atc_ood_accuracy"
    higher_is_better = True
    scope = "all"
    description = "OOD accuracy estimated from ID-calibrated confidence, without OOD labels"
    axis = "shift"

    def applies(self, records: Records) -> bool:
        return has_shift(records)

    def _compute(self, records: Records, seed: int) -> Estimate:
        ident, ood = domain_masks(records)
        t = atc_threshold(records.confidence[ident], records.correct[ident])
        per_domain = {
            name: {
                "estimate": float(np.mean(records.confidence[m] >= t)),
                "accuracy": float(records.correct[m].mean()),
            }
            for name, m in ood.items()
        }
        for d in per_domain.values():
            d["error"] = abs(d["estimate"] - d["accuracy"])
        value = _estimate(records)
        mask = np.any(list(ood.values()), axis=0)
        true = float(records.correct[mask].mean())
        low, high = bootstrap_records(records, _estimate, seed)
        return Estimate(
            value,
            min(low, value),
            max(high, value),
            int(mask.sum()),
            "bootstrap",
            details={
                "threshold": t,
                "true_accuracy": true,
                "error": abs(value - true),
                "domains": per_domain,
            },
        )
