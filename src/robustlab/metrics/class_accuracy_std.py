"""Standard deviation of the per-class accuracies, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics._disparity import class_cells, disparity_estimate
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("class_accuracy_std")
@dataclass(frozen=True)
class ClassAccuracyStd(Metric):
    """Population standard deviation (ddof 0) of the per-class accuracies: how unevenly the
    classes are served, each class weighing the same whatever its size.

    Only classes present in ``target`` count; a single class present gives 0, and a class of one
    example (accuracy 0 or 1) counts fully. This is a per-class disparity in the spirit of Chiu et
    al., who show that better accuracy may hide worse disparity; their MacroStd, which averages over
    classes the weighted standard deviation of *subgroup* accuracies within each class, is the
    ``macro_std`` metric.

    The interval is a percentile bootstrap over examples (a class missing from a resample is
    absent from that resample's deviation), widened to contain the point value. ``details``:
    ``classes`` maps every class index to its ``accuracy`` and size ``n``;
    ``mean_class_accuracy`` is their unweighted mean (balanced accuracy).

    References:
        Chiu et al., Better May Not Be Fairer: A Study on Subgroup Discrepancy in Image
        Classification, ICCV 2023 (arXiv:2212.08649).
    """

    name = "class_accuracy_std"
    higher_is_better = False
    description = "standard deviation of the per-class accuracies"
    axis = "subgroups"

    def _compute(self, records: Records, seed: int) -> Estimate:
        names, codes, correct = class_cells(records)
        return disparity_estimate(
            names,
            codes,
            correct,
            lambda acc: np.nanstd(acc, axis=1),
            seed,
            lambda table, acc: {"classes": table, "mean_class_accuracy": float(np.mean(acc))},
        )
