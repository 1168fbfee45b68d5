"""Known answers for the robustness axes shared by the scorecard and the leaderboard."""

from __future__ import annotations

import math
from typing import Any

import pytest

from robustlab.axes import AXES, axis_scores


def _m(kind: str, value: float, metric: str = "accuracy", **extra: Any) -> dict[str, Any]:
    key = "summary" if kind == "summary" else f"{kind}-{metric}-{value}"
    return {"metric": metric, "kind": kind, "probe_key": key, "value": value, "label": key, **extra}


def test_axes_pick_the_headline_numbers() -> None:
    rows = [
        _m("clean", 0.9, ci_low=0.85, ci_high=0.94),
        _m("clean", 0.05, metric="ece"),
        _m("clean", 0.6, metric="worst_group_accuracy"),
        _m("corruption", 0.6),
        _m("corruption", 0.8),
        _m("attack", 0.3),
        _m("attack", 0.5),
        _m("sequence", 0.1, metric="flip_rate"),
        _m("sequence", 0.3, metric="flip_rate"),
    ]
    got = {r["axis"]: r for r in axis_scores(rows)}
    assert list(got) == [
        "clean",
        "corruptions",
        "adversarial",
        "subgroups",
        "calibration",
        "stability",
    ]
    assert got["clean"]["value"] == 0.9 and got["clean"]["ci_low"] == 0.85
    # no summary stored: the plain mean of the two corruption tests, without an interval
    assert got["corruptions"]["value"] == pytest.approx(0.7)
    assert math.isnan(got["corruptions"]["ci_low"])
    assert got["adversarial"]["value"] == 0.3  # the weakest attack
    assert got["stability"]["value"] == pytest.approx(0.2)
    assert got["calibration"]["higher_is_better"] is False
    # stored summaries win over the plain means
    rows += [
        _m("summary", 0.65, metric="mean_corruption_accuracy"),
        _m("summary", 0.25, metric="worst_case_robust_accuracy"),
    ]
    got = {r["axis"]: r for r in axis_scores(rows)}
    assert got["corruptions"]["value"] == 0.65
    assert got["adversarial"]["value"] == 0.25


def test_shift_run_reports_in_distribution_clean_accuracy() -> None:
    rows = [
        _m("clean", 0.8),
        _m(
            "clean",
            0.6,
            metric="ood_accuracy",
            details={"domains": {"id": {"accuracy": 0.95, "n": 100}, "thick": {"accuracy": 0.6}}},
        ),
    ]
    got = {r["axis"]: r for r in axis_scores(rows)}
    assert got["clean"]["value"] == 0.95 and got["clean"]["note"] == "in-distribution"
    assert got["shift"]["value"] == 0.6


def test_missing_axes_are_absent_not_zero() -> None:
    assert axis_scores([]) == []
    assert len({a.name for a in AXES}) == len(AXES)
