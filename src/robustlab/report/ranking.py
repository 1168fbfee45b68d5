"""The ranking section of the report: per-task tables, per-query nDCG deltas and a rank-change
chart for each ranking run, and a leaderboard of the rankers in the report.

:func:`ranking_section` reads a run's stored records (it runs when the report document is
collected, with the store at hand); :func:`render_ranking` turns the sections into HTML.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup, escape

__all__ = [
    "TASKS",
    "ranking_leaderboard",
    "ranking_section",
    "render_ranking",
    "system_comparisons",
]

#: Wu et al.'s task of each ranking probe.
TASKS = {
    "clean": "clean",
    "ranking_variance": "1 i.i.d. variance",
    "ranking_ood": "2 OOD",
    "ranking_query_perturbation": "3a query variations",
    "ranking_attack": "3b document attacks",
}
_METRICS = ("ndcg", "mrr", "recall_at_100", "map", "precision_at_10")


def _task_of(probe: dict[str, Any]) -> str | None:
    spec = probe.get("spec") or {}
    name = str(spec.get("probe", probe.get("kind", "")))
    task = TASKS.get(name)
    if task == "2 OOD":
        comp = str(spec.get("companion", ""))
        task = "2b OOD documents" if "document" in comp else "2a OOD queries"
    return task


def ranking_section(store: Any, run: dict[str, Any], *, worst: int = 8) -> dict[str, Any] | None:
    """The ranking part of one run's report, or None when the run is not of a ranker.

    Returns per-task rows (each probe's measures with intervals, and for query variations the
    Penha class, nDCG change with its paired p-value, Kendall tau and RBO), the queries hurt
    most by each perturbation (clean vs perturbed nDCG@10), and the subset spread of task 1."""
    if (run.get("dataset") or {}).get("task") != "ranking":
        return None
    from robustlab.probes.ranking import penha_class

    cells = {(m["probe_key"], m["metric"]): m for m in run["metrics"]}
    rows: list[dict[str, Any]] = []
    deltas: list[dict[str, Any]] = []
    clean_ndcg: dict[str, float] = {}
    try:
        clean = store.load_records(run["id"], "clean")
        clean_ndcg = dict(zip(map(str, clean.example_id), map(float, clean.fields["ndcg"])))
    except Exception:  # a run without the clean probe
        clean_ndcg = {}
    spread = None
    for probe in run["probes"]:
        task = _task_of(probe)
        if task is None or probe.get("status") != "done":
            continue
        key = probe["key"]
        spec = probe.get("spec") or {}
        row: dict[str, Any] = {"task": task, "probe": probe.get("label", key), "key": key}
        for name in (*_METRICS, "ndcg_change", "kendall_tau", "rbo"):
            m = cells.get((key, name))
            if m is not None:
                row[name] = m
        if spec.get("probe") == "ranking_query_perturbation":
            row["class"] = penha_class(str(spec.get("perturbation", "")))
            change = cells.get((key, "ndcg_change"))
            row["p_value"] = ((change or {}).get("details") or {}).get("p_randomisation")
            deltas.append(_deltas(store, run["id"], key, probe.get("label", key), worst))
        if spec.get("probe") == "ranking_variance":
            spread = cells.get((key, "ndcg_subset_spread"))
        rows.append(row)
    if not rows:
        return None
    rows.sort(key=lambda r: (r["task"] != "clean", r["task"]))
    return {
        "model": run["model"]["name"],
        "run": run["id"],
        "rows": rows,
        "spread": spread,
        "deltas": [d for d in deltas if d["queries"]],
        "clean_queries": len(clean_ndcg),
        "clean_ndcg": clean_ndcg,
        "dataset": (run.get("dataset") or {}).get("fingerprint"),
    }


def _deltas(store: Any, run_id: str, key: str, label: str, worst: int) -> dict[str, Any]:
    try:
        recs = store.load_records(run_id, key)
    except Exception:
        return {"probe": label, "queries": []}
    delta = np.asarray(recs.value, dtype=np.float64)
    after = np.asarray(recs.fields["ndcg"], dtype=np.float64)
    order = np.argsort(delta, kind="stable")[:worst]
    queries = [
        {
            "query": str(recs.example_id[i]),
            "clean": float(after[i] - delta[i]),
            "perturbed": float(after[i]),
            "delta": float(delta[i]),
            "size": float(recs.perturbation[i]),
        }
        for i in order
        if np.isfinite(delta[i]) and delta[i] < 0
    ]
    return {"probe": label, "queries": queries, "hurt": int((delta < 0).sum()), "n": len(delta)}


def _change_chart(rows: list[dict[str, Any]], *, title: str) -> Markup:
    """Horizontal bars of each probe's nDCG@10 with its interval; a grey line at clean."""
    left, width, row_h, top = 260, 380, 20, 24
    shown = [r for r in rows if "ndcg" in r]
    clean = next((r["ndcg"]["value"] for r in shown if r["task"] == "clean"), None)
    height = top + row_h * len(shown) + 20
    x = lambda v: left + width * max(0.0, min(1.0, float(v)))  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {left + width + 60} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>',
    ]
    for i, r in enumerate(shown):
        y = top + i * row_h
        m = r["ndcg"]
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="11">'
            f"{escape(r['task'])}: {escape(str(r['probe']))[:34]}</text>"
            f'<rect x="{left}" y="{y + 3}" width="{x(m["value"]) - left:.1f}" height="12" '
            f'fill="#2563eb"><title>nDCG@10 {m["value"]:.3f}</title></rect>'
        )
        lo, hi = m.get("ci_low"), m.get("ci_high")
        if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
            parts.append(
                f'<line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{y + 9}" y2="{y + 9}" '
                f'stroke="#111827" stroke-width="1.5"/>'
            )
        parts.append(
            f'<text x="{x(m["value"]) + 4:.1f}" y="{y + 13}" font-size="10">{m["value"]:.3f}</text>'
        )
    if clean is not None:
        cx = x(clean)
        parts.append(
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top - 4}" y2="{height - 16}" '
            f'stroke="#64748b" stroke-dasharray="3 2"><title>clean {clean:.3f}</title></line>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def ranking_leaderboard(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rankers of the report ordered by clean nDCG@10, with their mean nDCG@10 under query
    variations, OOD queries and OOD documents (None where not measured)."""
    board = []
    for s in sections:
        by_task: dict[str, list[float]] = {}
        for r in s["rows"]:
            if "ndcg" in r:
                by_task.setdefault(r["task"].split(" ")[0], []).append(float(r["ndcg"]["value"]))

        def mean(k: str, by_task: dict[str, list[float]] = by_task) -> float | None:
            return float(np.mean(by_task[k])) if k in by_task else None

        board.append(
            {
                "model": s["model"],
                "run": s["run"],
                "clean": mean("clean"),
                "ood_queries": mean("2a"),
                "ood_documents": mean("2b"),
                "query_variations": mean("3a"),
                "document_attacks": mean("3b"),
            }
        )
    board.sort(key=lambda b: -(b["clean"] if b["clean"] is not None else -1.0))
    for i, b in enumerate(board, 1):
        b["rank"] = i
    return board


def system_comparisons(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Paired per-query comparisons of the rankers' clean nDCG@10 on the same data: mean
    difference (second minus first) with its bootstrap interval and the randomisation-test and
    paired t-test p-values (:func:`robustlab.ranking.evaluate.paired_test`)."""
    from robustlab.ranking.evaluate import paired_test

    out = []
    for i, a in enumerate(sections):
        for b in sections[i + 1 :]:
            if a.get("dataset") != b.get("dataset") or not a.get("clean_ndcg"):
                continue
            common = [q for q in a["clean_ndcg"] if q in b.get("clean_ndcg", {})]
            if len(common) < 2:
                continue
            t = paired_test(
                np.array([a["clean_ndcg"][q] for q in common]),
                np.array([b["clean_ndcg"][q] for q in common]),
            )
            out.append({"first": a["model"], "second": b["model"], **t.__dict__})
    return out


