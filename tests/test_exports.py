"""Exports of stored runs: the JSON round trip into another store, CSV, the Markdown summary and
MLflow logging (a stand-in module always; the real MLflow when it is installed)."""

from __future__ import annotations

import copy
import csv
import io
import json
import sys
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import robustlab
from robustlab.axes import axis_scores
from robustlab.errors import ConfigError, RobustLabError, StoreError
from robustlab.report import REPORT_SCHEMA_VERSION, collect, render_html
from robustlab.report.exports import (
    csv_text,
    export_document,
    format_of,
    import_document,
    log_to_mlflow,
    markdown_summary,
    markdown_text,
    metrics_csv,
    mlflow_payload,
    read_export,
    write_export,
)
from robustlab.store import Store

SUITE: dict[str, Any] = {
    "name": "exports",
    "version": 1,
    "probes": [
        "clean",
        {"probe": "corruption", "corruption": "gaussian_noise", "severity": 3},
        {"probe": "attack", "attack": "fgsm", "norm": "linf", "epsilon": 0.1},
        {"probe": "minimal", "attack": "deepfool", "norm": "linf"},
    ],
}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, small_digits, cnn, logreg) -> dict[str, Any]:
    """Two real runs: a CNN (every probe) and a logistic regression (gradient probes skipped)."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('exports')}/source.db")
    runs = [
        robustlab.scan(m, small_digits, SUITE, store=store, shard_size=50, progress=False)
        for m in (cnn, logreg)
    ]
    return {"store": store, "ids": [r.run_id for r in runs], "results": runs}


def _without(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in keys}


# -- JSON round trip ---------------------------------------------------------------------------


def test_json_round_trip_into_another_store(scanned, tmp_path: Path) -> None:
    source, ids = scanned["store"], scanned["ids"]
    path = Path(write_export(source, ids, tmp_path / "runs.json"))
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["schema"] == "robustlab.report"
    assert doc["schema_version"] == REPORT_SCHEMA_VERSION
    target = Store(f"sqlite:///{tmp_path}/target.db")
    assert import_document(path, target) == ids
    again = export_document(target, ids)
    assert _without(again, "generated_at", "store") == _without(doc, "generated_at", "store")
    # everything the report reads is rebuilt: the HTML (with the gallery images) is identical
    html = [
        render_html(
            _without(collect(s, ids, artifacts=True), "generated_at", "store")
            | {
                "generated_at": "t",
                "store": "s",
            }
        )
        for s in (source, target)
    ]
    assert html[0] == html[1]
    assert len(source.artifacts(ids[0])) == len(target.artifacts(ids[0])) > 0
    for key in (
        "clean",
        next(u["probe_key"] for u in source.units(ids[0]) if "minimal" in u["probe_key"]),
    ):
        assert source.load_records(ids[0], key).rows() == target.load_records(ids[0], key).rows()
    assert [r["id"] for r in target.runs()] == [r["id"] for r in source.runs()]


def test_export_holds_units_records_and_skipped_probes(scanned) -> None:
    doc = export_document(scanned["store"], scanned["ids"][1:])
    stored = doc["runs"][0]["stored"]
    assert stored["suite_spec"]["name"] == "exports"
    statuses = {u["probe_key"].split("(")[0]: u["status"] for u in stored["units"]}
    assert statuses["attack"] == "skipped" and statuses["clean"] == "done"
    clean = [u for u in stored["units"] if u["probe_key"] == "clean"]
    assert sum(len(u["records"]["example_id"]) for u in clean) == 120  # three shards of 50, 50, 20
    assert [u["start"] for u in clean] == [0, 50, 100]


def test_import_refuses_bad_documents(scanned, tmp_path: Path) -> None:
    doc = export_document(scanned["store"], scanned["ids"])
    target = f"sqlite:///{tmp_path}/t.db"

    def refused(bad: Any, match: str, error: type[Exception] = ConfigError) -> None:
        with pytest.raises(error, match=match):
            import_document(bad, target)
        assert Store(target).count_runs() == 0  # all or nothing

    refused({**doc, "schema_version": REPORT_SCHEMA_VERSION + 1}, "newer RobustLab")
    refused({**doc, "schema": "robustlab.leaderboard"}, "a leaderboard")
    refused({**doc, "schema": "something"}, "not a RobustLab run export")
    refused({"schema": "robustlab.report", "schema_version": 1, "runs": []}, "holds no runs")
    report_json = collect(scanned["store"], scanned["ids"])  # the report's results.json
    refused(report_json, "has no stored units and records")
    broken = copy.deepcopy(doc)
    del broken["runs"][1]["stored"]["units"][0]["probe_spec"]  # the second run is malformed
    refused(broken, "not a complete run export")
    unknown = copy.deepcopy(doc)
    unknown["runs"][0]["stored"]["units"][0]["records"]["novel"] = [1]
    refused(unknown, "record columns this RobustLab does not know")
    import_document(doc, target)
    with pytest.raises(StoreError, match="already in store"):
        import_document(doc, target)


def test_read_export_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_export(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="is not a JSON file"):
        read_export(bad)


# -- CSV and Markdown --------------------------------------------------------------------------


def test_csv_has_one_row_per_probe_and_metric(scanned) -> None:
    doc = collect(scanned["store"], scanned["ids"])
    rows = list(csv.DictReader(io.StringIO(metrics_csv(doc))))
    expected = [(run["id"], m) for run in doc["runs"] for m in run["metrics"]]
    assert len(rows) == len(expected)
    for row, (run_id, m) in zip(rows, expected):
        assert row["run_id"] == run_id
        assert (row["probe_key"], row["metric"], row["kind"]) == (
            m["probe_key"],
            m["metric"],
            m["kind"],
        )
        assert float(row["value"]) == m["value"]  # full precision
        assert float(row["ci_low"]) == m["ci_low"] and float(row["ci_high"]) == m["ci_high"]
        assert int(row["n"]) == m["n"] and row["method"] == m["method"]
    accuracy = next(r for r in rows if r["metric"] == "accuracy" and r["probe_key"] == "clean")
    assert float(accuracy["value"]) == pytest.approx(scanned["results"][0].value("clean"))


def test_markdown_summary_shows_the_scorecard(scanned) -> None:
    doc = collect(scanned["store"], scanned["ids"][:1])
    md = markdown_summary(doc)
    run = doc["runs"][0]
    assert md.startswith("# RobustLab results\n")
    assert f"## digits-cnn · run {run['id']}" in md
    for a in axis_scores(run["metrics"], run["probes"]):
        assert f"| {a['axis']} | {a['value']:.4f} |" in md
    acc = next(m for m in run["metrics"] if m["metric"] == "accuracy" and m["kind"] == "clean")
    assert (
        f"| clean | clean | {acc['value']:.4f} | [{acc['ci_low']:.4f}, {acc['ci_high']:.4f}] | 120 |"
        in md
    )
    lr = markdown_summary(collect(scanned["store"], scanned["ids"][1:]))
    assert "### Skipped probes" in lr


def test_markdown_and_csv_escape_user_text(scanned) -> None:
    doc = copy.deepcopy(collect(scanned["store"], scanned["ids"][:1]))
    doc["runs"][0]["model"]["name"] = "<script>alert(1)</script>|x"
    md = markdown_summary(doc)
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;\\|x" in md
    doc["runs"][0]["model"]["name"] = "=HYPERLINK(1)"
    rows = list(csv.DictReader(io.StringIO(metrics_csv(doc))))
    assert rows[0]["model"] == "'=HYPERLINK(1)"
    assert csv_text(0.5) == 0.5 and csv_text("-x") == "'-x" and csv_text("ok") == "ok"
    assert markdown_text("a*b[c](d)`e`") == "a\\*b\\[c\\](d)\\`e\\`"


def test_format_is_chosen_or_inferred(scanned, tmp_path: Path) -> None:
    assert format_of("a.CSV", None) == "csv" and format_of("a.markdown", None) == "md"
    assert format_of(None, "json") == "json"
    with pytest.raises(ConfigError, match="add --format json, csv or md"):
        format_of("a.txt", None)
    with pytest.raises(ConfigError, match="'format' parameter"):
        format_of("a.csv", "xlsx")
    text = write_export(scanned["store"], scanned["ids"][:1], None, "md")
    assert text.startswith("# RobustLab results")


# -- MLflow ------------------------------------------------------------------------------------


class FakeMlflow(types.ModuleType):
    """The part of the ``mlflow`` module that log_to_mlflow uses, recording the calls."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__("mlflow")
        self.calls: dict[str, Any] = {"params": {}, "metrics": {}}
        self.fail = fail
        self.uri = "file:///default/mlruns"

    def set_tracking_uri(self, uri: str) -> None:
        self.uri = uri

    def get_tracking_uri(self) -> str:
        return self.uri

    def set_experiment(self, name: str) -> None:
        self.calls["experiment"] = name

    @contextmanager
    def start_run(self, run_name: str, tags: dict[str, str]):  # type: ignore[no-untyped-def]
        self.calls.update(run_name=run_name, tags=tags)
        yield types.SimpleNamespace(info=types.SimpleNamespace(run_id="mlflow-run-1"))

    def log_params(self, params: dict[str, str]) -> None:
        self.calls["params"].update(params)

    def log_metrics(self, metrics: dict[str, float]) -> None:
        if self.fail:
            raise ConnectionError("connection refused\nmore detail")
        self.calls["metrics"].update(metrics)


