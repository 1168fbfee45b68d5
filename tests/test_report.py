"""Tests of the report (JSON and self-contained HTML) and of ScanResult, on real stored scans."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from markupsafe import Markup

import robustlab
from helpers_core import CLEAN_SUITE, TinyLinear, fit_logreg
from robustlab.data import load_digits
from robustlab.errors import ConfigError
from robustlab.models import SklearnModel, TorchModel
from robustlab.report import (
    REPORT_SCHEMA_VERSION,
    collect,
    render_html,
    scorecard,
    write_json,
    write_report,
)
from robustlab.report.svg import metric_bars
from robustlab.result import ScanResult
from robustlab.store import Store

XSS = "<script>alert(1)</script>"
SVG_NS = "http://www.w3.org/2000/svg"
NAN = float("nan")


@pytest.fixture(scope="module")
def test_data():
    return load_digits("test")


@pytest.fixture(scope="module")
def lr_estimator():
    return fit_logreg()


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, test_data, lr_estimator) -> dict[str, Any]:
    """A store holding two real runs: a logistic regression and a tiny torch model."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('report')}/s.db")
    lr = SklearnModel(lr_estimator, modality="image", bounds=(0.0, 1.0), name="digits-logreg")
    tiny = TorchModel(TinyLinear(), num_classes=10, name="tiny-linear")
    results = [
        robustlab.scan(m, test_data, CLEAN_SUITE, store=store, progress=False) for m in (lr, tiny)
    ]
    return {"store": store, "results": results, "models": (lr, tiny)}


@pytest.fixture(scope="module")
def xss_run(tmp_path_factory, test_data, lr_estimator) -> ScanResult:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('xss')}/s.db")
    model = SklearnModel(lr_estimator, modality="image", bounds=(0.0, 1.0), name=XSS)
    return robustlab.scan(model, test_data, CLEAN_SUITE, store=store, progress=False)


def _run_ids(scanned: dict[str, Any]) -> list[str]:
    return [r.run_id for r in scanned["results"]]


def _without_generated_at(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "generated_at"}


def _direct_accuracy(model, data) -> float:
    pred = model.predict_proba(data.inputs).argmax(dim=1).numpy()
    return float(np.mean(pred == data.targets))


# -- collect -----------------------------------------------------------------------------------


def test_collect_document_layout(scanned) -> None:
    doc = collect(scanned["store"], _run_ids(scanned))
    assert doc["schema"] == "robustlab.report"
    assert doc["schema_version"] == 1 == REPORT_SCHEMA_VERSION
    assert doc["store"] == scanned["store"].url
    assert isinstance(doc["generated_at"], str)
    assert [r["id"] for r in doc["runs"]] == _run_ids(scanned)
    names = [r["model"]["name"] for r in doc["runs"]]
    assert names == ["digits-logreg", "tiny-linear"]
    for run in doc["runs"]:
        assert run["status"] == "complete"
        assert run["dataset"]["name"] == "digits-test" and run["dataset"]["size"] == 539
        assert run["suite"] == {"name": "t", "version": 1, "description": ""}
        assert [p["key"] for p in run["probes"]] == ["clean"]
        assert run["probes"][0]["status"] == "done"
        assert run["warnings"] == []
        metrics = {m["metric"]: m for m in run["metrics"]}
        assert {"accuracy", "nll", "brier", "mean_confidence"} <= set(metrics)
        for m in run["metrics"]:
            assert m["label"] == "clean" and m["kind"] == "clean"
            assert m["probe_key"] == "clean"
            assert m["ci_low"] <= m["value"] <= m["ci_high"]
            assert m["n"] == 539
            assert isinstance(m["higher_is_better"], bool)
        assert metrics["accuracy"]["method"] == "clopper-pearson"


def test_collect_accuracy_matches_the_models_predictions(scanned, test_data) -> None:
    doc = collect(scanned["store"], _run_ids(scanned))
    for run, model in zip(doc["runs"], scanned["models"]):
        acc = next(m for m in run["metrics"] if m["metric"] == "accuracy")
        assert acc["value"] == pytest.approx(_direct_accuracy(model, test_data), abs=1e-12)


