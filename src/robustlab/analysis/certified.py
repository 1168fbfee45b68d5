"""The certified-robustness gap: verified / certified accuracy <= attacked accuracy <= clean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from robustlab.analysis.axes import SUMMARY_KEY, row_axis

__all__ = ["certified_gap"]

#: Tolerance when matching the budgets of certificates and attacks.
_EPS_TOL = 1e-9


def _norm(spec: Mapping[str, Any]) -> str:
    """The norm of a probe's budget (randomized smoothing certifies L2 radii)."""
    return str(spec.get("norm", "l2" if spec.get("probe") == "certify_smoothing" else "linf"))


def certified_gap(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One point per certified probe of a run document: its certified accuracy (a lower bound
    on robust accuracy), the attacks' upper bound at the same norm and budget (the lowest
    robust accuracy of any fixed-budget adversarial probe there, the strongest ensemble
    included) and the clean accuracy, on the same examples.

    Each point has ``norm``, ``epsilon``, ``probe_key``, ``label``, ``certified``,
    ``attack`` (None without an attack at that budget), ``attack_probe``, ``clean``, and
    ``consistent``: False when a certificate exceeds an attack's accuracy or the clean accuracy
    (the bounds contradict each other: a bug or an evaluation to distrust). Sorted by norm and
    budget.
    """
    probes = {str(p["key"]): p for p in run.get("probes", ()) if "key" in p}
    rows = [r for r in run["metrics"] if r.get("probe_key") != SUMMARY_KEY]
    clean = next(
        (float(r["value"]) for r in rows if row_axis(r) == "clean" and r["metric"] == "accuracy"),
        None,
    )
    attacks: list[tuple[str, float, str, float]] = []
    for r in rows:
        spec = (probes.get(str(r["probe_key"])) or {}).get("spec") or {}
        if row_axis(r) == "adversarial" and r["metric"] == "accuracy" and spec.get("epsilon"):
            attacks.append(
                (_norm(spec), float(spec["epsilon"]), str(r["probe_key"]), float(r["value"]))
            )
    points = []
    for r in rows:
        if row_axis(r) != "certified" or r["metric"] != "certified_accuracy":
            continue
        spec = (probes.get(str(r["probe_key"])) or {}).get("spec") or {}
        norm, eps = _norm(spec), float(spec.get("epsilon", 0.0))
        same = [a for a in attacks if a[0] == norm and abs(a[1] - eps) <= _EPS_TOL]
        strongest = min(same, key=lambda a: a[3]) if same else None
        value = float(r["value"])
        upper = [v for v in (strongest[3] if strongest else None, clean) if v is not None]
        points.append(
            {
                "norm": norm,
                "epsilon": eps,
                "probe_key": r["probe_key"],
                "label": (probes.get(str(r["probe_key"])) or {}).get("label", r["probe_key"]),
                "certified": value,
                "attack": None if strongest is None else strongest[3],
                "attack_probe": None if strongest is None else strongest[2],
                "clean": clean,
                "consistent": all(value <= u + 1e-12 for u in upper),
            }
        )
    return sorted(points, key=lambda p: (p["norm"], p["epsilon"], str(p["probe_key"])))
