"""Confidence intervals that cover: BCa bootstrap, simultaneous Clopper-Pearson for a minimum over
groups, and the debiased calibration error with its interval.

* :func:`bca_interval`: the bias-corrected and accelerated bootstrap (Efron, JASA 1987), second-
  order accurate for smooth statistics such as a mean, where the percentile bootstrap of a skewed
  mean under-covers at a few hundred examples.
* :func:`min_interval`: an interval for the smallest of several binomial proportions (worst-group
  accuracy) from Clopper-Pearson intervals at level ``1 - alpha / G`` per group (Bonferroni):
  with probability at least ``1 - alpha`` every group's accuracy lies in its interval, so the
  minimum lies in ``[min of lowers, min of uppers]``. A bootstrap of the minimum is biased (the
  minimum of noisy accuracies sits below the smallest true accuracy) and under-covers when
  groups are close.
* :func:`debiased_calibration_error`: Kumar et al.'s debiased estimate of the squared binned
  calibration error (NeurIPS 2019, "Verified Uncertainty Calibration"), over equal-mass bins,
  reported as its root (in the units of ECE), with a Wald interval on the squared scale. The
  plug-in ECE is biased upwards (a perfectly calibrated model scores above 0 and its bootstrap
  interval never contains 0); the debiased estimate is centred on the truth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import beta, binom, norm

__all__ = [
    "bca_from_replicates",
    "bca_interval",
    "clopper_pearson_bounds",
    "debiased_calibration_error",
    "min_interval",
]

#: Bootstrap resamples of a BCa interval (Efron & Tibshirani advise >= 2000 for BCa).
BCA_RESAMPLES = 2000
#: Resampled values per block, so that memory stays at tens of MB for 10^5 examples.
_BLOCK_ELEMENTS = 2_000_000
#: Jackknife groups for a general statistic's acceleration (exact leave-one-out below this).
_JACKKNIFE_GROUPS = 200


def _resample_stats(
    values: np.ndarray, statistic: Callable[[np.ndarray], Any], resamples: int, seed: int
) -> np.ndarray:
    n = len(values)
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_ELEMENTS // max(n, 1))
    out = []
    for start in range(0, resamples, block):
        idx = rng.integers(0, n, size=(min(block, resamples - start), n))
        if statistic is np.mean:
            out.append(values[idx].mean(axis=1))
        else:
            out.append(np.array([statistic(values[i]) for i in idx], dtype=np.float64))
    return np.concatenate(out)


def _jackknife(values: np.ndarray, statistic: Callable[[np.ndarray], Any]) -> np.ndarray:
    """Leave-one-out values of the statistic (closed form for the mean; leave-one-group-out
    over contiguous groups for other statistics on many examples)."""
    n = len(values)
    if statistic is np.mean:
        return (values.sum() - values) / (n - 1)
    if n <= _JACKKNIFE_GROUPS:
        keep = ~np.eye(n, dtype=bool)
        return np.array([statistic(values[k]) for k in keep], dtype=np.float64)
    groups = np.array_split(np.arange(n), _JACKKNIFE_GROUPS)
    return np.array([statistic(np.delete(values, g, axis=0)) for g in groups], dtype=np.float64)


def bca_interval(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], Any] = np.mean,
    *,
    level: float = 0.95,
    resamples: int = BCA_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """BCa bootstrap interval of ``statistic`` over the rows of ``values``.

    The bias correction ``z0`` is the normal quantile of the share of resampled values below the
    point value (ties counted half); the acceleration ``a`` is the skewness of the jackknife
    values over 6. The interval is the bootstrap distribution's quantiles at
    ``Phi(z0 + (z0 + z) / (1 - a (z0 + z)))`` for ``z`` the two normal quantiles. A constant
    sample gives ``[value, value]``; with a degenerate bias correction (every resampled value on
    one side of the point) the percentile interval is returned.

    References:
        Efron, Better Bootstrap Confidence Intervals, JASA 1987; Efron & Tibshirani, An
        Introduction to the Bootstrap, 1993, ch. 14.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    point = float(statistic(values))
    if n < 2:
        return point, point
    boot = _resample_stats(values, statistic, resamples, seed)
    return bca_from_replicates(point, boot, lambda: _jackknife(values, statistic), level)


def bca_from_replicates(
    point: float,
    boot: np.ndarray,
    jackknife: Callable[[], np.ndarray] | np.ndarray,
    level: float = 0.95,
) -> tuple[float, float]:
    """The BCa interval from a statistic's ``point`` value, its bootstrap replicates ``boot``
    and its jackknife (leave-one-out) values, given or computed on demand; for several samples
    the jackknife runs over the observations of all of them (Efron & Tibshirani 1993, 14.3).
    Non-finite replicates are dropped."""
    boot = np.asarray(boot, dtype=np.float64)
    boot = boot[np.isfinite(boot)]
    alpha = (1 - level) / 2
    if not len(boot) or float(boot.max() - boot.min()) == 0.0:
        return point, point
    share = (np.sum(boot < point) + 0.5 * np.sum(boot == point)) / len(boot)
    if share <= 0 or share >= 1:
        return float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))
    z0 = float(norm.ppf(share))
    jack = np.asarray(jackknife() if callable(jackknife) else jackknife, dtype=np.float64)
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack if len(jack) else np.zeros(1)
    denom = float((d**2).sum()) ** 1.5
    a = float((d**3).sum()) / (6.0 * denom) if denom > 0 else 0.0
    qs = []
    for z in (norm.ppf(alpha), norm.ppf(1 - alpha)):
        shifted = z0 + (z0 + z) / (1 - a * (z0 + z))
        qs.append(float(norm.cdf(shifted)))
    low, high = np.quantile(boot, qs)
    return float(low), float(high)


