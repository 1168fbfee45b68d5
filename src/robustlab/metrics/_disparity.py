"""Shared code of the subgroup and per-class metrics: accuracy per cell, bootstrapped together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from robustlab.metrics.base import Estimate
from robustlab.records import Records

RESAMPLES = 1000
_BLOCK_ELEMENTS = 500_000

Reduce = Callable[[np.ndarray], np.ndarray]
"""Maps per-cell accuracies ``(R, C)`` (NaN for a cell absent from a resample) to ``(R,)``."""


def group_cells(records: Records) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names of the distinct non-None groups (as text, sorted), each grouped example's cell index
    and its correctness. Examples without a group are left out."""
    has = np.array([g is not None for g in records.group], dtype=bool)
    labels = np.array([str(g) for g in records.group[has]], dtype=str)
    names, codes = np.unique(labels, return_inverse=True)
    return [str(s) for s in names], codes.astype(np.int64), records.correct[has]


def class_cells(records: Records) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names of the classes present in ``target`` (sorted), each example's cell index and its
    correctness."""
    classes, codes = np.unique(records.target, return_inverse=True)
    return [str(int(c)) for c in classes], codes.astype(np.int64), records.correct


def count_groups(records: Records) -> int:
    return len({str(g) for g in records.group if g is not None})


def _cell_accuracy(codes: np.ndarray, correct: np.ndarray, cells: int) -> np.ndarray:
    """Per-cell accuracy of every row of ``(R, n)`` blocks of codes and correctness."""
    rows = codes.shape[0]
    flat = (np.arange(rows)[:, None] * cells + codes).ravel()
    size = rows * cells
    count = np.bincount(flat, minlength=size).reshape(rows, cells)
    hits = np.bincount(flat, weights=correct.ravel(), minlength=size).reshape(rows, cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, hits / count, np.nan)


def disparity_estimate(
    names: list[str],
    codes: np.ndarray,
    correct: np.ndarray,
    reduce: Reduce,
    seed: int,
    details: Callable[[dict[str, dict[str, Any]], np.ndarray], dict[str, Any]],
    *,
    resamples: int = RESAMPLES,
    level: float = 0.95,
) -> Estimate:
    """Point value of ``reduce`` over the per-cell accuracies, with a percentile bootstrap over
    examples (cells missing from a resample are absent from its reduction), widened to contain
    the point value. ``details`` receives ``{name: {"accuracy", "n"}}`` and the accuracies."""
    correct = correct.astype(np.float64)
    # Canonical order: values and intervals then do not depend on the order of the records.
    order = np.lexsort((correct, codes))
    codes, correct = codes[order], correct[order]
    n, cells = len(codes), len(names)
    acc = _cell_accuracy(codes[None, :], correct[None, :], cells)
    point = float(reduce(acc)[0])
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_ELEMENTS // n)
    boot = []
    for start in range(0, resamples, block):
        idx = rng.integers(0, n, size=(min(block, resamples - start), n))
        boot.append(reduce(_cell_accuracy(codes[idx], correct[idx], cells)))
    stats = np.concatenate(boot)
    alpha = (1 - level) / 2
    low, high = float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))
    sizes = np.bincount(codes, minlength=cells)
    table = {
        name: {"accuracy": float(acc[0, i]), "n": int(sizes[i])} for i, name in enumerate(names)
    }
    return Estimate(
        point, min(low, point), max(high, point), n, "bootstrap", level, details(table, acc[0])
    )


def min_cell_estimate(
    names: list[str],
    codes: np.ndarray,
    correct: np.ndarray,
    details: Callable[[dict[str, dict[str, Any]], np.ndarray], dict[str, Any]],
    *,
    level: float = 0.95,
) -> Estimate:
    """The lowest per-cell accuracy with the simultaneous (Bonferroni) Clopper-Pearson interval
    ``[min of lowers, min of uppers]`` of :func:`robustlab.metrics.intervals.min_interval`, which
    covers the lowest true accuracy with probability at least ``level`` (a bootstrap of the
    minimum does not: with three groups 2 points apart it covered 0.864)."""
    from robustlab.metrics.intervals import min_interval

    cells = len(names)
    sizes = np.bincount(codes, minlength=cells)
    hits = np.bincount(codes, weights=correct.astype(np.float64), minlength=cells)
    acc = hits / sizes
    low, high = min_interval(hits, sizes, level)
    table = {name: {"accuracy": float(acc[i]), "n": int(sizes[i])} for i, name in enumerate(names)}
    return Estimate(
        float(acc.min()),
        low,
        high,
        int(sizes.sum()),
        "clopper-pearson-bonferroni",
        level,
        details(table, acc),
    )


def worst_of(table: dict[str, dict[str, Any]], acc: np.ndarray) -> str:
    """The cell of lowest accuracy; ties go to the first name in sorted order."""
    return list(table)[int(np.argmin(acc))]


def best_of(table: dict[str, dict[str, Any]], acc: np.ndarray) -> str:
    """The cell of highest accuracy; ties go to the first name in sorted order."""
    return list(table)[int(np.argmax(acc))]
