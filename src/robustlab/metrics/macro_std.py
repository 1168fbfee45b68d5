"""MacroStd: the class-averaged, size-weighted spread of subgroup accuracies within each class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.metrics._disparity import RESAMPLES, count_groups
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records

_BLOCK_ELEMENTS = 500_000


def macro_std_of(counts: np.ndarray, hits: np.ndarray, cell_class: np.ndarray) -> np.ndarray:
    """MacroStd of every row of per-(class, group) cell ``counts`` and ``hits`` ``(R, C)``.

    For class ``c`` with subgroup accuracies ``a_cg`` on ``n_cg`` examples and class accuracy
    ``a_c = sum_g n_cg a_cg / sum_g n_cg``: ``std_c = sqrt(sum_g n_cg (a_cg - a_c)^2 /
    sum_g n_cg)``; MacroStd is the mean of ``std_c`` over the classes present in the row.
    """
    classes = int(cell_class.max()) + 1
    rows = counts.shape[0]
    onehot = np.zeros((counts.shape[1], classes))
    onehot[np.arange(counts.shape[1]), cell_class] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(counts > 0, hits / np.maximum(counts, 1), 0.0)
        n_class = counts @ onehot  # (R, K)
        acc_class = np.where(n_class > 0, (hits @ onehot) / np.maximum(n_class, 1), 0.0)
        dev = (acc - acc_class[:, cell_class]) ** 2 * counts
        std = np.sqrt((dev @ onehot) / np.maximum(n_class, 1))
    out = np.full(rows, np.nan)
    present = n_class > 0
    has = present.any(axis=1)
    out[has] = np.nanmean(np.where(present, std, np.nan)[has], axis=1)
    return out


@METRICS.register("macro_std")
@dataclass(frozen=True)
class MacroStd(Metric):
    """MacroStd (Chiu et al.): within each class, the standard deviation of its subgroups'
    accuracies weighted by subgroup size; then the mean over classes. 0 means every subgroup of
    every class is served equally; unlike a gap over groups, it is not driven by class difficulty.

    Groups come from the records' ``group`` column (None is left out); ``applies`` is False with
    fewer than two distinct groups. A class whose examples all fall in one group has spread 0.
    The interval is a percentile bootstrap over grouped examples, widened to contain the point
    value. ``details``: ``classes`` maps each class to its weighted ``std`` and per-group
    ``accuracy`` and ``n``.

    References:
        Chiu et al., Better May Not Be Fairer: A Study on Subgroup Discrepancy in Image
        Classification, ICCV 2023 (arXiv:2212.08649).
    """

    name = "macro_std"
    higher_is_better = False
    description = "mean over classes of the size-weighted std of subgroup accuracies (MacroStd)"
    axis = "subgroups"

    def applies(self, records: Records) -> bool:
        return count_groups(records) >= 2

    def _compute(self, records: Records, seed: int) -> Estimate:
        has = np.array([g is not None for g in records.group], dtype=bool)
        groups = np.array([str(g) for g in records.group[has]], dtype=str)
        targets = records.target[has]
        correct = records.correct[has].astype(np.float64)
        class_labels, class_code = np.unique(targets, return_inverse=True)
        group_names, group_code = np.unique(groups, return_inverse=True)
        pairs = np.stack([class_code, group_code], axis=1)
        cell_pairs, codes = np.unique(pairs, axis=0, return_inverse=True)
        codes = codes.reshape(-1)
        order = np.lexsort((correct, codes))  # canonical order: independent of record order
        codes, correct = codes[order], correct[order]
        cell_class = cell_pairs[:, 0]
        names = [(str(int(class_labels[c])), str(group_names[g])) for c, g in cell_pairs.tolist()]
        cells, n = len(names), len(codes)

        def counts_hits(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            r = idx.shape[0]
            flat = (np.arange(r)[:, None] * cells + codes[idx]).ravel()
            count = np.bincount(flat, minlength=r * cells).reshape(r, cells)
            hit = np.bincount(flat, weights=correct[idx].ravel(), minlength=r * cells)
            return count.astype(np.float64), hit.reshape(r, cells)

        count, hit = counts_hits(np.arange(n)[None, :])
        point = float(macro_std_of(count, hit, cell_class)[0])
        rng = np.random.default_rng(seed)
        block = max(1, _BLOCK_ELEMENTS // n)
        boot = []
        for start in range(0, RESAMPLES, block):
            idx = rng.integers(0, n, size=(min(block, RESAMPLES - start), n))
            boot.append(macro_std_of(*counts_hits(idx), cell_class))
        stats = np.concatenate(boot)
        low, high = np.nanquantile(stats, [0.025, 0.975])
        details: dict[str, dict[str, object]] = {}
        std = macro_std_class(count[0], hit[0], cell_class)
        for i, (label, group) in enumerate(names):
            entry = details.setdefault(label, {"std": float(std[int(cell_class[i])]), "groups": {}})
            entry["groups"][group] = {  # type: ignore[index]
                "accuracy": float(hit[0, i] / count[0, i]),
                "n": int(count[0, i]),
            }
        return Estimate(
            point,
            min(float(low), point),
            max(float(high), point),
            n,
            "bootstrap",
            details={"classes": details},
        )


def macro_std_class(counts: np.ndarray, hits: np.ndarray, cell_class: np.ndarray) -> np.ndarray:
    """Each class's size-weighted std of its subgroup accuracies, for one row of cells."""
    classes = int(cell_class.max()) + 1
    n_class = np.bincount(cell_class, weights=counts, minlength=classes)
    acc_class = np.bincount(cell_class, weights=hits, minlength=classes) / n_class
    acc = hits / counts
    dev = np.bincount(
        cell_class, weights=counts * (acc - acc_class[cell_class]) ** 2, minlength=classes
    )
    return np.sqrt(dev / n_class)