def test_mlflow_logging_with_a_stand_in_module(scanned, monkeypatch) -> None:
    fake = FakeMlflow()
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    run_id = scanned["ids"][0]
    mlflow_id, uri = log_to_mlflow(scanned["store"], run_id[:6], experiment="robust")
    assert (mlflow_id, uri) == ("mlflow-run-1", "sqlite:///elsewhere.db")
    calls = fake.calls
    assert calls["experiment"] == "robust" and calls["tags"]["robustlab.run_id"] == run_id
    assert calls["params"]["model"] == "digits-cnn" and calls["params"]["suite"] == "exports"
    assert calls["params"]["robustlab_run_id"] == run_id and calls["params"]["seed"] == "0"
    run = collect(scanned["store"], [run_id])["runs"][0]
    for a in axis_scores(run["metrics"], run["probes"]):
        assert calls["metrics"][f"axis/{a['axis']}"] == a["value"]
    assert calls["metrics"]["accuracy/clean"] == pytest.approx(scanned["results"][0].value("clean"))
    assert "accuracy/fgsm Linf eps 0.1" in calls["metrics"]
    assert not any("deepfool" in k for k in calls["metrics"])  # 0 by construction, left out
    summaries = [m for m in run["metrics"] if m["probe_key"] == "summary"]
    assert summaries
    for m in summaries:
        assert calls["metrics"][f"summary/{m['metric']}"] == m["value"]


