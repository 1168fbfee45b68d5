"""Metrics computed from per-example records, each with a confidence interval."""

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import (
    METRICS,
    Estimate,
    Metric,
    bootstrap_ci,
    derive_seed,
    get_metric,
    mean_estimate,
)
from robustlab.registry import import_submodules

import_submodules(__name__)

__all__ = [
    "METRICS",
    "Estimate",
    "Metric",
    "bootstrap_ci",
    "clopper_pearson",
    "derive_seed",
    "get_metric",
    "mean_estimate",
]
