"""Pass rate of a behavioural (CheckList) test, with an exact binomial interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("pass_rate")
@dataclass(frozen=True)
class PassRate(Metric):
    """Share of test cases that passed, read from the records' ``correct`` column (a
    ``checklist`` and ``tabular_metamorphic`` probes set it to "the case passed": the expected
    label for a minimum functionality test, an unchanged prediction for an invariance test, a
    probability moving the stated way for a directional test); for regression records, the
    cases not ``broken``. ``details`` counts the cases and the failures.

    References:
        Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with CheckList, ACL
        2020.
    """

    name = "pass_rate"
    tasks = ("classification", "regression")
    higher_is_better = True
    description = "fraction of behavioural test cases that passed"
    axis = "behaviour"

    def _compute(self, records: Records, seed: int) -> Estimate:
        n = len(records)
        # a regression test's verdict is its records' ``broken`` (there is no ``correct``)
        passed = records.correct if records.task == "classification" else ~records.broken
        k = int(np.sum(passed))
        low, high = clopper_pearson(k, n)
        return Estimate(
            k / n, low, high, n, "clopper-pearson", details={"cases": n, "failures": n - k}
        )
