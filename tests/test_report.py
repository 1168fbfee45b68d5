"""Tests of the report (JSON and self-contained HTML) and of ScanResult, on real stored scans."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

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
    # the bar spans half of the 460-pixel axis that starts at x=190
    assert 'x="190" y="' in svg and 'width="230.0"' in svg


def test_scorecard_known_answer() -> None:
    def m(kind: str, label: str, value: float, metric: str = "accuracy") -> dict[str, Any]:
        return {"metric": metric, "kind": kind, "label": label, "value": value}

    run = {
        "metrics": [
            m("clean", "clean", 0.9),
            m("clean", "clean", 0.2, metric="nll"),
            m("corruption", "noise", 0.6),
            m("corruption", "blur", 0.8),
            m("attack", "pgd", 0.3),
            m("attack", "fgsm", 0.5),
            m("summary", "mean_corruption_accuracy", 0.7, metric="mean_corruption_accuracy"),
        ]
    }
    rows = scorecard(run)
    assert [r["axis"] for r in rows] == ["clean accuracy", "corruption accuracy", "robust accuracy"]
    assert rows[0]["value"] == 0.9
    assert rows[1]["value"] == pytest.approx(0.7) and rows[1]["note"] == "mean of 2"
    assert rows[2]["value"] == 0.3 and rows[2]["note"] == "pgd"
    assert scorecard({"metrics": []}) == []
    run["metrics"] += [
        {**m("summary", "mce", 0.8, metric="mce"), "details": {"baseline": "abc"}},
        m("summary", "worst_case_robust_accuracy", 0.25, metric="worst_case_robust_accuracy"),
    ]
    rows = scorecard(run)
    assert [r["axis"] for r in rows] == [
        "clean accuracy",
        "corruption accuracy",
        "mCE",
        "robust accuracy",
    ]
    assert rows[2]["note"] == "vs abc"
    assert rows[3]["value"] == 0.25 and rows[3]["note"] == "worst case of 2 attacks"


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