def test_mlflow_keys_are_valid_and_unique() -> None:
    run = {
        "id": "r",
        "seed": 0,
        "model": {"name": "m", "fingerprint": "f"},
        "dataset": {"name": "d", "fingerprint": "g"},
        "suite": {"name": "s", "version": 1},
        "metrics": [
            {
                "probe_key": "a",
                "metric": "accuracy",
                "label": "x<y>",
                "kind": "clean",
                "value": 0.5,
            },
            {
                "probe_key": "b",
                "metric": "accuracy",
                "label": "x{y}",
                "kind": "corruption",
                "value": 0.4,
            },
        ],
    }
    _, metrics = mlflow_payload(run)
    assert set(metrics) >= {"accuracy/x_y_", "accuracy/x_y_ (2)"}


def test_mlflow_missing_or_failing(scanned, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ModuleNotFoundError
    with pytest.raises(ConfigError, match="pip install mlflow-skinny"):
        log_to_mlflow(scanned["store"], scanned["ids"][0])
    monkeypatch.setitem(sys.modules, "mlflow", FakeMlflow(fail=True))
    with pytest.raises(
        RobustLabError, match=r"Cannot log run .* to MLflow at .*connection refused;"
    ):
        log_to_mlflow(scanned["store"], scanned["ids"][0], tracking_uri="http://localhost:1")


def test_mlflow_for_real(scanned, tmp_path: Path, monkeypatch) -> None:
    """Against the real MLflow and a temporary SQLite tracking store, when it is installed."""
    mlflow = pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.chdir(tmp_path)
    mlflow_id, used = log_to_mlflow(scanned["store"], scanned["ids"][0], tracking_uri=uri)
    assert used == uri
    logged = MlflowClient(uri).get_run(mlflow_id)
    assert logged.data.params["model"] == "digits-cnn"
    assert logged.data.tags["robustlab.run_id"] == scanned["ids"][0]
    assert logged.data.metrics["accuracy/clean"] == pytest.approx(
        scanned["results"][0].value("clean")
    )
    del mlflow
