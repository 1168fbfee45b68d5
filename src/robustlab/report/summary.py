"""The report's first screen: per run, the weakest robustness axes and what each costs in
accuracy, what to try next, and per-class accuracy and a confusion matrix under the
perturbations that hurt most."""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup, escape

from robustlab.analysis.axes import SUMMARY_KEY, measures_size, row_axis

__all__ = ["class_breakdown", "summary_section", "weakest_axes", "what_to_try"]

#: What to try when an axis is weak: one pointer per axis (the scorecard's axis names).
ADVICE = {
    "corruptions": (
        "train with augmentations that cover them (AugMix, Hendrycks et al. 2020; Gaussian "
        "noise; the corruption family that costs most first) and re-scan"
    ),
    "adversarial": (
        "adversarial training (PGD-AT, Madry et al. 2018; TRADES; `robustlab train` recipes), "
        "and read this run's attack warnings before trusting any robust accuracy"
    ),
    "stability": (
        "train on small translations and noise (consistency regularisation) so that "
        "predictions stop flipping between neighbouring frames"
    ),
    "shift": (
        "add data from the shifted domain, or compare effective robustness with models "
        "trained differently (the line, not the raw drop, says whether the model is robust)"
    ),
    "subgroups": (
        "reweight or resample the worst group (group DRO, Sagawa et al. 2020) and check its labels"
    ),
    "calibration": (
        "fit a temperature on held-out data (Guo et al. 2017); calibration under shift needs "
        "it refitted per domain"
    ),
    "text perturbations": "augment with the transformations that cost most (typos, synonyms)",
    "text attacks": "adversarial data augmentation with the attacks' own edits",
    "behaviour": "add CheckList-style cases of the failing capability to the training data",
}


def _accuracy_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    sizes = {p["key"] for p in run["probes"] if measures_size(p.get("axis"), p.get("spec"))}
    return [
        m
        for m in run["metrics"]
        if m["metric"] == "accuracy"
        and m["probe_key"] != SUMMARY_KEY
        and m["probe_key"] not in sizes
    ]


def weakest_axes(run: dict[str, Any], limit: int = 3) -> list[dict[str, Any]]:
    """The axes (higher is better) whose headline number falls furthest below clean accuracy,
    worst first, with what each costs (clean − axis, in accuracy) and its weakest probe."""
    card = {r["axis"]: r for r in run.get("scorecard", [])}
    clean = card.get("clean")
    if clean is None:
        return []
    rows = _accuracy_rows(run)
    out = []
    for axis, r in card.items():
        if axis == "clean" or not r.get("higher_is_better", True):
            continue
        value = float(r["value"])
        if not 0.0 <= value <= 1.0:
            continue
        probes = [m for m in rows if row_axis(m) == axis]
        worst = min(probes, key=lambda m: m["value"]) if probes else None
        out.append(
            {
                "axis": axis,
                "value": value,
                "cost": float(clean["value"]) - value,
                "worst_probe": None if worst is None else worst["label"],
                "worst_key": None if worst is None else worst["probe_key"],
                "worst_value": None if worst is None else float(worst["value"]),
            }
        )
    out.sort(key=lambda a: -a["cost"])
    return [a for a in out if a["cost"] > 0][:limit]


