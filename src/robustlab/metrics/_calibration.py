"""Shared binning for the calibration metrics: per-bin sums, vectorised over bootstrap resamples."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from robustlab.errors import ConfigError
from robustlab.metrics.base import Estimate
from robustlab.records import Records

N_BINS = 15
RESAMPLES = 1000
# Resamples are drawn in blocks so that memory stays at a few tens of MB for 10^5 examples.
_BLOCK_ELEMENTS = 500_000

BinSums = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Per bin (along the last axis): example count, sum of ``correct`` and sum of ``confidence``."""


def check_bins(metric: str, n_bins: object) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ConfigError(
            f"The 'n_bins' parameter of metric {metric!r} must be an int >= 1. "
            f"Got {n_bins!r} instead."
        )


def canonical(records: Records) -> tuple[np.ndarray, np.ndarray]:
    """Confidence and correctness sorted by (confidence, correct).

    Every statistic, and every bootstrap resample drawn from this order, then depends only on the
    multiset of examples: permuting the records changes neither values nor intervals, and tied
    confidences split across equal-mass bins are split the same way whatever the input order.
    """
    correct = records.correct.astype(np.float64)
    order = np.lexsort((correct, records.confidence))
    return records.confidence[order], correct[order]


def equal_width_bin(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each confidence among ``((i-1)/B, i/B]`` (Guo et al.); a confidence of 0 goes to the
    first bin."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)


def equal_mass_bin(n: int, n_bins: int) -> np.ndarray:
    """Bin of each position of a sorted sample of size ``n``: sizes differ by at most one, and with
    fewer examples than bins every example is its own bin (the other bins stay empty)."""
    return np.arange(n) * n_bins // n


def bin_sums(bins: np.ndarray, correct: np.ndarray, confidence: np.ndarray, n_bins: int) -> BinSums:
    """Per-bin sums of rows of a ``(R, n)`` block (one row per resample); ``(R, B)`` arrays."""
    rows = bins.shape[0]
    flat = (np.arange(rows)[:, None] * n_bins + bins).ravel()
    size = rows * n_bins
    count = np.bincount(flat, minlength=size).reshape(rows, n_bins)
    hits = np.bincount(flat, weights=correct.ravel(), minlength=size).reshape(rows, n_bins)
    conf = np.bincount(flat, weights=confidence.ravel(), minlength=size).reshape(rows, n_bins)
    return count, hits, conf


def _resample_blocks(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, resamples, block):
        yield rng.integers(0, n, size=(min(block, resamples - start), n))


def sums(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int, scheme: str, idx: np.ndarray
) -> BinSums:
    """Bin sums of the resamples ``idx`` ``(R, n)`` of canonically ordered examples."""
    if scheme == "equal-width":
        bins = equal_width_bin(confidence, n_bins)[idx]
    else:
        # The canonical order is sorted, so sorting the drawn positions sorts the resample.
        idx = np.sort(idx, axis=1)
        bins = np.broadcast_to(equal_mass_bin(idx.shape[1], n_bins), idx.shape)
    return bin_sums(bins, correct[idx], confidence[idx], n_bins)


def ece_of(s: BinSums) -> np.ndarray:
    """``sum_b |B_b|/n * |acc_b - conf_b| = sum_b |hits_b - conf_b| / n``; empty bins add 0."""
    count, hits, conf = s
    return np.abs(hits - conf).sum(axis=-1) / count.sum(axis=-1)


def mce_of(s: BinSums) -> np.ndarray:
    """Largest ``|acc_b - conf_b|`` over the non-empty bins."""
    count, hits, conf = s
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(hits - conf) / count
    return np.where(count > 0, gap, -np.inf).max(axis=-1)


def binned_estimate(
    records: Records,
    statistic: Callable[[BinSums], np.ndarray],
    n_bins: int,
    scheme: str,
    seed: int,
    *,
    resamples: int = RESAMPLES,
    level: float = 0.95,
) -> Estimate:
    """Point value, percentile-bootstrap interval and reliability-diagram details of a binned
    calibration statistic. ``scheme`` is ``"equal-width"`` or ``"equal-mass"``.

    The interval is widened to contain the point value where the bootstrap distribution misses it
    (binned calibration errors are biased upwards, so resampled values sit above a small point
    value), as the cross-probe summaries do.
    """
    confidence, correct = canonical(records)
    n = len(confidence)
    identity = np.arange(n)[None, :]
    point_sums = sums(confidence, correct, n_bins, scheme, identity)
    point = float(statistic(point_sums)[0])
    boot = np.concatenate(
        [
            statistic(sums(confidence, correct, n_bins, scheme, idx))
            for idx in _resample_blocks(n, resamples, seed)
        ]
    )
    alpha = (1 - level) / 2
    low, high = float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))
    details = {
        "binning": scheme,
        "n_bins": n_bins,
        "bins": _diagram(confidence, point_sums, n_bins, scheme),
    }
    return Estimate(point, min(low, point), max(high, point), n, "bootstrap", level, details)


def _diagram(confidence: np.ndarray, s: BinSums, n_bins: int, scheme: str) -> list[dict[str, Any]]:
    """Reliability-diagram bins. Equal-width: all bins with their edges, accuracy and mean
    confidence None where empty. Equal-mass: the non-empty bins, bounded by their smallest and
    largest confidence."""
    count, hits, conf = (a[0] for a in s)
    if scheme == "equal-width":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        lower, upper = edges[:-1], edges[1:]
    else:
        bins = equal_mass_bin(len(confidence), n_bins)
        lower = np.full(n_bins, np.nan)
        upper = np.full(n_bins, np.nan)
        present = np.unique(bins)
        lower[present] = [confidence[bins == b].min() for b in present]
        upper[present] = [confidence[bins == b].max() for b in present]
    out = []
    for b in range(n_bins):
        c = int(count[b])
        if scheme != "equal-width" and c == 0:
            continue
        out.append(
            {
                "lower": float(lower[b]),
                "upper": float(upper[b]),
                "count": c,
                "accuracy": float(hits[b] / c) if c else None,
                "mean_confidence": float(conf[b] / c) if c else None,
            }
        )
    return out
