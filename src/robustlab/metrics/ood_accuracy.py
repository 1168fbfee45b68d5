"""Accuracy on the out-of-distribution domains of a shift scan, with per-domain accuracies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics._domains import domain_masks, has_shift
from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("ood_accuracy")
@dataclass(frozen=True)
class OODAccuracy(Metric):
    """Accuracy over all examples of the shifted (non-``id``) domains; the details hold each
    domain's accuracy and size, ID included. Undefined without a shift scan."""

    name = "ood_accuracy"
    higher_is_better = True
    scope = "all"
    description = "accuracy on the out-of-distribution domains"
    axis = "shift"

    def applies(self, records: Records) -> bool:
        return has_shift(records)

    def _compute(self, records: Records, seed: int) -> Estimate:
        ident, ood = domain_masks(records)
        mask = np.any(list(ood.values()), axis=0)
        k, n = int(records.correct[mask].sum()), int(mask.sum())
        low, high = clopper_pearson(k, n)
        per_domain = {}
        for name, m in {"id": ident, **ood}.items():
            hits, size = int(records.correct[m].sum()), int(m.sum())
            lo, hi = clopper_pearson(hits, size)
            per_domain[name] = {"accuracy": hits / size, "n": size, "ci_low": lo, "ci_high": hi}
        return Estimate(k / n, low, high, n, "clopper-pearson", details={"domains": per_domain})
