"""Feasibility rate: the share of adversarial rows that follow the table's schema."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("feasibility_rate")
@dataclass(frozen=True)
class FeasibilityRate(Metric):
    """Share of rows whose adversarial row breaks no rule of the schema, read from the records'
    ``value`` (1.0 feasible, 0.0 not), as the ``tabular_attack`` probe stores it; exact
    Clopper-Pearson interval. ``details`` counts the violating rows.

    References: Simonetto et al., TabularBench, NeurIPS 2024 Datasets and Benchmarks
    (constraint satisfaction of adversarial examples)."""

    name = "feasibility_rate"
    tasks = ("classification", "regression")
    higher_is_better = True
    description = "fraction of adversarial rows that follow the table's schema"
    axis = "tabular"

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(records.value).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        v = records.value[np.isfinite(records.value)]
        n, k = len(v), int((v == 1.0).sum())
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson", details={"violating": n - k})
