"""The self-contained HTML report: one file, inline CSS and SVG, no network fetches."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from robustlab.analysis.axes import (
    MCE_AXIS,
    SUMMARY_KEY,
    axis_definition,
    fixed_budget,
    measures_size,
    order_axes,
    row_axis,
    scorecard,
)
from robustlab.analysis.specs import perturbation_of
from robustlab.report.svg import (
    PALETTE,
    axis_chart,
    line_chart,
    metric_bars,
    reliability_diagram,
    scatter_fit,
)

__all__ = ["highlight", "render_html", "scorecard"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("robustlab", "report/templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


#: Columns of the per-run headline table; calibration, subgroups and shift have their own.
HEADLINE = (
    "accuracy",
    "nll",
    "brier",
    "ece",
    "mean_confidence",
    "median_perturbation",
    "flip_rate",
    "pass_rate",
    "reference_agreement",
)


#: Axes whose weakest probe gets a reliability diagram, after the clean probe.
RELIABILITY_AXES = ("corruptions", "adversarial", "stability")


def reliability_charts(run: dict[str, Any]) -> list[Markup]:
    """Reliability diagrams for the clean probe and the weakest probe of the corruption,
    adversarial and stability axes."""
    ece = {m["probe_key"]: m for m in run["metrics"] if m["metric"] == "ece" and m.get("details")}
    acc = {m["probe_key"]: m for m in run["metrics"] if m["metric"] == "accuracy"}
    chosen: list[str] = [k for k in ece if k in acc and row_axis(acc[k]) == "clean"][:1]
    for axis in RELIABILITY_AXES:
        keys = [k for k in ece if k in acc and row_axis(acc[k]) == axis]
        if keys:
            chosen.append(min(keys, key=lambda k: acc[k]["value"]))
    return [
        reliability_diagram(ece[k]["details"]["bins"], title=acc[k]["label"], ece=ece[k]["value"])
        for k in chosen
    ]


def scorecard_table(runs: list[dict[str, Any]], cards: list[list[dict[str, Any]]]) -> list[dict]:
    """Axis rows with one cell per run (None where a run does not measure the axis), the best
    value across runs marked when several runs measure it."""
    present = {r["axis"]: r["higher_is_better"] for card in cards for r in card}
    table = []
    for axis in order_axes(present):
        cells = [next((r for r in card if r["axis"] == axis), None) for card in cards]
        values = [c["value"] for c in cells if c is not None]
        best = (max if present[axis] else min)(values) if len(values) > 1 else None
        table.append(
            {
                "axis": axis,
                "higher_is_better": present[axis],
                "describe": axis_definition(axis).describe,
                "cells": [
                    None if c is None else {**c, "best": best is not None and c["value"] == best}
                    for c in cells
                ],
            }
        )
    return table


def _axis_chart(cards: list[list[dict[str, Any]]], series: list[str]) -> Markup | None:
    rows = [
        {**r, "series": name}
        for card, name in zip(cards, series)
        for r in card
        if r["axis"] != MCE_AXIS.name  # not on the 0-1 scale
    ]
    if not rows:
        return None
    direction = {r["axis"]: bool(r["higher_is_better"]) for r in rows}
    axes = [(a, direction[a]) for a in order_axes(direction)]
    return axis_chart(rows, axes, series, title="Scorecard: one headline number per axis")


#: Media types the report shows as pictures; anything else stored as an image is left out.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

#: Media type of stored text examples (JSON text, not base64).
TEXT_MEDIA_TYPE = "application/vnd.robustlab.text+json"

_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def image_src(art: dict[str, Any]) -> str | None:
    """A ``data:`` URL for an image artifact, or None if it is not a well-formed stored image."""
    data = str(art.get("data", ""))
    if art.get("media_type") not in IMAGE_TYPES or not _BASE64.fullmatch(data):
        return None
    return f"data:{art['media_type']};base64,{data}"


def class_name(index: Any, names: list[str] | None) -> str:
    """``3`` or ``3 (cat)`` when the dataset names its classes differently from their index."""
    try:
        i = int(index)
    except (TypeError, ValueError):
        return str(index)
    if names and 0 <= i < len(names) and str(names[i]) != str(i):
        return f"{i} ({names[i]})"
    return str(i)


def worst_examples(run: dict[str, Any], per_probe: int = 4) -> list[dict[str, Any]]:
    """Per image probe, the stored misclassified examples with the highest loss across shards,
    highest first, with true and predicted labels."""
    names = run["dataset"].get("class_names")
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for art in run.get("artifacts", []):
        meta = art.get("meta") or {}
        src = image_src(art)
        if meta.get("role") != "worst" or src is None:
            continue
        found[art["probe_key"]].append(
            {
                "src": src,
                "example_id": str(meta.get("example_id", "")),
                "target": class_name(meta.get("target"), names),
                "prediction": class_name(meta.get("prediction"), names),
                "confidence": float(meta.get("confidence", float("nan"))),
                "loss": float(meta.get("loss", float("nan"))),
                "domain": meta.get("domain"),
            }
        )
    return [
        {
            "key": p["key"],
            "label": p["label"],
            "kind": p["kind"],
            "items": sorted(found[p["key"]], key=lambda e: -e["loss"])[:per_probe],
        }
        for p in run["probes"]
        if found.get(p.get("key", ""))
    ]


def highlight(text: str, edits: Any) -> tuple[Markup, str | None]:
    """``text`` escaped, with the character spans ``[[start, end], ...]`` of ``edits`` wrapped
    in ``<mark>`` (an empty span marks a deletion point). Returns the markup and, for malformed
    spans, why the text is shown without highlighting."""
    spans: list[tuple[int, int]] = []
    for edit in edits or []:
        ok = isinstance(edit, (list, tuple)) and len(edit) == 2
        ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in edit)
        if not ok:
            return escape(text), f"edit {edit!r} is not a [start, end] pair of character offsets"
        start, end = edit
        if not 0 <= start <= end <= len(text):
            return escape(text), (
                f"edit [{start}, {end}] lies outside the perturbed text of {len(text)} characters"
            )
        spans.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        last = merged[-1] if merged else None
        # overlapping or touching edits read as one; a deletion point stays its own mark
        touching = last is not None and start == last[1] and last[1] > last[0] and end > start
        if last is not None and (start < last[1] or touching):
            last[1] = max(last[1], end)
        else:
            merged.append([start, end])
    out, pos = Markup(""), 0
    for start, end in merged:
        out += escape(text[pos:start])
        if end == start:
            out += Markup('<mark class="cut" title="text removed here">‸</mark>')
        else:
            out += Markup("<mark>") + escape(text[start:end]) + Markup("</mark>")
        pos = end
    return out + escape(text[pos:]), None


def text_examples(run: dict[str, Any], per_probe: int = 6) -> list[dict[str, Any]]:
    """Per text probe, its stored examples (failures first): the original, the perturbed text
    with the edits highlighted, and the labels before and after."""
    names = run["dataset"].get("class_names")
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for art in run.get("artifacts", []):
        if art.get("media_type") != TEXT_MEDIA_TYPE:
            continue
        try:
            ex = json.loads(art["data"])
            if not isinstance(ex, dict):
                raise TypeError("not a JSON object")
            original, perturbed = str(ex["original"]), str(ex["perturbed"])
        except (TypeError, ValueError, KeyError) as exc:
            found[art["probe_key"]].append(
                {"problem": f"stored text example {art.get('name')!r} is malformed: {exc}"}
            )
            continue
        marked, problem = highlight(perturbed, ex.get("edits"))
        target, before, after = (
            ex.get(k) for k in ("target", "prediction", "perturbed_prediction")
        )
        found[art["probe_key"]].append(
            {
                "example_id": str((art.get("meta") or {}).get("example_id", "")),
                "original": original,
                "perturbed": marked,
                "same": original == perturbed,
                "problem": problem,
                "target": class_name(target, names),
                "prediction": class_name(before, names),
                "perturbed_prediction": class_name(after, names),
                "changed": before != after,
                "wrong": after != target,
                "failed": ex["passed"] is not True
                if "passed" in ex
                else before != after or after != target,
                "kind": str(ex.get("kind", "")),
                "note": str(ex.get("note", "")),
            }
        )
    out = []
    for p in run["probes"]:
        items = found.get(p.get("key", ""), [])
        if items:
            ordered = sorted(items, key=lambda e: not e.get("failed"))
            out.append(
                {
                    "key": p["key"],
                    "label": p["label"],
                    "kind": p["kind"],
                    "items": ordered[:per_probe],
                    "total": len(items),
                }
            )
    return out


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def run_metadata(run: dict[str, Any]) -> list[tuple[str, str]]:
    """What, where and when a run measured, as ``(label, text)`` rows for the report."""
    env = dict(run.get("environment") or {})
    model, data, suite = run["model"], run["dataset"], run["suite"]

    def take(*keys: str) -> list[str]:
        return [f"{k} {env.pop(k)}" for k in keys if env.get(k) is not None]

    rows = [
        (
            "Model",
            f"{model['name']} · {model.get('adapter', '?')} · {model.get('num_classes', '?')} "
            f"classes · bounds {model.get('bounds')} · fingerprint {model['fingerprint']}",
        ),
        (
            "Dataset",
            f"{data['name']} · {data.get('size', '?')} examples · {data.get('kind', '?')} · "
            f"fingerprint {data['fingerprint']}",
        ),
        ("Suite", f"{suite['name']} v{suite['version']}"),
        ("Seed", f"{run['seed']} (shard size {run['shard_size']})"),
        ("Started", str(run["created_at"])),
        (
            "Finished",
            str(run.get("finished_at")) if run.get("finished_at") else f"no ({run['status']})",
        ),
    ]
    if run.get("duration_seconds") is not None:
        rows.append(("Duration", f"{_duration(run['duration_seconds'])} wall clock"))
    if run.get("compute_seconds") is not None:
        rows.append(("Compute", f"{_duration(run['compute_seconds'])} in the probes"))
    versions = take("robustlab", "torch", "numpy", "python")
    if versions:
        rows.append(("Versions", " · ".join(versions)))
    machine = [str(env.pop(k)) for k in ("platform", "machine") if env.get(k) is not None]
    machine += take("cpus", "cpu", "device", "gpu", "cuda")
    if machine:
        rows.append(("Machine", " · ".join(machine)))
    if env.get("git_revision"):
        rows.append(("Code revision", str(env.pop("git_revision"))))
    argv = env.pop("argv", None)
    if argv:
        rows.append(("Command", " ".join(map(str, argv))))
    env.pop("started_at", None)  # the run's own start time is shown above
    env.pop("undefined_summaries", None)  # shown in the summaries table
    env.pop("undefined_metrics", None)  # shown above the metrics table
    owner = env.pop("owner", None)
    if isinstance(owner, dict):
        rows.append(
            (
                "Process",
                f"pid {owner.get('pid')} on {owner.get('host')} · last heartbeat "
                f"{owner.get('heartbeat')}",
            )
        )
    rows.extend((k, str(v)) for k, v in env.items() if v is not None)
    return rows


def severity_curves(runs: list[dict[str, Any]], series: list[str]) -> list[dict[str, Any]]:
    """Per corruption: accuracy at each severity (0 = clean) for every run, for small multiples
    (the runs' ``severity_curves`` from the analysis)."""
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for run, name in zip(runs, series):
        for c in run.get("severity_curves", []):
            lines = curves.setdefault(c["perturbation"], {})
            lines[name] = [(float(x), float(y)) for x, y in c["points"]]
    return [{"title": title, "lines": lines} for title, lines in curves.items()]


def robustness_curves(runs: list[dict[str, Any]], series: list[str]) -> list[dict[str, Any]]:
    """Robust accuracy vs epsilon per minimal-perturbation probe, one line per run, with the
    fixed-epsilon attacks as markers."""
    charts: dict[str, dict[str, Any]] = {}
    for run, name in zip(runs, series):
        for c in run.get("robustness_curves", []):
            chart = charts.setdefault(c["label"], {"title": c["label"], "lines": {}, "markers": {}})
            chart["lines"][name] = list(zip(c["epsilons"], c["robust_accuracy"]))
            chart["markers"][name] = [(p["epsilon"], p["accuracy"]) for p in c["confirmed"]]
    return list(charts.values())


def gallery_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The first example under every probe of a run: rows per corruption (columns = severity),
    and one row for the clean image and the adversarial ones; cells map a caption to the
    picture's ``data:`` URL."""
    probes = {p["key"]: p for p in run["probes"]}
    rows: dict[str, dict[str, Any]] = {}
    for art in run.get("artifacts", []):
        meta = art.get("meta") or {}
        probe = probes.get(art["probe_key"])
        src = image_src(art)
        if probe is None or src is None or meta.get("index") != 0:
            continue
        if meta.get("role", "gallery") != "gallery":
            continue
        found = perturbation_of(probe["spec"]) if probe.get("axis") == "corruptions" else None
        if found is not None and "severity" in found[1]:
            row = rows.setdefault(found[0], {"title": found[0], "cells": {}, "place": 1})
            row["cells"][f"severity {found[1]['severity']}"] = src
        else:
            # one row per family of probes (the kind label), the clean image first and the
            # fixed-budget adversarial images last
            place = 0 if probe.get("axis") == "clean" else 1
            if probe.get("axis") == "adversarial" and fixed_budget(probe["spec"]):
                place = 2
            kind = str(probe["kind"])
            row = rows.setdefault(f"_{kind}", {"title": kind, "cells": {}, "place": place})
            row["cells"][probe["label"]] = src
    ordered = sorted(rows.values(), key=lambda r: r.pop("place"))
    for row in ordered:
        row["cells"] = dict(sorted(row["cells"].items()))
    return ordered


def _subnav(run: dict[str, Any], parts: dict[str, Any]) -> list[tuple[str, str]]:
    """Anchors of the sub-sections a run's part of the report has, in page order."""
    metrics = {m["metric"] for m in run["metrics"]}
    summaries = any(m["probe_key"] == SUMMARY_KEY for m in run["metrics"]) or bool(
        run.get("undefined_summaries")
    )
    present = [
        ("probes", "Results per probe", True),
        ("summaries", "Summaries", summaries),
        ("calibration", "Calibration", bool(parts["reliability"])),
        ("subgroups", "Subgroups", "worst_class_accuracy" in metrics),
        ("shift", "Shift", "ood_accuracy" in metrics),
        ("gallery", "Gallery", bool(parts["gallery"])),
        ("worst", "Worst examples", bool(parts["worst"])),
        ("texts", "Text examples", bool(parts["texts"])),
        ("tabular", "Tabular", bool(parts.get("tabular"))),
        ("warnings", f"Warnings ({len(run['warnings'])})", bool(run["warnings"])),
        ("metadata", "Metadata", True),
    ]
    return [(anchor, title) for anchor, title, shown in present if shown]


def render_html(doc: dict[str, Any]) -> str:
    from robustlab import __version__
    from robustlab.report.ranking import render_ranking

    runs = doc["runs"]
    series = []
    for run in runs:
        name = run["model"]["name"]
        series.append(name if name not in series else f"{name} ({run['id'][:6]})")
    sizes = {run["id"]: _size_probes(run) for run in runs}
    chart_rows = [
        {**m, "series": s}
        for run, s in zip(runs, series)
        for m in run["metrics"]
        if m["metric"] == "accuracy"
        and m["probe_key"] != SUMMARY_KEY
        and m["probe_key"] not in sizes[run["id"]]
    ]
    metric_columns = {
        run["id"]: [
            name
            for name in HEADLINE
            if any(m["metric"] == name and m["probe_key"] != SUMMARY_KEY for m in run["metrics"])
        ]
        for run in runs
    }
    cells = {run["id"]: {(m["probe_key"], m["metric"]): m for m in run["metrics"]} for run in runs}
    cards = [run["scorecard"] for run in runs]
    parts = {
        run["id"]: {
            "reliability": reliability_charts(run),
            "gallery": gallery_rows(run),
            "worst": worst_examples(run),
            "texts": text_examples(run),
            "tabular": _tabular(run),
        }
        for run in runs
    }
    from robustlab.report.summary import summary_section

    return _ENV.get_template("report.html.j2").render(
        doc=doc,
        version=__version__,
        summary=summary_section(doc, series),
        size_probes=sizes,
        scorecard_rows=scorecard_table(runs, cards),
        axis_summary=_axis_chart(cards, series),
        accuracy_chart=(
            metric_bars(chart_rows, series, title="Accuracy per probe") if chart_rows else None
        ),
        curves=[
            {**c, "svg": line_chart(c["lines"], series, title=c["title"])}
            for c in severity_curves(runs, series)
        ],
        galleries={k: v["gallery"] for k, v in parts.items()},
        reliability={k: v["reliability"] for k, v in parts.items()},
        worst={k: v["worst"] for k, v in parts.items()},
        texts={k: v["texts"] for k, v in parts.items()},
        tabular={k: v["tabular"] for k, v in parts.items()},
        metadata={run["id"]: run_metadata(run) for run in runs},
        subnav={run["id"]: _subnav(run, parts[run["id"]]) for run in runs},
        effective=[
            {
                **er,
                "svg": scatter_fit(
                    er,
                    {r["id"] for r in runs},
                    {r["id"]: PALETTE[i % len(PALETTE)] for i, r in enumerate(runs)},
                )
                if er["defined"]
                else None,
            }
            for er in doc.get("effective_robustness", {}).values()
        ],
        effective_multi=list(doc.get("effective_robustness_multi_id", {}).values()),
        robustness=[
            {
                **c,
                "svg": line_chart(
                    c["lines"],
                    series,
                    title=c["title"],
                    x_label="epsilon",
                    markers=c["markers"],
                    dots=False,
                ),
            }
            for c in robustness_curves(runs, series)
        ],
        certified_gaps=_certified_gaps(runs),
        ranking=render_ranking([run["ranking"] for run in runs if run.get("ranking")]),
        training=doc.get("training", []),
        attacks=doc.get("attacks", []),
        series=series,
        palette=PALETTE,
        metric_columns=metric_columns,
        cells=cells,
        summaries={
            run["id"]: [m for m in run["metrics"] if m["probe_key"] == SUMMARY_KEY] for run in runs
        },
        minimal={
            run["id"]: [
                m
                for m in run["metrics"]
                if m["metric"] == "median_perturbation" and m["probe_key"] in sizes[run["id"]]
            ]
            for run in runs
        },
    )


def _tabular(run: dict[str, Any]) -> dict[str, Any] | None:
    """The run's tabular section (:mod:`robustlab.report.tabular`)."""
    from robustlab.report.tabular import tabular_section

    return tabular_section(run)


def _certified_gaps(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The certified-gap chart of each run with certificates."""
    from robustlab.analysis.certified import certified_gap
    from robustlab.report.certified import gap_chart

    out = []
    for run in runs:
        points = certified_gap(run)
        if points:
            title = f"Certified gap of {run['model']['name']}"
            out.append({"run": run, "points": points, "svg": gap_chart(points, title=title)})
    return out


def _size_probes(run: dict[str, Any]) -> set[str]:
    """Keys of the run's minimal-perturbation probes (their accuracy is no headline number)."""
    return {p["key"] for p in run["probes"] if measures_size(p.get("axis"), p.get("spec"))}


def write_html(doc: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(doc), encoding="utf-8")
    return p
