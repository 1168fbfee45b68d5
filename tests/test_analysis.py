"""The analysis layer: one typed, versioned result that the report renders without computing."""

from __future__ import annotations

import json

import pytest

import robustlab
from robustlab.analysis import (
    ANALYSIS_SCHEMA_VERSION,
    Analysis,
    AxisScore,
    Comparison,
    ConfirmationPoint,
    ProbeComparison,
    RobustnessCurve,
    RunAnalysis,
    SeedGroup,
    SeedProbe,
    SeverityCurve,
    analyse,
)
from robustlab.errors import ConfigError
from robustlab.report import collect
from robustlab.report.data import run_data

SUITE = {
    "name": "analysis",
    "probes": [
        "clean",
        {"probe": "corruption", "grid": {"corruption": ["fog"], "severity": [2, 4]}},
        {"probe": "attack", "attack": "fgsm", "norm": "linf", "epsilon": 0.1},
        {"probe": "minimal", "attack": "deepfool", "norm": "l2", "steps": 5, "candidates": 2},
    ],
}


def _known() -> Analysis:
    return Analysis(
        runs=(
            RunAnalysis(
                "r1",
                scorecard=(AxisScore("clean", 0.9, 0.85, 0.95, True, "accuracy", "clean", ""),),
                robustness_curves=(
                    RobustnessCurve(
                        "minimal",
                        "fab",
                        "l2",
                        (0.0, 0.5),
                        (0.9, 0.2),
                        (ConfirmationPoint(0.5, 0.3, "pgd"),),
                    ),
                ),
                severity_curves=(SeverityCurve("fog", ((0.0, 0.9), (3.0, 0.6))),),
                domain_drops={"defined": False, "reason": "not a shift scan", "domains": []},
            ),
        ),
        comparisons=(
            Comparison(
                "a", "b", "r1", "r2", (ProbeComparison("clean", "clean", 0.1, 3, 1, 0.6, 0.2),)
            ),
        ),
        seed_variance=(
            SeedGroup(
                "a", "s", ("r1", "r2"), (SeedProbe("clean", "clean", 0.8, 0.1, 0.7, 0.9, 0.1),)
            ),
        ),
        effective_robustness={"fp": {"defined": False, "reason": "needs 3", "models": []}},
    )


def test_json_round_trip_with_schema_version() -> None:
    known = _known()
    text = known.to_json()
    data = json.loads(text)
    assert data["schema"] == "robustlab.analysis"
    assert data["schema_version"] == ANALYSIS_SCHEMA_VERSION
    back = Analysis.from_json(text)
    assert back == known
    assert isinstance(back.runs[0].robustness_curves[0].confirmed[0], ConfirmationPoint)
    assert back.run("r1").severity_curves[0].points[1] == (3.0, 0.6)


def test_bad_json_is_refused_with_the_reason() -> None:
    data = json.loads(_known().to_json())
    with pytest.raises(ConfigError, match="newer RobustLab"):
        Analysis.from_json(json.dumps({**data, "schema_version": ANALYSIS_SCHEMA_VERSION + 1}))
    with pytest.raises(ConfigError, match="not a RobustLab analysis"):
        Analysis.from_json(json.dumps({**data, "schema": "robustlab.report"}))
    with pytest.raises(ConfigError, match="unknown field"):
        Analysis.from_json(json.dumps({**data, "extra": 1}))
    with pytest.raises(ConfigError, match="not JSON"):
        Analysis.from_json("{")
    with pytest.raises(ConfigError, match="not in this analysis"):
        _known().run("nope")


@pytest.fixture(scope="module")
def runs(cnn, logreg, small_digits, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('analysis')}/store.db"
    return [
        robustlab.scan(m, small_digits, SUITE, store=url, progress=False) for m in (cnn, logreg)
    ]


def test_the_report_document_carries_the_analysis(runs) -> None:
    store = runs[0].store
    ids = [r.run_id for r in runs]
    docs = [run_data(store, i) for i in ids]
    analysis = analyse(store, docs)
    assert Analysis.from_json(analysis.to_json()) == analysis  # real numbers round trip too
    doc = collect(store, ids)
    assert doc["analysis_schema_version"] == ANALYSIS_SCHEMA_VERSION
    for run, result in zip(doc["runs"], analysis.runs):
        assert run["scorecard"] == [a.to_dict() for a in result.scorecard]
        assert run["robustness_curves"] == [c.to_dict() for c in result.robustness_curves]
        assert run["severity_curves"] == [c.to_dict() for c in result.severity_curves]
    assert doc["comparisons"] == [c.to_dict() for c in analysis.comparisons]
    # ScanResult reads the same analysis
    assert runs[0].scorecard == doc["runs"][0]["scorecard"]


def test_curves_known_answers_from_the_stored_metrics(runs) -> None:
    result = runs[0]
    (curve,) = result.analysis().severity_curves
    clean, fog2, fog4 = (
        result.value(k)
        for k in ("clean", "corruption(fog,severity=2)", "corruption(fog,severity=4)")
    )
    assert curve.perturbation == "fog"
    assert curve.points == ((0.0, clean), (2.0, fog2), (4.0, fog4))
    (robust,) = result.analysis().robustness_curves
    assert robust.norm == "l2" and robust.robust_accuracy[0] == pytest.approx(clean)
    # the fixed-budget attack is a confirmation point only if its norm matches (linf != l2)
    assert robust.confirmed == ()
    card = {a.axis: a for a in result.analysis().scorecard}
    # the minimal-perturbation probe is not the weakest "attack"
    assert card["adversarial"].probe_key == "attack(fgsm,norm=linf,epsilon=0.1)"