def what_to_try(run: dict[str, Any], weak: list[dict[str, Any]]) -> list[str]:
    """Pointers for the next step, most useful first."""
    tips: list[str] = []
    card = {r["axis"]: r for r in run.get("scorecard", [])}
    clean = card.get("clean")
    classes = run["model"].get("num_classes") or run["dataset"].get("num_classes")
    if clean is not None and classes and float(clean["value"]) < 1.5 / float(classes):
        tips.append(
            "Clean accuracy is near chance: check the input normalisation (--mean/--std), the "
            "--bounds, the image mode and the class order (--classes) before reading any "
            "robustness number."
        )
    if run.get("warnings"):
        codes = ", ".join(sorted({str(w.get("code")) for w in run["warnings"]}))
        tips.append(
            f"Read the evaluation warnings first ({codes}): they say which numbers to distrust."
        )
    for a in weak:
        advice = ADVICE.get(a["axis"])
        if advice:
            where = f" (weakest: {a['worst_probe']})" if a["worst_probe"] else ""
            tips.append(f"{a['axis'].capitalize()}{where}: {advice}.")
    measured = set(card)
    if run["suite"]["name"] == "quick" and "stability" not in measured:
        tips.append(
            "This was the quick suite: `--suite standard-cpu` measures every axis on a CPU "
            "(`robustlab list suites` gives each suite's expected time; `--estimate` times it "
            "on your model first)."
        )
    if run.get("undefined_metrics"):
        tips.append(
            "Some suite metrics were not computed (see the run's section); add the data they "
            "need, e.g. a group column for subgroup metrics."
        )
    return tips


