"""Reports from the store: versioned JSON and a self-contained HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from robustlab.report.data import REPORT_SCHEMA_VERSION, collect
from robustlab.report.html import render_html, scorecard, write_html
from robustlab.store import Store

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "collect",
    "render_html",
    "scorecard",
    "write_html",
    "write_json",
    "write_report",
]


def write_json(doc: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    return p


def write_report(
    store: Store,
    run_ids: list[str],
    out_dir: str | Path,
    *,
    id_domains: list[str] | None = None,
    union_reference: str | None = None,
) -> tuple[Path, Path]:
    """Write ``index.html`` and ``results.json`` for ``run_ids`` into ``out_dir``
    (``id_domains``: see :func:`collect`; ``union_reference``: the stored run the union probes'
    CR_ind compare to, instead of each probe's own ``reference``)."""
    out = Path(out_dir)
    doc = collect(store, run_ids, artifacts=True, id_domains=id_domains)
    from robustlab.report.summary import class_breakdown

    for run in doc["runs"]:  # per-class accuracy and confusion under the costliest probes
        run["class_breakdown"] = class_breakdown(store, run)
    from robustlab.report.training import training_section

    doc["training"] = training_section(store, [r["id"] for r in doc["runs"]])
    from robustlab.report.attacks_union import attacks_section

    doc["attacks"] = attacks_section(store, doc["runs"], reference=union_reference)
    html = write_html(doc, out / "index.html")
    # The JSON export is the same document without the pictures.
    bare = {**doc, "runs": [{k: v for k, v in r.items() if k != "artifacts"} for r in doc["runs"]]}
    bare["training"] = [{k: v for k, v in t.items() if k != "svg"} for t in doc["training"]]
    bare["attacks"] = _without_markup(doc["attacks"])
    return html, write_json(bare, out / "results.json")


def _without_markup(value: Any) -> Any:
    """``value`` with the rendered SVG and HTML (``svg``, ``table``) left out, for the JSON."""
    if isinstance(value, dict):
        return {k: _without_markup(v) for k, v in value.items() if k not in ("svg", "table")}
    if isinstance(value, list):
        return [_without_markup(v) for v in value]
    return value