def clopper_pearson_bounds(
    k: np.ndarray, n: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise exact binomial intervals for ``k`` successes in ``n`` trials."""
    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, beta.ppf(alpha / 2, np.maximum(k, 1), n - k + 1), 0.0)
        high = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1)), 1.0)
    return low, high


def min_interval(hits: np.ndarray, counts: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Interval for the smallest of ``G`` binomial proportions: Bonferroni-simultaneous
    Clopper-Pearson intervals (each at level ``1 - (1 - level) / G``) give
    ``[min of lowers, min of uppers]``, which covers the smallest true proportion with
    probability at least ``level`` whatever the proportions (conservative when one group is far
    below the others).

    References:
        Clopper & Pearson, Biometrika 1934; Bonferroni's inequality (Dunn, JASA 1961).
    """
    hits, counts = np.asarray(hits), np.asarray(counts)
    g = len(counts)
    low, high = clopper_pearson_bounds(hits, counts, 1 - (1 - level) / g)
    return float(low.min()), float(high.min())


def debiased_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 15, level: float = 0.95
) -> dict[str, Any]:
    """Kumar et al.'s debiased binned calibration error over equal-mass bins, as a root.

    With bins ``b`` of ``n_b`` examples (sorted by confidence; ``min(n_bins, n // 2)`` bins, so
    each holds at least two), accuracy ``y_b`` and mean confidence ``c_b``, the squared error is
    estimated without bias as ``sum_b n_b/n * ((y_b - c_b)^2 - y_b (1 - y_b) / (n_b - 1))``
    (the second term removes the sampling variance of ``y_b``); it can be negative when the model
    is nearly calibrated. The value is ``sqrt(max(estimate, 0))``.

    The interval is Wald's on the squared scale, ``estimate +- z * se``, mapped back by
    ``sqrt(max(., 0))``, so it contains 0 when the data cannot rule out perfect calibration.
    ``se^2 = sum_b (n_b/n)^2 Var(term_b)``, each bin's variance computed exactly over a binomial
    count with success probability ``c_b + g`` (``g`` = accuracy - mean confidence overall): a
    plug-in ``y_b`` would give a bin that happens to be all correct zero variance.

    Returns:
        ``{"value", "ci_low", "ci_high", "squared", "se_squared", "n_bins"}``.

    References:
        Kumar, Liang & Ma, Verified Uncertainty Calibration, NeurIPS 2019.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    order = np.lexsort((correct, confidence))
    confidence, correct = confidence[order], correct[order]
    n = len(confidence)
    bins = max(1, min(n_bins, n // 2))
    which = np.arange(n) * bins // n
    count = np.bincount(which, minlength=bins).astype(np.float64)
    hits = np.bincount(which, weights=correct, minlength=bins)
    conf = np.bincount(which, weights=confidence, minlength=bins)
    acc, mean_conf = hits / count, conf / count
    w = count / n
    # a bin of one example (n < 2) has no variance estimate: its term is the plain square
    variance = np.where(count > 1, acc * (1 - acc) / np.maximum(count - 1, 1), 0.0)
    gap2 = (acc - mean_conf) ** 2
    squared = float((w * (gap2 - variance)).sum())
    # The variance of each bin's term under a binomial accuracy with the bin's confidence
    # shifted by the overall gap (accuracy - mean confidence), computed exactly over the counts:
    # plug-in accuracies would give an all-correct bin zero variance.
    shift = float((w * (acc - mean_conf)).sum())
    terms = 0.0
    for b in range(bins):
        nb = int(count[b])
        if nb < 2:
            continue
        q = min(max(mean_conf[b] + shift, 0.0), 1.0)
        k = np.arange(nb + 1)
        pmf = binom.pmf(k, nb, q)
        yk = k / nb
        t = (yk - mean_conf[b]) ** 2 - yk * (1 - yk) / (nb - 1)
        mean_t = float((pmf * t).sum())
        terms += w[b] ** 2 * max(float((pmf * t**2).sum()) - mean_t**2, 0.0)
    se = math.sqrt(terms)
    z = float(norm.ppf(1 - (1 - level) / 2))

    def root(x: float) -> float:
        return math.sqrt(max(x, 0.0))

    return {
        "value": root(squared),
        "ci_low": root(squared - z * se),
        "ci_high": root(squared + z * se),
        "squared": squared,
        "se_squared": se,
        "n_bins": bins,
    }
