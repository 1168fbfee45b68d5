"""Report section for issue 14's evaluations: union of threat models (per-member curves, worst
case, CR_ind against a reference run), adversarial sparsity, grid-confirmed minimal curves and
the stage attribution of the ``fast`` ensemble. Rendering only: it reads the store."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from robustlab.store import Store

__all__ = ["STAGES_MEDIA_TYPE", "attacks_section", "competitiveness", "union_table"]

#: Media type of the per-stage counts a ``fast`` ensemble unit stores (JSON text).
STAGES_MEDIA_TYPE = "application/vnd.robustlab.stages+json"


def _curves(levels: dict[str, Any]) -> tuple[list[list[float]], list[float]]:
    b = np.asarray(levels["broken_at"], dtype=np.int64)
    n_levels = len(levels["grids"][0])
    per = [[float((row > k).mean()) for k in range(n_levels)] for row in b]
    first = b.min(axis=0) if len(b) else np.zeros(0)
    worst = [float((first > k).mean()) if len(first) else float("nan") for k in range(n_levels)]
    return per, worst


def competitiveness(levels: dict[str, Any], reference: dict[str, Any]) -> dict[str, float | None]:
    """CR_ind-avg and CR_ind-worst of a union against a reference run's union on the same
    members: the mean over members and levels of robust accuracy over the reference's, and
    the mean over levels of the worst case over the union over the reference's (levels where
    the reference is at 0 are left out).

    References:
        Dai et al., "MultiRobustBench: benchmarking robustness against multiple attacks",
        ICML 2023 (competitiveness ratios to a reference).
    """
    per, worst = _curves(levels)
    ref_per, ref_worst = _curves(reference)
    ref_at = dict(zip(reference["members"], ref_per, strict=True))
    ratios = [
        a / r
        for name, curve in zip(levels["members"], per, strict=True)
        if name in ref_at
        for a, r in zip(curve, ref_at[name], strict=False)
        if r > 0
    ]
    worst_ratios = [a / r for a, r in zip(worst, ref_worst, strict=False) if r > 0]
    return {
        "cr_ind_avg": float(np.mean(ratios)) if ratios else None,
        "cr_ind_worst": float(np.mean(worst_ratios)) if worst_ratios else None,
    }


def union_table(entry: dict[str, Any]) -> Markup:
    """The union table: one row per member (robust accuracy per level, the strengths in each
    cell's title) and the worst case over the union."""
    n_levels = len(entry["grids"][0])
    head = "".join(f"<th>level {k + 1}</th>" for k in range(n_levels))
    rows = []
    for name, grid, curve, spent, full in zip(
        entry["members"],
        entry["grids"],
        entry["curves"],
        entry["evaluations"],
        entry["full_evaluations"],
        strict=True,
    ):
        cells = "".join(
            f'<td title="strength {g:.4g}">{v:.3f}<br><small>{g:.4g}</small></td>'
            for g, v in zip(grid, curve, strict=True)
        )
        rows.append(f"<tr><th>{escape(name)}</th>{cells}<td>{spent} / {full}</td></tr>")
    worst = "".join(f"<td><b>{v:.3f}</b></td>" for v in entry["worst_case"])
    rows.append(f"<tr><th>worst case over the union</th>{worst}<td></td></tr>")
    return Markup(
        f'<table class="union"><tr><th>member</th>{head}<th>points attacked / grid</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _histogram(values: np.ndarray, bins: int = 10) -> Markup:
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    top = max(int(counts.max()), 1) if len(counts) else 1
    w, h, bar = 300, 90, 300 / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart small" viewBox="0 0 {w} {h + 16}" '
        f'width="{w}" height="{h + 16}" role="img"><title>share of pixels needed</title>'
    ]
    for i, c in enumerate(counts):
        bh = h * c / top
        parts.append(
            f'<rect x="{i * bar + 1}" y="{h - bh}" width="{bar - 2}" height="{bh}" fill="#2563eb">'
            f"<title>{edges[i]:.1f}-{edges[i + 1]:.1f}: {int(c)}</title></rect>"
        )
    parts.append(f'<text x="0" y="{h + 13}" font-size="10">0</text>')
    parts.append(f'<text x="{w - 8}" y="{h + 13}" font-size="10">1</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _union_entries(store: Store, run: dict[str, Any], reference: str | None) -> list[dict]:
    from robustlab.probes.union import union_levels

    arts = run.get("artifacts") or store.artifacts(run["id"])
    out = []
    for p in run["probes"]:
        if (p.get("spec") or {}).get("probe") != "union" or p.get("status") != "done":
            continue
        levels = union_levels(arts, p["key"])
        if levels is None:
            continue
        per, worst = _curves(levels)
        entry: dict[str, Any] = {
            "probe": p["key"],
            "label": p["label"],
            "members": levels["members"],
            "grids": levels["grids"],
            "curves": per,
            "worst_case": worst,
            "evaluations": levels["evaluations"],
            "full_evaluations": levels["full_evaluations"],
            "elapsed_s": levels["elapsed_s"],
            "search": p["spec"].get("search", "binary"),
        }
        ref = reference or p["spec"].get("reference")
        if ref:
            entry["reference"] = ref
            try:
                ref_id = store.resolve_run(str(ref))
                ref_levels = union_levels(store.artifacts(ref_id), p["key"])
            except Exception as exc:  # a named run that is missing: say so in the report
                entry["reference_error"] = f"reference run {ref!r}: {exc}"
                ref_levels = None
            if ref_levels is not None:
                entry.update(competitiveness(levels, ref_levels))
            elif "reference_error" not in entry:
                entry["reference_error"] = (
                    f"reference run {ref!r} has no union probe {p['key']!r} (the same members "
                    f"and grids); scan it with the same suite."
                )
        entry["table"] = union_table(entry)
        out.append(entry)
    return out


def _sparsity_entries(store: Store, run: dict[str, Any]) -> list[dict]:
    out = []
    for p in run["probes"]:
        if (p.get("spec") or {}).get("probe") != "sparsity" or p.get("status") != "done":
            continue
        value = store.load_records(run["id"], p["key"]).value
        measured = value[~np.isnan(value)]
        qs = {
            str(q): float(np.quantile(measured, q)) if len(measured) else None
            for q in (0.1, 0.25, 0.5, 0.75, 0.9)
        }
        out.append(
            {
                "probe": p["key"],
                "label": p["label"],
                "n_broken": len(measured),
                "n": len(value),
                "quantiles": qs,
                "svg": _histogram(measured),
            }
        )
    return out


def _grid_entries(store: Store, run: dict[str, Any]) -> list[dict]:
    out = []
    for p in run["probes"]:
        spec = p.get("spec") or {}
        if spec.get("probe") != "minimal" or not spec.get("epsilons") or p.get("status") != "done":
            continue
        records = store.load_records(run["id"], p["key"])
        value = records.value
        grid = [float(e) for e in spec["epsilons"]]
        # value: first grid epsilon broken (NaN: robust on the grid or clean-wrong).
        clean_wrong = np.isnan(value) & ~np.isfinite(records.perturbation) & ~records.correct
        robust = [
            float(np.mean(~clean_wrong & (np.isnan(value) | (value > e + 1e-12)))) for e in grid
        ]
        out.append({"probe": p["key"], "label": p["label"], "epsilons": grid, "robust": robust})
    return out


def _stage_entries(run: dict[str, Any], store: Store) -> list[dict]:
    arts = run.get("artifacts") or store.artifacts(run["id"])
    by_probe: dict[str, dict[str, Any]] = {}
    for a in arts:
        if a.get("media_type") != STAGES_MEDIA_TYPE:
            continue
        data = json.loads(a["data"])
        entry = by_probe.setdefault(
            a["probe_key"],
            {
                "probe": a["probe_key"],
                "stages": {},
                "forward": 0,
                "backward": 0,
                "escalated": 0,
                "units": 0,
            },
        )
        for k, v in data.get("per_attack", {}).items():
            entry["stages"][k] = entry["stages"].get(k, 0) + int(v)
        entry["forward"] += int(data.get("forward_passes", 0))
        entry["backward"] += int(data.get("backward_passes", 0))
        entry["escalated"] += int(bool(data.get("escalated")))
        entry["units"] += 1
    return list(by_probe.values())


def attacks_section(
    store: Store, runs: list[dict[str, Any]], reference: str | None = None
) -> list[dict[str, Any]]:
    """Per run that measured any of them: the union entries, sparsity distributions,
    grid-confirmed minimal curves and fast-ensemble stage attribution. ``reference`` overrides
    the union probes' own ``reference`` run for CR_ind."""
    out = []
    for run in runs:
        entry = {
            "run": run["id"],
            "model": run["model"]["name"],
            "union": _union_entries(store, run, reference),
            "sparsity": _sparsity_entries(store, run),
            "grids": _grid_entries(store, run),
            "stages": _stage_entries(run, store),
        }
        if any(entry[k] for k in ("union", "sparsity", "grids", "stages")):
            out.append(entry)
    return out
