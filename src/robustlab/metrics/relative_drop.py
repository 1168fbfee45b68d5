"""Relative accuracy drop from the in-distribution set to the shifted ones (Source Drop)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics._domains import bootstrap_records, domain_masks, has_shift
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


def _drop(records: Records) -> float:
    ident, ood = domain_masks(records)
    acc_id = records.correct[ident].mean()
    acc_ood = records.correct[np.any(list(ood.values()), axis=0)].mean()
    return float((acc_id - acc_ood) / acc_id) if acc_id > 0 else float("nan")


@METRICS.register("relative_drop")
@dataclass(frozen=True)
class RelativeDrop(Metric):
    """``(acc_ID - acc_OOD) / acc_ID``: the share of in-distribution accuracy lost under shift,
    which is the Source Drop of Calderon et al.; details give it per domain. The interval comes
    from a bootstrap stratified by domain.

    References:
        Calderon et al., Measuring the Robustness of NLP Models to Domain Shifts, 2024.
    """

    name = "relative_drop"
    higher_is_better = False
    scope = "all"
    description = "relative accuracy drop from ID to the shifted domains (Source Drop)"
    axis = "shift"

    def applies(self, records: Records) -> bool:
        return has_shift(records) and bool(records.correct[domain_masks(records)[0]].any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        ident, ood = domain_masks(records)
        acc_id = float(records.correct[ident].mean())
        per_domain = {
            name: float((acc_id - records.correct[m].mean()) / acc_id) for name, m in ood.items()
        }
        value = _drop(records)
        low, high = bootstrap_records(records, _drop, seed)
        return Estimate(
            value,
            min(low, value),
            max(high, value),
            len(records),
            "bootstrap",
            details={"domains": per_domain, "id_accuracy": acc_id},
        )