def _fmt(m: dict[str, Any] | None) -> Markup:
    if not m:
        return Markup("&ndash;")
    lo, hi = m.get("ci_low"), m.get("ci_high")
    ci = (
        f' <span class="ci">[{lo:.3f}, {hi:.3f}]</span>'
        if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi) and lo != hi
        else ""
    )
    return Markup(f"{m['value']:.3f}{ci}")


def _num(v: float | None) -> str:
    return "&ndash;" if v is None else f"{v:.3f}"


def render_ranking(sections: list[dict[str, Any]]) -> Markup:
    """HTML of the ranking sections and the rankers' leaderboard ('' without ranking runs)."""
    if not sections:
        return Markup("")
    out = ['<section id="ranking"><h2>Ranking robustness</h2>']
    out.append(
        '<p class="ci">Wu et al.\'s tasks (TOIS 2022): 1 i.i.d. variance, 2a/2b OOD queries / '
        "documents, 3a query variations (Penha et al.'s classes), 3b document attacks. Measures "
        "from ir-measures, intervals: bootstrap over queries; p: paired randomisation test of "
        "the nDCG@10 change.</p>"
    )
    board = ranking_leaderboard(sections)
    if board:
        out.append(
            "<h3>Rankers' leaderboard</h3><table><tr><th>#</th><th>ranker</th><th>clean</th>"
            "<th>OOD queries</th><th>OOD documents</th><th>query variations</th>"
            "<th>document attacks</th></tr>"
        )
        for b in board:
            out.append(
                f"<tr><td>{b['rank']}</td><td>{escape(b['model'])}</td><td>{_num(b['clean'])}"
                f"</td><td>{_num(b['ood_queries'])}</td><td>{_num(b['ood_documents'])}</td>"
                f"<td>{_num(b['query_variations'])}</td><td>{_num(b['document_attacks'])}</td></tr>"
            )
        out.append("</table>")
    pairs = system_comparisons(sections)
    if pairs:
        out.append(
            "<h3>Paired comparisons (clean nDCG@10, per query)</h3><table><tr><th>first</th>"
            "<th>second</th><th>&Delta; (second &minus; first)</th><th>95% CI</th>"
            "<th>p (randomisation)</th><th>p (t-test)</th><th>queries</th></tr>"
        )
        for c in pairs:
            out.append(
                f"<tr><td>{escape(c['first'])}</td><td>{escape(c['second'])}</td>"
                f"<td>{c['difference']:+.3f}</td><td>[{c['low']:+.3f}, {c['high']:+.3f}]</td>"
                f"<td>{c['p_randomisation']:.3g}</td><td>{c['p_ttest']:.3g}</td><td>{c['n']}</td></tr>"
            )
        out.append("</table>")
    for s in sections:
        out.append(
            f'<h3>{escape(s["model"])} <span class="ci">run {escape(s["run"][:8])}</span></h3>'
        )
        out.append(str(_change_chart(s["rows"], title=f"nDCG@10 per ranking probe: {s['model']}")))
        if s.get("spread"):
            d = s["spread"].get("details") or {}
            out.append(
                f"<p>Task 1: over random subsets of {int(d.get('subset_size', 0))} queries the mean "
                f"nDCG@10 ranges {d.get('p05', float('nan')):.3f}&ndash;{d.get('p95', float('nan')):.3f} "
                f"(5&ndash;95%), std {s['spread']['value']:.3f}.</p>"
            )
        out.append(
            "<table><tr><th>task</th><th>probe</th><th>class</th><th>nDCG@10</th><th>MRR</th>"
            "<th>R@100</th><th>MAP</th><th>P@10</th><th>&Delta; nDCG@10</th><th>p</th>"
            "<th>Kendall &tau;</th><th>RBO</th></tr>"
        )
        for r in s["rows"]:
            p = r.get("p_value")
            out.append(
                f"<tr><td>{escape(r['task'])}</td><td>{escape(str(r['probe']))}</td>"
                f"<td>{escape(r.get('class', ''))}</td>"
                + "".join(f"<td>{_fmt(r.get(k))}</td>" for k in _METRICS)
                + f"<td>{_fmt(r.get('ndcg_change'))}</td>"
                f"<td>{'' if p is None else f'{p:.3g}'}</td>"
                f"<td>{_fmt(r.get('kendall_tau'))}</td><td>{_fmt(r.get('rbo'))}</td></tr>"
            )
        out.append("</table>")
        for d in s["deltas"]:
            out.append(
                f"<details><summary>Queries hurt most by {escape(d['probe'])} ({d['hurt']} of "
                f"{d['n']} lose nDCG@10)</summary><table><tr><th>query</th><th>clean</th>"
                "<th>perturbed</th><th>&Delta;</th><th>words changed</th></tr>"
            )
            for q in d["queries"]:
                out.append(
                    f"<tr><td>{escape(q['query'])}</td><td>{q['clean']:.3f}</td>"
                    f"<td>{q['perturbed']:.3f}</td><td>{q['delta']:+.3f}</td>"
                    f"<td>{q['size']:.0%}</td></tr>"
                )
            out.append("</table></details>")
    out.append("</section>")
    return Markup("".join(out))