def test_json_round_trips(scanned, tmp_path: Path) -> None:
    doc = collect(scanned["store"], _run_ids(scanned))
    path = write_json(doc, tmp_path / "sub" / "results.json")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == doc
    result = scanned["results"][0]
    exported = json.loads(result.to_json(tmp_path / "one.json").read_text(encoding="utf-8"))
    expected = collect(scanned["store"], [result.run_id])
    assert _without_generated_at(exported) == _without_generated_at(expected)


def test_write_report_writes_both_files(scanned, tmp_path: Path) -> None:
    html, js = write_report(scanned["store"], _run_ids(scanned), tmp_path / "out")
    assert html == tmp_path / "out" / "index.html" and html.is_file()
    assert js == tmp_path / "out" / "results.json" and js.is_file()
    assert len(json.loads(js.read_text())["runs"]) == 2


# -- HTML --------------------------------------------------------------------------------------


def _assert_self_contained(html: str) -> None:
    assert "<script src" not in html.lower()
    assert "<link" not in html.lower()
    urls = re.findall(r"https?://[^\s\"'<>)]*", html)
    assert set(urls) <= {SVG_NS}, urls


def test_html_is_self_contained_and_shows_results(scanned) -> None:
    doc = collect(scanned["store"], _run_ids(scanned))
    html = render_html(doc)
    _assert_self_contained(html)
    assert SVG_NS in html
    assert html.count("<svg") >= 2  # the accuracy chart and the clean reliability diagram
    assert "Reliability diagram: clean" in html
    for run in doc["runs"]:
        assert run["model"]["name"] in html
        acc = next(m for m in run["metrics"] if m["metric"] == "accuracy")
        assert f"{acc['value']:.4f}" in html
        assert f"[{acc['ci_low']:.4f}, {acc['ci_high']:.4f}]" in html
        assert f'id="run-{run["id"]}"' in html


