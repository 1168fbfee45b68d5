"""Robustness axes: known answers for the scorecard and the leaderboard, the axis and task
declarations of every registered plugin, and an axis that only a probe declares."""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

import robustlab
from robustlab.analysis.axes import (
    AXES,
    LEGACY_KIND_AXES,
    axis_definition,
    axis_ids,
    axis_scores,
    order_axes,
    unit_axis,
)
from robustlab.metrics import METRICS
from robustlab.probes.base import PROBES, Probe, predict_records
from robustlab.summaries import SUMMARIES, ProbeErrors
from robustlab.tasks.base import TASKS


def _m(axis: str, value: float, metric: str = "accuracy", **extra: Any) -> dict[str, Any]:
    key = "summary" if axis == "summary" else f"{axis}-{metric}-{value}"
    return {"metric": metric, "axis": axis, "probe_key": key, "value": value, "label": key, **extra}


def test_axes_pick_the_headline_numbers() -> None:
    rows = [
        _m("clean", 0.9, ci_low=0.85, ci_high=0.94),
        _m("clean", 0.05, metric="ece"),
        _m("clean", 0.6, metric="worst_group_accuracy"),
        _m("corruptions", 0.6),
        _m("corruptions", 0.8),
        _m("adversarial", 0.3),
        _m("adversarial", 0.5),
        _m("stability", 0.1, metric="flip_rate"),
        _m("stability", 0.3, metric="flip_rate"),
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
    assert got["corruptions"]["note"] == "mean of 2 corruption tests"
    assert got["adversarial"]["value"] == 0.25


def test_minimal_perturbation_probes_are_no_attack_headline() -> None:
    """A probe without a budget breaks what it can: its accuracy is no robust accuracy."""
    rows = [_m("adversarial", 0.4), {**_m("adversarial", 0.0), "probe_key": "minimal"}]
    probes = [
        {"key": rows[0]["probe_key"], "spec": {"probe": "attack", "epsilon": 0.03}},
        {"key": "minimal", "spec": {"probe": "minimal", "attack": "fab", "norm": "linf"}},
    ]
    (adv,) = axis_scores(rows, probes)
    assert adv["value"] == 0.4 and adv["probe_key"] == rows[0]["probe_key"]


def test_rows_of_a_legacy_document_read_their_kind() -> None:
    rows = [
        {"metric": "accuracy", "kind": "clean", "probe_key": "clean", "value": 0.9},
        {"metric": "accuracy", "kind": "corruption", "probe_key": "c1", "value": 0.5},
        {"metric": "pass_rate", "kind": "checklist", "probe_key": "t", "value": 0.75},
    ]
    got = {r["axis"]: r["value"] for r in axis_scores(rows)}
    assert got == {"clean": 0.9, "corruptions": 0.5, "behaviour": 0.75}
    assert unit_axis({"kind": "ensemble"}) == "adversarial"
    assert unit_axis({"kind": "attack", "axis": "text attacks"}) == "text attacks"
    assert unit_axis({"kind": "nothing known"}) is None
    assert set(LEGACY_KIND_AXES.values()) <= set(axis_ids())


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


def test_an_axis_only_a_probe_declares_gets_the_mean_accuracy_of_its_probes() -> None:
    rows = [_m("clean", 0.9), _m("glyphs", 0.5), _m("glyphs", 0.7), _m("corruptions", 0.6)]
    got = axis_scores(rows)
    assert [r["axis"] for r in got] == ["clean", "corruptions", "glyphs"]
    assert got[-1]["value"] == pytest.approx(0.6) and got[-1]["note"] == "mean of 2 glyphs probes"
    assert axis_definition("glyphs").higher_is_better
    assert order_axes(["glyphs", "mCE", "clean"]) == ["clean", "mCE", "glyphs"]


# -- declarations of every registered plugin ---------------------------------------------------


def _probe_example(name: str) -> Probe:
    return PROBES.get(name).example()


@pytest.mark.parametrize("name", PROBES.names())
def test_every_probe_declares_a_known_axis_and_tasks(name: str) -> None:
    cls = PROBES.get(name)
    assert cls.axis in axis_ids(), f"probe {name!r} declares unknown axis {cls.axis!r}"
    assert _probe_example(name).resolved_axis() in axis_ids()
    assert isinstance(cls.tasks, tuple) and cls.tasks
    assert set(cls.tasks) <= set(TASKS.names())


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_declares_an_axis_or_none_and_tasks(name: str) -> None:
    cls = METRICS.get(name)
    assert cls.axis is None or cls.axis in axis_ids()
    assert isinstance(cls.tasks, tuple) and cls.tasks
    assert set(cls.tasks) <= set(TASKS.names())


@pytest.mark.parametrize("name", SUMMARIES.names())
def test_every_summary_declares_a_known_axis_and_tasks(name: str) -> None:
    cls = SUMMARIES.get(name)
    assert cls.axis in axis_ids()
    assert isinstance(cls.tasks, tuple) and cls.tasks
    assert set(cls.tasks) <= set(TASKS.names())


@pytest.mark.parametrize("axis", AXES, ids=lambda a: a.name)
def test_the_catalogue_agrees_with_the_declarations(axis) -> None:
    metric = METRICS.get(axis.metric)
    # an axis's headline metric is generic or declares that axis
    assert metric.axis in (None, axis.name), (axis.name, metric.axis)
    if axis.summary is not None:
        assert SUMMARIES.get(axis.summary).axis == axis.name


def test_probe_errors_read_a_legacy_kind_as_its_axis_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="read 'corruption' as 'corruptions'"):
        p = ProbeErrors("fog", "corruption", {}, np.zeros(3, bool))
    assert p.axis == "corruptions"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ProbeErrors("c", "clean", {}, np.zeros(3, bool)).axis == "clean"


