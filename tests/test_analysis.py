"""The analysis layer: one typed, versioned result that the report renders without computing."""

from __future__ import annotations

import json

import numpy as np
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
from robustlab.data import ArrayDataset
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


def test_effective_robustness_fits_on_models_not_marked_robust(small_digits, store_url) -> None:
    """The baseline line is fitted on the standard models only (Taori et al.); a model marked
    as a robustness intervention is measured against it, and the report names the fit's
    models (issue 22 item 6)."""
    from scipy.special import expit, logit

    from robustlab.analysis.effective import effective_robustness
    from robustlab.demo import train_digits_logreg
    from robustlab.report.html import render_html

    dim = ArrayDataset(small_digits.inputs * 0.5, small_digits.targets, name="dim")
    suite = {"name": "pop", "probes": ["clean"]}
    runs = []
    for c in (0.001, 0.01, 1.0, 0.1):
        model = train_digits_logreg(C=c, name=f"lr{c}")
        model.robust_intervention = c == 0.1
        runs.append(
            robustlab.scan(
                model, small_digits, suite, store=store_url, progress=False, shift={"dim": dim}
            )
        )
    store = runs[0].store
    fp = store.run(runs[0].run_id)["dataset_fingerprint"]
    assert store.run(runs[3].run_id)["model_spec"]["robust_intervention"] is True
    er = effective_robustness(store, fp)
    assert er["defined"] and er["population"] == "standard"
    assert sorted(er["fitted_on"]) == ["lr0.001", "lr0.01", "lr1.0"]
    by_name = {m["model"]: m for m in er["models"]}
    assert len(by_name) == 4 and by_name["lr0.1"]["fitted"] is False
    # the line from the three standard models only, fitted independently
    std = [by_name[n] for n in ("lr0.001", "lr0.01", "lr1.0")]
    clip = lambda p: np.clip(p, 1e-4, 1 - 1e-4)  # noqa: E731
    x = logit(clip(np.array([m["id_accuracy"] for m in std])))
    y = logit(clip(np.array([m["ood_accuracy"] for m in std])))
    slope, intercept = np.polyfit(x, y, 1)
    robust = by_name["lr0.1"]
    expected = robust["ood_accuracy"] - expit(
        intercept + slope * logit(clip(robust["id_accuracy"]))
    )
    assert er["slope"] == pytest.approx(slope) and er["intercept"] == pytest.approx(intercept)
    assert robust["effective_robustness"] == pytest.approx(expected)
    every = effective_robustness(store, fp, population="all")
    assert len(every["fitted_on"]) == 4 and all(m["fitted"] for m in every["models"])
    assert every["slope"] != pytest.approx(slope)
    with pytest.raises(robustlab.ConfigError, match="'population' parameter"):
        effective_robustness(store, fp, population="robust")
    html = render_html(collect(store, [r.run_id for r in runs]))
    assert "Line fitted on 3 model(s) not marked as robustness interventions" in html
    assert "not fitted on: lr0.1 (robustness interventions)" in html
