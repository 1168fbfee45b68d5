"""Paired perturbation drops: known answers, unrecorded examples, and a text scan end to end."""

from __future__ import annotations

import numpy as np
import pytest

import robustlab
from helpers_text import reviews, tfidf
from robustlab.analysis.drops import paired_drop
from robustlab.records import Records
from robustlab.report import collect


def _records(correct: list[int], ids: list[str]) -> Records:
    n = len(correct)
    return Records(
        example_id=ids,
        target=np.zeros(n, int),
        prediction=1 - np.array(correct),
        correct=np.array(correct, bool),
        confidence=np.full(n, 0.9),
        loss=np.zeros(n),
        brier=np.zeros(n),
        perturbation=np.full(n, np.nan),
    )


IDS = [f"e{i}" for i in range(8)]


def test_paired_drop_known_answer() -> None:
    clean = _records([1, 1, 1, 1, 1, 1, 0, 0], IDS)
    pert = _records([1, 0, 1, 0, 1, 1, 0, 1], IDS)
    out = paired_drop(clean, pert)
    assert out is not None and out["n"] == 8
    assert out["clean_accuracy"] == pytest.approx(0.75)
    assert out["perturbed_accuracy"] == pytest.approx(0.625)
    assert out["drop"] == pytest.approx(0.125)
    d = np.array([0, 1, 0, 1, 0, 0, 0, -1], float)
    half = 1.959964 * d.std(ddof=1) / np.sqrt(8)
    assert out["drop_ci_low"] == pytest.approx(0.125 - half, abs=1e-5)
    assert out["drop_ci_high"] == pytest.approx(0.125 + half, abs=1e-5)
    assert out["drop_rate"] == pytest.approx(1 - 0.625 / 0.75)
    assert out["drop_rate_ci_low"] < out["drop_rate"] < out["drop_rate_ci_high"]


def test_changed_only_records_pair_with_clean_on_the_same_examples() -> None:
    # the probe changed only e6, e7 (both wrong on clean, right perturbed): the changed-only
    # accuracy 1.0 exceeds clean accuracy 0.75, but paired on all 8 the accuracy is 1.0 vs 0.75
    # and on the changed ones only (no fill) 1.0 vs 0.0
    clean = _records([1, 1, 1, 1, 1, 1, 0, 0], IDS)
    changed = _records([1, 1], ["e6", "e7"])
    filled = paired_drop(clean, changed, fill_unrecorded=True)
    assert filled is not None and filled["n"] == 8
    assert filled["perturbed_accuracy"] == pytest.approx(1.0)
    assert filled["drop"] == pytest.approx(-0.25)
    assert filled["changed_accuracy"] == 1.0 and filled["changed_n"] == 2
    only = paired_drop(clean, changed)
    assert only is not None and only["n"] == 2 and only["clean_accuracy"] == 0.0
    assert paired_drop(clean, _records([1], ["other"])) is None


def test_text_axis_averages_paired_accuracies(store_url) -> None:
    result = robustlab.scan(
        tfidf(),
        reviews("test"),
        {
            "name": "t",
            "probes": [
                "clean",
                {"probe": "perturbation", "perturbation": "typo_swap", "rate": 0.3},
            ],
        },
        store=store_url,
        progress=False,
    )
    doc = collect(result.store, [result.run_id])
    run = doc["runs"][0]
    paired = [d for d in run["paired_drops"] if d["axis"] == "text perturbations"]
    assert len(paired) == 1
    row = paired[0]
    clean_acc = next(
        m["value"]
        for m in run["metrics"]
        if m["probe_key"] == "clean" and m["metric"] == "accuracy"
    )
    assert row["clean_accuracy"] == pytest.approx(clean_acc)  # every clean example is paired
    assert row["perturbed_accuracy"] == pytest.approx(clean_acc - row["drop"])
    axis = next(a for a in run["scorecard"] if a["axis"] == "text perturbations")
    assert axis["value"] == pytest.approx(row["perturbed_accuracy"])
    assert "paired" in axis["note"]


@pytest.mark.slow  # ~45 s: a text attack over the reviews test set
def test_paired_drops_and_attack_metrics_are_shown(store_url, tmp_path) -> None:
    from robustlab.report import write_report
    from robustlab.report.exports import markdown_summary

    result = robustlab.scan(
        tfidf(),
        reviews("test"),
        {
            "name": "t",
            "probes": [
                "clean",
                {"probe": "perturbation", "perturbation": "typo_swap", "rate": 0.3},
                {"probe": "attack", "attack": "deepwordbug", "budget": 40},
            ],
        },
        store=store_url,
        progress=False,
    )
    doc = collect(result.store, [result.run_id])
    text = markdown_summary(doc)
    assert "### Paired drops (same examples as clean)" in text
    assert "### Attack metrics" in text and "attack_success_rate" in text
    html_path, _ = write_report(result.store, [result.run_id], tmp_path / "r")
    html = html_path.read_text()
    assert "drops against clean accuracy on the same examples" in html
    assert "attack metrics" in html and "queries_per_success" in html