def test_scan_result_to_html(scanned, tmp_path: Path, test_data) -> None:
    result = scanned["results"][0]
    html = result.to_html(tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert "<svg" in html
    assert "digits-logreg" in html
    assert f"{_direct_accuracy(scanned['models'][0], test_data):.4f}" in html
    assert "<title>RobustLab report: digits-logreg</title>" in html


def test_model_name_is_escaped_in_html_and_svg(xss_run) -> None:
    html = render_html(collect(xss_run.store, [xss_run.run_id]))
    assert XSS not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<script" not in svg.lower()
    assert "&lt;script&gt;" in svg
    _assert_self_contained(html)


def test_metric_bars_escape_labels_and_series() -> None:
    rows = [{"label": "<b>x</b>", "series": "s&t", "value": 0.5, "ci_low": 0.4, "ci_high": 0.6}]
    svg = str(metric_bars(rows, ["s&t"], title="<T>"))
    assert svg.startswith(f'<svg xmlns="{SVG_NS}"')
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "s&amp;t" in svg and "s&t" not in svg
    assert "<title>&lt;T&gt;</title>" in svg
    # the bar spans half of the 780-pixel axis that starts at x=240
    assert 'x="240" y="' in svg and 'width="390.0"' in svg


def test_run_metadata_shows_versions_times_and_machine(scanned) -> None:
    import platform

    from robustlab.report.html import _duration, run_metadata

    doc = collect(scanned["store"], _run_ids(scanned))
    run = doc["runs"][0]
    units = scanned["store"].units(run["id"])
    assert run["finished_at"] == run["updated_at"]  # a complete run
    assert run["duration_seconds"] >= 0 and run["compute_seconds"] > 0
    assert run["compute_seconds"] == pytest.approx(sum(u["seconds"] for u in units))
    rows = dict(run_metadata(run))
    assert rows["Versions"] == (
        f"robustlab {robustlab.__version__} · torch {torch.__version__} · "
        f"numpy {np.__version__} · python {platform.python_version()}"
    )
    assert rows["Seed"] == "0 (shard size 256)"
    assert rows["Started"] == run["created_at"] and rows["Finished"] == run["finished_at"]
    assert f"cpus {os.cpu_count()}" in rows["Machine"] and "device cpu" in rows["Machine"]
    assert rows["Machine"].startswith(platform.platform())
    html = render_html(doc)
    assert f'id="run-{run["id"]}-metadata"' in html
    assert "<dt>Versions</dt><dd>robustlab " in html
    assert [_duration(s) for s in (3.21, 61, 3600 + 120)] == ["3.2 s", "1 min 01 s", "1 h 02 min"]


# -- stored text examples, escaping -------------------------------------------------------------

TEXT_MEDIA = "application/vnd.robustlab.text+json"
SVG_TAGS = {"svg", "title", "text", "rect", "line", "circle", "polyline", "polygon"}


def test_ticks_are_round_and_labelled_with_the_decimals_they_need() -> None:
    """Issue 23 item 13: no 0.0359 or 1.8 from splitting a data range in four."""
    from robustlab.report.svg import nice_ticks, tick_label

    ticks = nice_ticks(0.0, 0.1436, 5)
    assert ticks == [0.0, 0.05, 0.1]
    assert [tick_label(t, ticks) for t in ticks] == ["0.00", "0.05", "0.10"]
    ticks = nice_ticks(0.0, 1.0, 5)
    assert [tick_label(t, ticks) for t in ticks] == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    ticks = nice_ticks(0.0, 7.2, 5)
    assert ticks == [0.0, 2.0, 4.0, 6.0] and tick_label(4.0, ticks) == "4"


def test_line_chart_has_axis_titles_and_round_epsilon_ticks() -> None:
    from robustlab.report.svg import line_chart

    pts = [(0.0, 0.9), (0.0359, 0.6), (0.0718, 0.3), (0.1436, 0.0)]
    svg = str(line_chart({"a": pts}, ["a"], title="fab", x_label="epsilon"))
    root = ET.fromstring(svg)
    texts = {"".join(t.itertext()): t for t in root.iter(f"{{{SVG_NS}}}text")}
    assert texts["epsilon"].get("class") == "axis-title"
    assert texts["accuracy"].get("class") == "axis-title"
    ticks = [k for k, t in texts.items() if t.get("class") == "tick"]
    assert ticks == ["0.00", "0.05", "0.10"]


def _text_artifact(example_id: str, probe: str, label: str, **example: Any) -> dict[str, Any]:
    """A text example as the text probes store it (JSON text, not base64)."""
    return {
        "name": f"text/{example_id}",
        "media_type": TEXT_MEDIA,
        "data": json.dumps(example),
        "meta": {"example_id": example_id, "probe": probe, "label": label},
    }


def _records(correct: list[bool], ids: list[str]) -> Any:
    from robustlab.records import Records

    targets = np.zeros(len(correct), dtype=int)
    probs = np.array([[0.9, 0.1] if c else [0.2, 0.8] for c in correct])
    return Records.from_probabilities(probs, targets, ids)


@pytest.fixture()
def text_run(tmp_path: Path) -> tuple[Store, str]:
    return build_text_run(tmp_path)


def build_text_run(folder: Path) -> tuple[Store, str]:
    """A stored text run written unit by unit, with hostile names everywhere a user's text can
    appear: model, dataset, class names, probe label, the texts themselves."""
    store = Store(f"sqlite:///{folder}/text.db")
    typos = {"probe": "text_transformation", "transformation": "typos"}
    swap = {"probe": "text_attack", "attack": "word_swap"}
    mft = {"probe": "checklist", "test": "simple"}
    run_id = store.create_run(
        run_key="text-key",
        model_id=store.add_model("m", {"name": XSS, "adapter": "FunctionModel", "num_classes": 2}),
        dataset_id=store.add_dataset(
            "d",
            {
                "name": "reviews<i>",
                "size": 3,
                "kind": "TextDataset",
                "class_names": ["neg", "<pos>"],
            },
        ),
        suite_spec={"name": "text", "version": 1, "probes": [typos, swap, mft]},
        seed=0,
        shard_size=3,
        environment={"robustlab": "0", "python": "3", "torch": "2", "numpy": "2", "cpus": 2},
    )
    ids = ["r0", "r1", "r2"]
    held = _records([True, True, False], ids)
    held.artifacts = [
        _text_artifact(
            "r0",
            "text_transformation(typos)",
            "typos <b>",
            original="The movie was great",
            perturbed="The movei was grreat",
            edits=[[4, 9], [14, 20]],
            target=0,
            prediction=0,
            perturbed_prediction=0,
            kind="transformation",
            note="expected: no change",
        ),
        _text_artifact(
            "r2",
            "text_transformation(typos)",
            "typos <b>",
            original="fine <script>alert(1)</script>",
            perturbed="fine <script>alert(2)</script>!",
            edits=[[30, 31], [5, 13], [11, 13]],
            target=0,
            prediction=0,
            perturbed_prediction=1,
            kind="transformation",
            note="<u>hostile note</u>",
        ),
    ]
    broken = _records([False, True, False], ids)
    broken.artifacts = [
        _text_artifact(
            "r1",
            "text_attack(word_swap)",
            "word swap",
            original="not bad at all",
            perturbed="not awful at all",
            edits=[[4, 99]],  # a malformed span: shown, not highlighted, with the reason
            target=0,
            prediction=0,
            perturbed_prediction=1,
            kind="attack",
            note="37 queries",
        )
    ]
    case = _records([False], ["simple/0"])
    case.artifacts = [
        _text_artifact(
            "simple/0",
            "checklist(test=simple)",
            "simple (MFT)",
            original="The film was good.",
            perturbed="The film was good.",
            edits=[],
            target=1,
            prediction=0,
            perturbed_prediction=0,
            kind="checklist",
            note="failed: expected class 1",
        )
    ]
    labels = {"text_transformation": "typos <b>", "text_attack": "word swap"}
    for key, spec, kind, records in (
        ("text_transformation(typos)", typos, "text_transformation", held),
        ("text_attack(word_swap)", swap, "text_attack", broken),
        ("checklist(test=simple)", mft, "checklist", case),
    ):
        store.write_unit(
            run_id,
            probe_key=key,
            probe_spec=spec,
            shard=0,
            start=0,
            stop=len(records),
            records=records,
            seconds=0.25,
            info={"label": labels.get(kind, "simple (MFT)"), "kind": kind},
        )
    rows = [
        {
            "probe_key": key,
            "metric": metric,
            "value": value,
            "ci_low": value - 0.2,
            "ci_high": min(value + 0.2, 1.0),
            "n": 3,
            "method": "clopper-pearson",
            "higher_is_better": True,
        }
        for key, metric, value in (
            ("text_transformation(typos)", "accuracy", 2 / 3),
            ("text_attack(word_swap)", "accuracy", 1 / 3),
            ("checklist(test=simple)", "pass_rate", 0.0),
        )
    ]
    store.write_metrics(run_id, rows)
    store.set_status(run_id, "complete")
    return store, run_id


def test_text_examples_render_with_highlighted_edits(text_run) -> None:
    store, run_id = text_run
    html = render_html(collect(store, [run_id], artifacts=True))
    _assert_self_contained(html)
    assert 'id="run-' + run_id + '-texts"' in html
    assert "The <mark>movei</mark> was <mark>grreat</mark>" in html
    # overlapping spans merge; the hostile text is escaped inside and outside the marks
    assert "fine <mark>&lt;script&gt;</mark>alert(2)&lt;/script&gt;<mark>!</mark>" in html
    assert "fine &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Shown without highlighting: edit [4, 99] lies outside the perturbed text of 16" in html
    assert "not awful at all" in html and "37 queries" in html
    # labels carry the dataset's class names, escaped
    assert "predicted 0 (neg) → <strong>1 (&lt;pos&gt;)</strong>" in html
    # the failure (prediction changed) is listed before the example that held
    assert html.index("alert(2)") < html.index("movei")
    assert html.count('class="example failed"') == 3 and html.count('class="example held"') == 1
    # a CheckList case that changes nothing shows its text once, with expected and predicted
    assert html.count("The film was good.") == 1
    assert "expected 1 (&lt;pos&gt;) · predicted <strong>0 (neg)</strong> · checklist" in html
    # the text axes of the scorecard read the text probes
    rows = {r["axis"]: r for r in scorecard(collect(store, [run_id])["runs"][0])}
    assert rows["text perturbations"]["value"] == pytest.approx(2 / 3)
    assert rows["text attacks"]["value"] == pytest.approx(1 / 3)
    assert rows["text attacks"]["note"] == "weakest: word swap"
    assert rows["behaviour"]["value"] == 0.0  # measured as 0, shown as 0: not left out


def test_user_text_never_renders_as_markup(text_run) -> None:
    store, run_id = text_run
    html = render_html(collect(store, [run_id], artifacts=True))
    for raw in (XSS, "<script", "<b>", "<i>", "<pos>", "<u>"):
        assert raw not in html, raw
    for escaped in ("&lt;script&gt;alert(1)&lt;/script&gt;", "typos &lt;b&gt;", "reviews&lt;i&gt;"):
        assert escaped in html, escaped
    assert "&lt;u&gt;hostile note&lt;/u&gt;" in html
    # every inline chart is well-formed SVG made of drawing elements only
    for block in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        tags = {el.tag.split("}")[-1] for el in ET.fromstring(block).iter()}
        assert tags <= SVG_TAGS, tags - SVG_TAGS


def test_highlight_known_answers() -> None:
    from robustlab.report.html import highlight

    assert highlight("abcdef", [[1, 3]]) == (Markup("a<mark>bc</mark>def"), None)
    assert highlight("abcdef", [[3, 5], [1, 3]])[0] == Markup("a<mark>bcde</mark>f")  # touching
    assert highlight("abcdef", [[1, 4], [2, 3]])[0] == Markup("a<mark>bcd</mark>ef")  # nested
    cut = highlight("abc", [[1, 1]])[0]
    assert cut.startswith('a<mark class="cut"') and cut.endswith("</mark>bc")
    assert highlight("a<b", []) == (Markup("a&lt;b"), None)
    text, problem = highlight("abc", [[0, True]])
    assert (
        text == Markup("abc")
        and problem == "edit [0, True] is not a [start, end] pair of character offsets"
    )
    assert (
        highlight("abc", [[2, 1]])[1]
        == "edit [2, 1] lies outside the perturbed text of 3 characters"
    )


def test_every_chart_builder_escapes_text_and_stays_well_formed() -> None:
    from robustlab.report.svg import axis_chart, line_chart, reliability_diagram, scatter_fit

    evil = "<b>x</b>&\"'"
    bins = [{"lower": 0.5, "upper": 1.0, "count": 3, "accuracy": 0.5, "mean_confidence": 0.7}]
    er = {
        "models": [
            {
                "run": "r",
                "model": evil,
                "id_accuracy": 0.9,
                "ood_accuracy": 0.6,
                "effective_robustness": 0.01,
            }
        ],
        "curve": {"id": [0.8, 0.95], "ood": [0.5, 0.7], "low": [0.4, 0.6], "high": [0.6, 0.8]},
    }
    row = {"axis": evil, "series": evil, "value": 0.5, "ci_low": 0.4, "ci_high": 0.6}
    charts = [
        axis_chart([row], [(evil, False)], [evil], title=evil),
        line_chart(
            {evil: [(0.0, 0.9), (1.0, 0.5)]},
            [evil],
            title=evil,
            x_label=evil,
            markers={evil: [(0.5, 0.6)]},
        ),
        reliability_diagram(bins, title=evil, ece=0.1),
        scatter_fit(er, {"r"}),
        metric_bars([{**row, "label": evil}], [evil], title=evil),
    ]
    for chart in charts:
        root = ET.fromstring(str(chart))  # well-formed: no stray quote or tag broke it
        tags = {el.tag.split("}")[-1] for el in root.iter()}
        assert tags <= SVG_TAGS, tags - SVG_TAGS
        text = "".join(root.itertext())
        assert "<b>x</b>" in text  # the user's text survives, as text


def test_scorecard_known_answer() -> None:
    def m(kind: str, label: str, value: float, metric: str = "accuracy", **extra) -> dict:
        key = "summary" if kind == "summary" else label
        row = {"metric": metric, "kind": kind, "label": label, "value": value, "probe_key": key}
        return {"ci_low": value - 0.05, "ci_high": value + 0.05, **row, **extra}

    run = {
        "metrics": [
            m("clean", "clean", 0.9),
            m("clean", "clean", 0.2, metric="nll"),
            m("clean", "clean", 0.04, metric="ece"),
            m("corruption", "noise", 0.6),
            m("corruption", "blur", 0.8),
            m("attack", "pgd", 0.3),
            m("attack", "fgsm", 0.5),
        ]
    }
    rows = scorecard(run)
    assert [r["axis"] for r in rows] == ["clean", "corruptions", "adversarial", "calibration"]
    clean, corruptions, adversarial, calibration = rows
    assert clean["value"] == 0.9 and clean["ci_low"] == pytest.approx(0.85)
    # no summary: the plain mean of the two corruption tests, without an interval
    assert corruptions["value"] == pytest.approx(0.7) and np.isnan(corruptions["ci_low"])
    assert corruptions["note"] == "mean of 2 corruption tests"
    assert adversarial["value"] == 0.3 and adversarial["note"] == "weakest: pgd"
    assert calibration["value"] == 0.04 and calibration["higher_is_better"] is False
    assert all(r["higher_is_better"] for r in rows[:3])
    assert scorecard({"metrics": []}) == []

    run["metrics"] += [
        m("summary", "s", 0.72, metric="mean_corruption_accuracy"),
        m("summary", "s", 0.8, metric="mce", details={"baseline": "abc"}),
        m("summary", "s", 0.25, metric="worst_case_robust_accuracy"),
    ]
    rows = scorecard(run)
    assert [r["axis"] for r in rows] == [
        "clean",
        "corruptions",
        "adversarial",
        "calibration",
        "mCE",
    ]
    assert rows[1]["value"] == 0.72 and rows[1]["ci_high"] == pytest.approx(0.77)
    assert rows[2]["value"] == 0.25 and rows[2]["note"] == "worst case of 2 attacks"
    assert rows[4]["value"] == 0.8 and rows[4]["higher_is_better"] is False
    assert rows[4]["note"] == "vs baseline run abc"


def test_scorecard_table_marks_the_best_run_per_axis_direction() -> None:
    from robustlab.report.html import scorecard_table

    def row(axis: str, value: float, higher: bool = True) -> dict:
        return {"axis": axis, "value": value, "higher_is_better": higher, "note": ""}

    cards = [
        [row("clean", 0.9), row("calibration", 0.10, False)],
        [row("clean", 0.8), row("calibration", 0.05, False), row("adversarial", 0.2)],
    ]
    table = scorecard_table([{}, {}], cards)
    assert [r["axis"] for r in table] == ["clean", "adversarial", "calibration"]
    clean, adversarial, calibration = table
    assert [c["best"] for c in clean["cells"]] == [True, False]
    assert [c["best"] for c in calibration["cells"]] == [False, True]  # lower is better
    assert adversarial["cells"][0] is None  # not measured: no cell, never a 0
    assert adversarial["cells"][1]["best"] is False  # a single value is nobody's "best"


def test_axis_chart_shades_lower_is_better_axes_and_draws_every_run() -> None:
    from robustlab.report.svg import axis_chart

    rows = [
        {"axis": "clean", "series": "a", "value": 0.5, "ci_low": 0.4, "ci_high": 0.6},
        {"axis": "clean", "series": "b", "value": 1.0, "ci_low": 0.9, "ci_high": 1.0},
        {"axis": "calibration", "series": "a", "value": 0.25, "ci_low": 0.2, "ci_high": 0.3},
        {"axis": "corruptions", "series": "b", "value": 0.7, "ci_low": NAN, "ci_high": NAN},
    ]
    axes = [("clean", True), ("corruptions", True), ("calibration", False)]
    svg = str(axis_chart(rows, axes, ["a", "b"], title="t"))
    root = ET.fromstring(svg)
    dots = [c for c in root.iter(f"{{{SVG_NS}}}circle") if c.find(f"{{{SVG_NS}}}title") is not None]
    assert len(dots) == 4
    # the 0-1 axis starts at x=200 and is 800 pixels wide
    assert sorted(float(c.get("cx")) for c in dots) == [400.0, 600.0, 760.0, 1000.0]
    bands = [r for r in root.iter(f"{{{SVG_NS}}}rect") if r.get("class") == "lower-band"]
    assert len(bands) == 1  # only calibration is lower-is-better
    texts = ["".join(t.itertext()) for t in root.iter(f"{{{SVG_NS}}}text")]
    assert texts.count("lower is better ↓") == 1 and texts.count("higher is better ↑") == 2
    whiskers = [w for w in root.iter(f"{{{SVG_NS}}}line") if w.get("class") == "whisker"]
    assert len(whiskers) == 3  # the mean without an interval has none


# -- ScanResult --------------------------------------------------------------------------------


def test_scan_result_value_equals_direct_accuracy(scanned, test_data) -> None:
    for result, model in zip(scanned["results"], scanned["models"]):
        assert result.value("clean") == pytest.approx(_direct_accuracy(model, test_data), abs=1e-12)
        assert result.value("clean", "accuracy") == result.value("clean")
    lr = scanned["results"][0]
    assert lr.value("clean") > 0.9  # a fitted logistic regression really is good on digits


def test_scan_result_value_of_other_metrics_matches_records(scanned, test_data) -> None:
    result = scanned["results"][0]
    model = scanned["models"][0]
    probs = model.predict_proba(test_data.inputs).double().numpy()
    p_true = probs[np.arange(len(test_data)), test_data.targets]
    assert result.value("clean", "nll") == pytest.approx(float(np.mean(-np.log(p_true))), rel=1e-5)
    assert result.value("clean", "mean_confidence") == pytest.approx(
        float(np.mean(probs.max(axis=1))), rel=1e-5
    )


def test_scan_result_value_unknown_probe_or_metric(scanned) -> None:
    result = scanned["results"][0]
    with pytest.raises(ConfigError) as info:
        result.value("nope")
    msg = str(info.value)
    assert f"No 'accuracy' for probe 'nope' in run {result.run_id}" in msg
    assert "probes: clean." in msg
    with pytest.raises(ConfigError, match="No 'flip_rate' for probe 'clean'"):
        result.value("clean", "flip_rate")


def test_scan_result_accessors(scanned) -> None:
    result = scanned["results"][0]
    assert result.status == "complete"
    assert result.skipped == {}
    assert result.warnings == []
    assert [r["metric"] for r in result.table("accuracy")] == ["accuracy"]
    assert len(result.table()) == len(result.metrics) >= 4
    text = str(result)
    assert text.startswith(f"Run {result.run_id} (complete)")
    assert f"accuracy {result.value('clean'):.4f}" in text
    assert repr(result) == f"ScanResult(run_id={result.run_id!r}, store={result.store.url!r})"


def test_scan_result_resolves_a_prefix(scanned) -> None:
    result = scanned["results"][1]
    again = ScanResult(scanned["store"], result.run_id[:8])
    assert again.run_id == result.run_id
    assert again.value("clean") == result.value("clean")


def test_tiny_torch_run_matches_the_raw_module(scanned, test_data) -> None:
    tiny = scanned["models"][1]
    with torch.no_grad():
        pred = tiny.module(test_data.inputs).argmax(dim=1).numpy()
    assert scanned["results"][1].value("clean") == pytest.approx(
        float(np.mean(pred == test_data.targets)), abs=1e-12
    )


def test_effective_robustness_points_take_one_colour_per_model() -> None:
    """Issue 23 item 13: report runs keep their series colour, other models get their own."""
    from robustlab.report.svg import PALETTE, scatter_fit

    models = [
        {"run": f"r{i}", "model": f"m{i}", "id_accuracy": a, "ood_accuracy": a - 0.2}
        | {"effective_robustness": 0.0}
        for i, a in enumerate((0.7, 0.8, 0.9))
    ]
    er = {
        "models": models,
        "curve": {"id": [0.6, 0.95], "ood": [0.4, 0.75], "low": [0.3, 0.7], "high": [0.5, 0.8]},
    }
    root = ET.fromstring(str(scatter_fit(er, {"r1"}, {"r1": PALETTE[3]})))
    points = [c for c in root.iter(f"{{{SVG_NS}}}circle") if c.get("class") == "model-point"]
    strokes = [c.get("stroke") for c in points]
    assert len(set(strokes)) == 3 and strokes[1] == PALETTE[3]
    assert points[1].get("fill") == PALETTE[3] and points[0].get("fill") == "white"
    legend = ["".join(t.itertext()) for t in root.iter(f"{{{SVG_NS}}}text")]
    assert any(t.startswith("m0 ") for t in legend) and any(t.startswith("m2 ") for t in legend)
