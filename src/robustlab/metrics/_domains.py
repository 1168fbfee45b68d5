"""Helpers shared by the shift metrics: split records by domain, bootstrap a statistic."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from robustlab.data.domains import ID_DOMAIN
from robustlab.records import Records


def domain_masks(records: Records) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The in-distribution mask and one mask per OOD domain (in order of appearance)."""
    domains = records.domain
    ood = [d for d in dict.fromkeys(domains.tolist()) if d is not None and d != ID_DOMAIN]
    return domains == ID_DOMAIN, {str(d): domains == d for d in ood}


def has_shift(records: Records) -> bool:
    ident, ood = domain_masks(records)
    return bool(ident.any()) and bool(ood)


def bootstrap_records(
    records: Records, statistic: Callable[[Records], float], seed: int, resamples: int = 500
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over example resamples stratified by domain, so
    every resample keeps each domain's size."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(records.domain == d) for d in dict.fromkeys(records.domain.tolist())]
    stats = []
    for _ in range(resamples):
        idx = np.concatenate([rng.choice(g, size=len(g)) for g in groups])
        value = statistic(records.subset(idx))
        if np.isfinite(value):
            stats.append(value)
    if not stats:
        return float("nan"), float("nan")
    return float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))
