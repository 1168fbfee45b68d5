"""Simulated coverage of RobustLab's 95% intervals (issue 19 item 4), new and old side by side.

    python benchmarks/coverage.py [--datasets 1000] [--n 300]

Prints, for each case, the share of simulated data sets whose interval holds the truth: the
debiased calibration error against the plug-in ECE (calibrated model, and over-confident by
0.08), BCa against percentile bootstrap for the mean confidence, and simultaneous Clopper-Pearson
against the bootstrap of the minimum for worst-group accuracy with three close groups.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from robustlab.metrics import bootstrap_ci, get_metric
from robustlab.metrics._disparity import disparity_estimate
from robustlab.records import Records


def records(conf: np.ndarray, correct: np.ndarray, group: np.ndarray | None = None) -> Records:
    probs = np.column_stack([1 - conf, conf])
    meta = {"group": list(group)} if group is not None else None
    ids = [str(i) for i in range(len(conf))]
    return Records.from_probabilities(probs, np.where(correct, 1, 0), ids, meta=meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    k, n = args.datasets, args.n
    rng = np.random.default_rng(2026)
    rows = []
    for gap in (0.0, 0.08):
        new = old = 0
        began = time.perf_counter()
        for i in range(k):
            low = 0.5 + gap
            conf = low + (1 - low) * rng.beta(4, 1.2, n)
            r = records(conf, rng.random(n) < conf - gap)
            d = get_metric("ece_debiased").compute(r, seed=i)
            p = get_metric("ece").compute(r, seed=i)
            new += d.ci_low <= gap <= d.ci_high
            old += p.ci_low <= gap <= p.ci_high
        rows.append(
            (
                f"ECE, gap {gap:g}",
                "debiased",
                new / k,
                "plug-in ece",
                old / k,
                time.perf_counter() - began,
            )
        )
    truth = 1 - 0.5 * 0.15 / 2.15  # confidences piled up near 1 with a long tail: a skewed mean
    new = old = 0
    began = time.perf_counter()
    for i in range(k):
        conf = 1 - 0.5 * rng.beta(0.15, 2.0, n)
        lo, hi = bootstrap_ci(conf, seed=i)
        plo, phi = bootstrap_ci(conf, seed=i, method="percentile")
        new += lo <= truth <= hi
        old += plo <= truth <= phi
    rows.append(
        ("mean confidence", "BCa", new / k, "percentile", old / k, time.perf_counter() - began)
    )
    acc = np.array([0.70, 0.72, 0.74])
    per = n // 3
    group = np.repeat(["a", "b", "c"], per)
    codes = np.repeat(np.arange(3), per)
    new = old = 0
    began = time.perf_counter()
    for i in range(k):
        correct = rng.random(3 * per) < np.repeat(acc, per)
        est = get_metric("worst_group_accuracy").compute(
            records(np.full(3 * per, 0.9), correct, group)
        )
        boot = disparity_estimate(
            ["a", "b", "c"], codes, correct, lambda a: np.nanmin(a, axis=1), i, lambda t, a: {}
        )
        new += est.ci_low <= 0.70 <= est.ci_high
        old += boot.ci_low <= 0.70 <= boot.ci_high
    rows.append(
        (
            "worst group (3 close)",
            "CP-Bonferroni",
            new / k,
            "bootstrap",
            old / k,
            time.perf_counter() - began,
        )
    )
    print(f"{k} data sets of {n} examples, 95% intervals")
    for case, a, ca, b, cb, seconds in rows:
        print(f"{case:24s} {a:14s} {ca:.3f}   {b:12s} {cb:.3f}   ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