# -- a new axis end to end ---------------------------------------------------------------------


@dataclass(frozen=True)
class Inverted(Probe):
    """Test-only probe of a new axis: the model on images with inverted intensities."""

    strength: float = 1.0

    name: ClassVar[str] = "inverted_test_only"
    axis: ClassVar[str] = "inversion"
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)

    def run(self, model, batch, seed):
        inputs = batch.inputs * (1 - self.strength) + (1 - batch.inputs) * self.strength
        return predict_records(model, inputs, batch)


def test_a_probe_with_a_new_axis_shows_in_scorecard_and_leaderboard(
    logreg, small_digits, store_url
) -> None:
    """No edit of the axis catalogue: the probe's declaration is enough."""
    from robustlab.leaderboard import build_leaderboard

    suite = {"name": "inv", "probes": ["clean", Inverted(), Inverted(0.5)]}
    res = robustlab.scan(logreg, small_digits, suite, store=store_url, progress=False)
    card = {a["axis"]: a for a in res.scorecard}
    expected = np.mean([res.value(p.key) for p in (Inverted(), Inverted(0.5))])
    assert card["inversion"]["value"] == pytest.approx(expected)
    assert card["inversion"]["note"] == "mean of 2 inversion probes"
    units = res.store.units(res.run_id)
    assert {u["info"]["axis"] for u in units} == {"clean", "inversion"}
    # no kind declared: the deprecated label is the probe's name
    assert {u["info"]["kind"] for u in units} == {"clean", "inverted_test_only"}
    board = build_leaderboard(res.store)
    assert [c.name for c in board.columns][-1] == "inversion"
    assert board.entries[0].cells["inversion"].value == pytest.approx(expected)
    assert dataclasses.fields(Inverted)  # a frozen dataclass like every probe


def test_a_probe_declaring_no_axis_falls_back_to_its_kind_with_a_warning() -> None:
    @dataclass(frozen=True)
    class Legacy(Probe):
        name: ClassVar[str] = "legacy_test_only"
        kind: ClassVar[str] = "corruption"

        def run(self, model, batch, seed):
            return predict_records(model, batch.inputs, batch)

    with pytest.warns(DeprecationWarning, match="declares no axis; add `axis = ...` to Legacy"):
        assert Legacy().resolved_axis() == "corruptions"
