"""Seed variance: several checkpoints of one model (same name, different weights) on the same
data and suite, summarised as mean +- std per probe and the churn between them."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

import numpy as np

from robustlab.store import Store

__all__ = ["seed_groups"]


def _family(run: dict[str, Any]) -> str:
    """The model's name without the ``@weights`` suffix that runs loaded from weight files
    carry (``digitnet@seed1.pt`` is a checkpoint of ``digitnet``)."""
    name = str(run["model"]["name"])
    weights = (run.get("environment") or {}).get("weights")
    suffix = f"@{str(weights).replace(chr(92), '/').rsplit('/', 1)[-1]}" if weights else ""
    return name[: -len(suffix)] if suffix and name.endswith(suffix) else name


def seed_groups(store: Store, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups of at least two runs of checkpoints of one model.

    References:
        Summers & Dinneen, Nondeterminism and Instability in Neural Network Optimization, 2021;
        Madhyastha & Jain, On Model Stability as a Function of Random Seed, CoNLL 2019.
    """
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        key = (_family(run), run["dataset"]["fingerprint"], run["suite"]["name"])
        if run["model"]["fingerprint"] not in {r["model"]["fingerprint"] for r in groups[key]}:
            groups[key].append(run)
    out = []
    for (name, _, suite), members in groups.items():
        if len(members) < 2:
            continue
        probes = [p for p in members[0]["probes"] if p.get("status") == "done"]
        rows = []
        for p in probes:
            found = [
                next(
                    (
                        m["value"]
                        for m in r["metrics"]
                        if m["probe_key"] == p["key"] and m["metric"] == "accuracy"
                    ),
                    None,
                )
                for r in members
            ]
            if any(a is None for a in found):
                continue
            accs = np.array(found, dtype=np.float64)
            preds = [store.load_records(r["id"], p["key"]).prediction for r in members]
            churn = [float(np.mean(a != b)) for a, b in combinations(preds, 2)]
            rows.append(
                {
                    "probe": p["key"],
                    "label": p["label"],
                    "mean": float(np.mean(accs)),
                    "std": float(np.std(accs, ddof=1)),
                    "min": float(np.min(accs)),
                    "max": float(np.max(accs)),
                    "churn": float(np.mean(churn)),
                }
            )
        out.append(
            {"model": name, "suite": suite, "runs": [r["id"] for r in members], "probes": rows}
        )
    return out
