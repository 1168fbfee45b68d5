"""The certified suite's probes end to end: a scan stores certificates, the scorecard reads the
certified axis, and the gap analysis orders verified <= attacked <= clean."""

from __future__ import annotations

import numpy as np
import pytest

import robustlab
from robustlab.analysis.certified import certified_gap
from robustlab.data import ArrayDataset
from robustlab.errors import ConfigError
from robustlab.report.data import run_data

EPS = 2 / 255
SUITE = {
    "name": "certify-test",
    "version": 1,
    "probes": [
        "clean",
        {"probe": "certify_smoothing", "sigma": 0.25, "epsilon": 0.25, "n0": 20, "n": 200},
        {"probe": "verify_bounds", "method": "ibp", "norm": "linf", "epsilon": EPS},
        {"probe": "verify_bounds", "method": "crown", "norm": "linf", "epsilon": EPS},
        {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": EPS, "steps": 10},
    ],
}


def test_certified_scan_gap_and_scorecard(cnn, small_digits, store_url, tmp_path) -> None:
    data = ArrayDataset(
        small_digits.inputs[:30], small_digits.targets[:30], ids=small_digits.ids[:30]
    )
    result = robustlab.scan(cnn, data, SUITE, store=store_url, shard_size=30, progress=False)
    assert result.status == "complete"
    keys = [robustlab.make_probe(p).key for p in SUITE["probes"]]
    _, smooth, ibp, crown, pgd_key = keys
    clean, pgd = result.value(keys[0]), result.value(pgd_key)
    cert = {
        (m["probe_key"], m["metric"]): m["value"]
        for m in result.metrics
        if m["metric"] in ("certified_accuracy", "abstention_rate")
    }
    assert cert[(ibp, "certified_accuracy")] <= cert[(crown, "certified_accuracy")]
    assert cert[(crown, "certified_accuracy")] <= pgd <= clean
    assert 0.0 <= cert[(smooth, "abstention_rate")] <= 1.0
    axes = {row["axis"]: row for row in result.scorecard}
    assert axes["certified"]["value"] == pytest.approx(
        min(v for (k, m), v in cert.items() if m == "certified_accuracy")
    )
    run = run_data(result.store, result.run_id)
    gap = certified_gap(run)
    linf = [p for p in gap if p["norm"] == "linf"]
    assert len(linf) == 2 and all(p["attack_probe"] == pgd_key for p in linf)
    assert all(p["consistent"] for p in gap)
    assert all(p["certified"] <= p["attack"] <= p["clean"] for p in linf)
    l2 = [p for p in gap if p["norm"] == "l2"]
    assert len(l2) == 1 and l2[0]["attack"] is None
    rec = result.store.load_records(result.run_id, crown)
    assert set(np.unique(np.asarray(rec.verified, bool))) <= {True, False}
    assert (np.asarray(rec.verified, bool) <= np.asarray(rec.correct, bool)).all()
    page = result.to_html(tmp_path / "report.html").read_text()
    assert "Certified gap" in page


def test_probe_parameters_are_checked_before_work() -> None:
    with pytest.raises(ConfigError, match=r"at least 10 for alpha=0\.001"):
        robustlab.make_probe("certify_smoothing n=5")
    with pytest.raises(ConfigError, match="'sigma'"):
        robustlab.make_probe("certify_smoothing sigma=0")
    with pytest.raises(ConfigError, match="'method'"):
        robustlab.make_probe("verify_bounds method=zonotope")


def test_certified_suite_is_built_in() -> None:
    suite = robustlab.load_suite("certified")
    names = {p.name for p in suite.probes}
    assert {"certify_smoothing", "verify_bounds", "ensemble", "clean"} <= names
    sigmas = sorted(p.sigma for p in suite.probes if p.name == "certify_smoothing")
    assert sigmas == [0.12, 0.25, 0.5]


@pytest.mark.slow
def test_demo_certify_writes_the_gap_chart(tmp_path, capsys) -> None:
    from robustlab.cli import main

    store = f"sqlite:///{tmp_path / 'demo.db'}"
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--certify", "--store", store, "--out", str(tmp_path), "--no-progress"])
        raise SystemExit(0)
    assert not exc.value.code
    page = next(tmp_path.glob("*.html")).read_text()
    assert "Certified gap" in page
    db = robustlab.open_store(store)
    (run,) = db.runs()
    from robustlab.analysis import analyse

    analysis = analyse(db, [run_data(db, run["id"])])
    gap = analysis.runs[0].certified_gap
    assert gap and all(p.consistent for p in gap)
    assert all(p.certified <= (p.attack if p.attack is not None else 1.0) <= p.clean for p in gap)


def test_the_analysis_carries_the_gap(cnn, small_digits, store_url) -> None:
    from robustlab.analysis import Analysis, analyse

    data = ArrayDataset(
        small_digits.inputs[:10], small_digits.targets[:10], ids=small_digits.ids[:10]
    )
    result = robustlab.scan(cnn, data, SUITE, store=store_url, shard_size=10, progress=False)
    run = run_data(result.store, result.run_id)
    analysis = analyse(result.store, [run])
    gap = analysis.runs[0].certified_gap
    assert [p.to_dict() for p in gap] == [
        {**p, "probe_key": str(p["probe_key"]), "label": str(p["label"])}
        for p in certified_gap(run)
    ]
    assert len(gap) == 3
    again = Analysis.from_json(analysis.to_json())
    assert again.runs[0].certified_gap == gap
