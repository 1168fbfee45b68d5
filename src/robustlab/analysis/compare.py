"""Paired comparisons of runs on the same examples: McNemar's exact test and prediction churn."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
from scipy.stats import binomtest

from robustlab.store import Store

__all__ = ["compare_runs", "mcnemar_exact"]


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """Discordant counts (A right and B wrong, A wrong and B right) and the exact two-sided
    McNemar p-value (a binomial test on the discordant pairs).

    References:
        McNemar, Note on the sampling error of the difference between correlated proportions or
        percentages, Psychometrika 1947.
    """
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return b, c, p


def compare_runs(
    store: Store, runs: list[dict[str, Any]], max_pairs: int = 10
) -> list[dict[str, Any]]:
    """For every pair of runs on the same data, per shared probe: accuracy difference, McNemar
    p-value and churn (share of examples whose predictions differ)."""
    out = []
    pairs = [
        (a, b)
        for a, b in combinations(runs, 2)
        if a["dataset"]["fingerprint"] == b["dataset"]["fingerprint"]
    ][:max_pairs]
    for a, b in pairs:
        probes_a = {p["key"] for p in a["probes"] if p.get("status") == "done"}
        probes_b = {p["key"] for p in b["probes"] if p.get("status") == "done"}
        rows = []
        for key in [p["key"] for p in a["probes"] if p["key"] in probes_a & probes_b]:
            ra, rb = store.load_records(a["id"], key), store.load_records(b["id"], key)
            if not np.array_equal(ra.example_id, rb.example_id):
                continue
            if "correct" not in ra.fields or "correct" not in rb.fields:
                continue  # not classification (rankers: report/ranking.py's paired tests)
            n_ab, n_ba, p = mcnemar_exact(ra.correct, rb.correct)
            rows.append(
                {
                    "probe": key,
                    "label": next(x["label"] for x in a["probes"] if x["key"] == key),
                    "accuracy_difference": float(ra.correct.mean() - rb.correct.mean()),
                    "only_first_correct": n_ab,
                    "only_second_correct": n_ba,
                    "p_value": p,
                    "churn": float(np.mean(ra.prediction != rb.prediction)),
                }
            )
        out.append(
            {
                "first": a["model"]["name"],
                "second": b["model"]["name"],
                "first_run": a["id"],
                "second_run": b["id"],
                "probes": rows,
            }
        )
    return out