def class_breakdown(store: Any, run: dict[str, Any], limit: int = 3) -> dict[str, Any] | None:
    """Per-class accuracy on the clean data and under the weakest probe of each weak axis, and
    the confusion matrix (true class × predicted class counts) under the weakest of them;
    in-distribution examples only. None for runs without class predictions."""
    rows = _accuracy_rows(run)
    clean = [m for m in rows if row_axis(m) == "clean"]
    keys = [(m["probe_key"], m["label"]) for m in clean[:1]]
    for a in weakest_axes(run, limit):
        if a["worst_key"] and a["worst_key"] not in {k for k, _ in keys}:
            keys.append((a["worst_key"], a["worst_probe"]))
    if not keys:
        return None
    names = run["dataset"].get("class_names")
    k = int(run["model"].get("num_classes") or run["dataset"].get("num_classes") or 0)
    columns = []
    for key, label in keys:
        try:
            records = store.load_records(run["id"], key).in_distribution()
            target = np.asarray(records.target, dtype=np.int64)
            pred = np.asarray(records.prediction, dtype=np.int64)
        except (AttributeError, KeyError, ValueError, TypeError):
            return None
        if len(target) == 0:
            continue
        k = max(k, int(target.max()) + 1, int(pred.max()) + 1)
        columns.append({"key": key, "label": label, "target": target, "prediction": pred})
    if not columns or k < 2:
        return None
    classes = [
        str(names[i]) if names and i < len(names) and str(names[i]) != str(i) else str(i)
        for i in range(k)
    ]
    for c in columns:
        t, p = c.pop("target"), c.pop("prediction")
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (t, p), 1)
        totals = matrix.sum(axis=1)
        c["accuracy"] = [
            None if totals[i] == 0 else float(matrix[i, i] / totals[i]) for i in range(k)
        ]
        c["n"] = [int(v) for v in totals]
        c["matrix"] = matrix.tolist()
    worst = columns[1] if len(columns) > 1 else columns[0]  # the costliest probe
    return {"classes": classes, "columns": columns, "confusion": worst}


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def _breakdown_html(b: dict[str, Any]) -> Markup:
    classes, columns, conf = b["classes"], b["columns"], b["confusion"]
    head = "".join(f'<th class="num name">{escape(c["label"])}</th>' for c in columns)
    body = []
    for i, name in enumerate(classes):
        cells = []
        base = columns[0]["accuracy"][i]
        for j, c in enumerate(columns):
            v = c["accuracy"][i]
            if v is None:
                cells.append('<td class="num ci">–</td>')
                continue
            drop = "" if j == 0 or base is None else f' <span class="ci">({_pct(v - base)})</span>'
            cells.append(f'<td class="num">{_pct(v)}%{drop}</td>')
        body.append(f"<tr><td>{escape(name)}</td>{''.join(cells)}</tr>")
    per_class = (
        '<table class="per-class-accuracy"><thead><tr><th>Class</th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    matrix = conf["matrix"]
    if len(classes) > 20:
        return Markup(
            per_class + f'<p class="ci">{len(classes)} classes: the confusion matrix is left out '
            f"(more than 20); the JSON export has it.</p>"
        )
    top = max((v for r in matrix for v in r), default=1) or 1
    rows = []
    for i, name in enumerate(classes):
        total = sum(matrix[i]) or 1
        cells = []
        for j, v in enumerate(matrix[i]):
            shade = 0.08 + 0.85 * v / top if v else 0.0
            hue = "22,163,74" if i == j else "220,38,38"
            style = f' style="background: rgba({hue},{shade:.2f})"' if v else ""
            tip = f"true {name}, predicted {classes[j]}: {v} ({_pct(v / total)}% of the class)"
            cells.append(f'<td class="num"{style} title="{escape(tip)}">{v or ""}</td>')
        rows.append(f'<tr><th class="row">{escape(name)}</th>{"".join(cells)}</tr>')
    header = "".join(f'<th class="num">{escape(c)}</th>' for c in classes)
    confusion = (
        f"<h4>Confusion matrix under {escape(conf['label'])}</h4>"
        '<p class="ci">Rows: true class; columns: predicted class; counts of in-distribution '
        "examples. Green: correct; red: mistakes (darker = more).</p>"
        '<table class="confusion"><thead><tr><th>true \\ predicted</th>'
        f"{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return Markup(per_class + confusion)


def summary_section(doc: dict[str, Any], series: list[str]) -> Markup:
    """The report's summary section (an empty string without runs)."""
    runs = doc.get("runs", [])
    if not runs:
        return Markup("")
    parts = [
        '<section id="summary"><h2>Summary</h2><p class="ci">The weakest robustness axes of '
        "each run, by how much accuracy each costs against clean accuracy (the axis's headline "
        "number, in accuracy points), and what to try next.</p>"
    ]
    for run, name in zip(runs, series):
        weak = weakest_axes(run)
        card = {r["axis"]: r for r in run.get("scorecard", [])}
        clean = card.get("clean")
        parts.append(f'<div class="run-summary"><h3>{escape(name)}</h3>')
        if clean is not None:
            parts.append(f"<p>Clean accuracy <strong>{_pct(float(clean['value']))}%</strong>.")
        else:
            parts.append("<p>No clean accuracy measured.")
        if weak:
            parts.append(' Weakest axes:</p><ol class="weakest">')
            for a in weak:
                probe = (
                    f" — worst probe {escape(a['worst_probe'])} at {_pct(a['worst_value'])}%"
                    if a["worst_probe"]
                    else ""
                )
                parts.append(
                    f"<li><strong>{escape(a['axis'])}</strong>: {_pct(a['value'])}%, costs "
                    f'<span class="cost">{_pct(a["cost"])} points</span> of accuracy{probe}</li>'
                )
            parts.append("</ol>")
        else:
            parts.append(" No axis costs accuracy against clean.</p>")
        lower = [
            r
            for axis, r in card.items()
            if not r.get("higher_is_better", True) and 0.0 <= float(r["value"]) <= 1.0
        ]
        if lower:
            parts.append(
                '<p class="ci">Lower is better: '
                + "; ".join(f"{escape(r['axis'])} {float(r['value']):.3f}" for r in lower)
                + ".</p>"
            )
        tips = what_to_try(run, weak)
        if tips:
            parts.append('<h4>What to try next</h4><ul class="next">')
            parts += [f"<li>{escape(t)}</li>" for t in tips]
            parts.append("</ul>")
        breakdown = run.get("class_breakdown")
        if breakdown:
            parts.append(
                f"<details{' open' if len(runs) == 1 else ''}><summary>Per-class accuracy under "
                "perturbation (%; in brackets the change from clean) and the confusion "
                "matrix</summary>"
            )
            parts.append(str(_breakdown_html(breakdown)))
            parts.append("</details>")
        parts.append("</div>")
    parts.append("</section>")
    return Markup("".join(parts))
