"""Robustness curves of a run: robust accuracy against epsilon from minimal-perturbation probes,
and accuracy against severity for every perturbation applied at several severities."""

from __future__ import annotations

from typing import Any

import numpy as np

from robustlab.analysis.axes import SUMMARY_KEY, fixed_budget, measures_size, row_axis
from robustlab.analysis.specs import perturbation_of
from robustlab.store import Store

__all__ = ["robust_accuracy_at", "robustness_curves", "severity_curves"]


def robust_accuracy_at(
    correct: np.ndarray, perturbation: np.ndarray, epsilons: np.ndarray
) -> np.ndarray:
    """Robust accuracy at each epsilon from minimal-perturbation records: an example counts if it
    was never broken (correct) or its smallest adversarial perturbation exceeds epsilon."""
    finite = np.isfinite(perturbation)
    size = np.where(finite, perturbation, -np.inf)
    return np.array([np.mean(correct | (finite & (size > e))) for e in epsilons])


def robustness_curves(store: Store, run: dict[str, Any]) -> list[dict[str, Any]]:
    """Robust accuracy vs epsilon for every minimal-perturbation probe of a run document, with
    the suite's fixed-epsilon attacks of the same norm as confirmation points."""
    curves = []
    probes = run["probes"]
    accuracy = {m["probe_key"]: m["value"] for m in run["metrics"] if m["metric"] == "accuracy"}
    for p in probes:
        if not measures_size(p.get("axis"), p.get("spec")) or p.get("status") != "done":
            continue
        # Robust accuracy of the in-distribution examples, like the confirmation points.
        records = store.load_records(run["id"], p["key"]).in_distribution()
        finite = records.perturbation[np.isfinite(records.perturbation)]
        top = float(finite.max()) * 1.05 if len(finite) else 1.0
        grid = np.linspace(0.0, top, 41)
        norm = p["spec"]["norm"]
        confirmed = [
            {
                "epsilon": float(q["spec"]["epsilon"]),
                "accuracy": accuracy[q["key"]],
                "label": q["label"],
            }
            for q in probes
            if q.get("axis") == "adversarial"
            and fixed_budget(q.get("spec"))
            and q.get("status") == "done"
            and q["spec"].get("norm") == norm
            and q["key"] in accuracy
        ]
        curves.append(
            {
                "probe": p["key"],
                "label": p["label"],
                "norm": norm,
                "epsilons": grid.tolist(),
                "robust_accuracy": robust_accuracy_at(
                    records.correct, records.perturbation, grid
                ).tolist(),
                "confirmed": confirmed,
            }
        )
    return curves


def severity_curves(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Per corruption of a run document: its accuracy at each severity, starting from the clean
    accuracy at severity 0, as ``{"perturbation", "points": [[severity, accuracy], ...]}``."""
    probes = {p["key"]: p for p in run["probes"]}
    rows = [
        m for m in run["metrics"] if m["metric"] == "accuracy" and m["probe_key"] != SUMMARY_KEY
    ]
    clean = next((m["value"] for m in rows if row_axis(m) == "clean"), None)
    points: dict[str, list[tuple[float, float]]] = {}
    for m in rows:
        if row_axis(m) != "corruptions":
            continue
        found = perturbation_of(probes[m["probe_key"]]["spec"])
        if found is None or "severity" not in found[1]:
            continue
        line = points.setdefault(found[0], [])
        if clean is not None and not line:
            line.append((0.0, clean))
        line.append((float(found[1]["severity"]), m["value"]))
    return [
        {"perturbation": name, "points": [list(p) for p in sorted(line)]}
        for name, line in points.items()
    ]
