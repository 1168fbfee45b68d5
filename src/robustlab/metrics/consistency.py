"""Consistency: the share of examples whose prediction a meaning-preserving change left alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@METRICS.register("consistency")
@dataclass(frozen=True)
class Consistency(Metric):
    """Mean of the records' ``value`` column where the probe stores, per example, 1.0 if the
    prediction on the changed input equals the prediction on the original and 0.0 if not (the
    ``text_transformation`` probe does). Examples without a value (NaN) are left out.

    With 0/1 values the interval is the exact Clopper-Pearson interval; with fractional values
    (agreement averaged over several changes of one example) a percentile bootstrap.

    References:
        Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with CheckList, ACL
        2020 (invariance tests); Wang et al., Robustness Gym, NAACL 2021 Demos.
    """

    name = "consistency"
    higher_is_better = True
    description = "fraction of examples whose prediction the change left unchanged"
    axis = None

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(records.value).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        values = records.value[np.isfinite(records.value)]
        if np.all((values == 0) | (values == 1)):
            k, n = int(values.sum()), len(values)
            low, high = clopper_pearson(k, n)
            return Estimate(k / n, low, high, n, "clopper-pearson")
        return mean_estimate(values, seed)
