"""Tests of per-example records and the metrics computed from them (with their intervals)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.stats import binomtest

from helpers_core import random_records
from robustlab.errors import ConfigError, RobustLabError
from robustlab.metrics import (
    METRICS,
    Estimate,
    Metric,
    bootstrap_ci,
    clopper_pearson,
    derive_seed,
    get_metric,
    mean_estimate,
)
from robustlab.records import RECORD_COLUMNS, Records

PROBS = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.1, 0.3, 0.6],
        [0.25, 0.5, 0.25],
    ]
)
TARGETS = [0, 1, 1]


@pytest.fixture
def hand() -> Records:
    return Records.from_probabilities(PROBS, TARGETS, ["a", "b", "c"])


def _records_with_correct(correct: list[bool]) -> Records:
    """Records whose ``correct`` column is exactly ``correct`` (2 classes, confident)."""
    n = len(correct)
    targets = np.zeros(n, dtype=int)
    probs = np.array([[0.9, 0.1] if c else [0.2, 0.8] for c in correct])
    return Records.from_probabilities(probs, targets, [str(i) for i in range(n)])


def _empty_records() -> Records:
    return Records.from_probabilities(np.zeros((0, 3)), np.zeros(0, dtype=int), [])


# -- Records -----------------------------------------------------------------------------------


def test_from_probabilities_known_answers(hand: Records) -> None:
    assert hand.prediction.tolist() == [0, 2, 1]
    assert hand.correct.tolist() == [True, False, True]
    np.testing.assert_allclose(hand.confidence, [0.7, 0.6, 0.5])
    np.testing.assert_allclose(hand.loss, [-math.log(0.7), -math.log(0.3), -math.log(0.5)])
    # sum_k (p_k - onehot_k)^2, by hand
    row0 = 0.3**2 + 0.2**2 + 0.1**2
    row1 = 0.1**2 + 0.7**2 + 0.6**2
    row2 = 0.25**2 + 0.5**2 + 0.25**2
    np.testing.assert_allclose(hand.brier, [row0, row1, row2])
    np.testing.assert_allclose(hand.brier, [0.14, 0.86, 0.375])
    assert hand.example_id.tolist() == ["a", "b", "c"]
    assert hand.target.tolist() == TARGETS
    assert np.isnan(hand.perturbation).all()
    assert hand.group.tolist() == [None, None, None]
    assert hand.domain.tolist() == [None, None, None]
    assert len(hand) == 3


def test_from_probabilities_clips_zero_probability_loss() -> None:
    r = Records.from_probabilities(np.array([[1.0, 0.0]]), [1], ["x"])
    assert r.loss[0] == pytest.approx(-math.log(1e-12))
    assert math.isfinite(r.loss[0])


def test_from_probabilities_meta_and_perturbation() -> None:
    r = Records.from_probabilities(
        PROBS,
        TARGETS,
        ["a", "b", "c"],
        meta={"group": ["x", "y", "x"]},
        perturbation=[0.1, 0.2, 0.3],
    )
    assert r.group.tolist() == ["x", "y", "x"]
    assert r.domain.tolist() == [None, None, None]
    np.testing.assert_allclose(r.perturbation, [0.1, 0.2, 0.3])


def test_records_refuse_columns_of_wrong_length() -> None:
    with pytest.raises(RobustLabError, match="Records column 'loss' has the wrong length"):
        Records(
            example_id=["a", "b"],
            target=[0, 1],
            prediction=[0, 1],
            correct=[True, True],
            confidence=[1.0, 1.0],
            loss=[0.0],
            brier=[0.0, 0.0],
            perturbation=[np.nan, np.nan],
        )


def test_rows_and_from_rows_round_trip_with_nan_as_none() -> None:
    r = Records.from_probabilities(
        PROBS,
        TARGETS,
        ["a", "b", "c"],
        meta={"group": ["g", None, "h"], "domain": ["d1", "d2", None]},
        perturbation=[0.5, np.nan, 0.25],
        value=[np.nan, 0.125, 1.0],
        queries=[np.nan, 37, 5000],
        similarity=[0.875, np.nan, np.nan],
    )
    rows = r.rows()
    assert [row["perturbation"] for row in rows] == [0.5, None, 0.25]
    assert [row["value"] for row in rows] == [None, 0.125, 1.0]
    assert rows[0] == {
        "example_id": "a",
        "target": 0,
        "prediction": 0,
        "correct": True,
        "confidence": 0.7,
        "loss": pytest.approx(-math.log(0.7)),
        "brier": pytest.approx(0.14),
        "perturbation": 0.5,
        "value": None,
        "reference": None,
        "group": "g",
        "domain": "d1",
        "queries": None,
        "similarity": 0.875,
    }
    assert [row["queries"] for row in rows] == [None, 37, 5000]
    assert type(rows[1]["queries"]) is int
    assert rows[1]["group"] is None and rows[2]["domain"] is None
    assert all(type(row["correct"]) is bool for row in rows)
    back = Records.from_rows(rows)
    assert np.isnan(back.perturbation[1]) and np.isnan(back.value[0])
    assert back.rows() == rows
    for c in RECORD_COLUMNS:
        assert getattr(back, c).dtype == getattr(r, c).dtype


def test_concat_and_subset() -> None:
    a = random_records(5, seed=1)
    b = random_records(7, seed=2)
    a.warnings.append({"code": "w1", "message": "m"})
    both = Records.concat([a, b])
    assert len(both) == 12
    assert both.rows() == a.rows() + b.rows()
    assert both.warnings == [{"code": "w1", "message": "m"}]
    mask = both.correct
    sub = both.subset(mask)
    assert len(sub) == int(mask.sum())
    assert sub.rows() == [row for row, keep in zip(both.rows(), mask) if keep]
    idx = np.array([11, 0])
    assert both.subset(idx).rows() == [both.rows()[11], both.rows()[0]]


def test_concat_of_nothing_raises() -> None:
    with pytest.raises(RobustLabError, match="needs at least one part"):
        Records.concat([])


# -- Clopper-Pearson and accuracy -------------------------------------------------------------


def test_clopper_pearson_known_answer() -> None:
    low, high = clopper_pearson(3, 4)
    assert round(low, 4) == 0.1941
    assert round(high, 4) == 0.9937


@pytest.mark.parametrize(
    ("k", "n"), [(0, 1), (0, 10), (10, 10), (1, 1), (3, 4), (17, 50), (538, 539)]
)
def test_clopper_pearson_matches_scipy_binomtest(k: int, n: int) -> None:
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = clopper_pearson(k, n)
    assert low == pytest.approx(ref.low, abs=1e-9)
    assert high == pytest.approx(ref.high, abs=1e-9)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_clopper_pearson_edges() -> None:
    low, high = clopper_pearson(0, 20)
    assert low == 0.0 and 0.0 < high < 1.0
    low, high = clopper_pearson(20, 20)
    assert high == 1.0 and 0.0 < low < 1.0
    # a wider level gives a wider interval
    l90, h90 = clopper_pearson(5, 20, level=0.90)
    l99, h99 = clopper_pearson(5, 20, level=0.99)
    assert l99 < l90 and h90 < h99


def test_accuracy_known_answer_with_interval() -> None:
    est = get_metric("accuracy").compute(_records_with_correct([True, True, False, True]))
    assert est.value == 0.75
    assert (round(est.ci_low, 4), round(est.ci_high, 4)) == (0.1941, 0.9937)
    assert est.n == 4
    assert est.method == "clopper-pearson"


@pytest.mark.parametrize(("correct", "value"), [([False] * 5, 0.0), ([True] * 5, 1.0)])
def test_accuracy_edges(correct: list[bool], value: float) -> None:
    est = get_metric("accuracy").compute(_records_with_correct(correct))
    assert est.value == value
    if value == 0.0:
        assert est.ci_low == 0.0 and est.ci_high > 0.0
    else:
        assert est.ci_high == 1.0 and est.ci_low < 1.0


# -- mean metrics -----------------------------------------------------------------------------


def test_nll_brier_confidence_known_answers(hand: Records) -> None:
    nll = get_metric("nll").compute(hand)
    assert nll.value == pytest.approx((-math.log(0.7) - math.log(0.3) - math.log(0.5)) / 3)
    brier = get_metric("brier").compute(hand)
    assert brier.value == pytest.approx((0.14 + 0.86 + 0.375) / 3)
    conf = get_metric("mean_confidence").compute(hand)
    assert conf.value == pytest.approx(0.6)
    for est in (nll, brier, conf):
        assert est.n == 3 and est.method == "bootstrap"
        assert est.ci_low <= est.value <= est.ci_high


def test_median_perturbation_known_answer() -> None:
    r = Records.from_probabilities(
        np.tile([0.6, 0.4], (5, 1)),
        [0] * 5,
        list("abcde"),
        perturbation=[0.3, np.nan, 0.1, 0.2, 0.5],
    )
    est = get_metric("median_perturbation").compute(r)
    assert est.value == pytest.approx(0.25)
    assert est.n == 4  # NaN (unperturbed) examples are left out
    assert 0.1 <= est.ci_low <= est.value <= est.ci_high <= 0.5


# -- bootstrap ---------------------------------------------------------------------------------


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    values = np.random.default_rng(0).normal(size=200)
    assert bootstrap_ci(values, seed=5) == bootstrap_ci(values, seed=5)
    assert bootstrap_ci(values, seed=5) != bootstrap_ci(values, seed=6)
    assert mean_estimate(values, 3) == mean_estimate(values, 3)


def test_bootstrap_contains_point_estimate_for_symmetric_data() -> None:
    values = np.concatenate([np.linspace(-1, 1, 101), np.linspace(-1, 1, 101)]) + 2.0
    low, high = bootstrap_ci(values, seed=0)
    assert low < 2.0 < high
    assert high - 2.0 == pytest.approx(2.0 - low, rel=0.25)  # roughly symmetric
    lo_med, hi_med = bootstrap_ci(values, np.median, seed=0, resamples=300)
    assert lo_med <= 2.0 <= hi_med


def test_bootstrap_narrows_with_more_data() -> None:
    rng = np.random.default_rng(1)
    small = rng.normal(size=50)
    large = rng.normal(size=5000)
    w_small = np.subtract(*bootstrap_ci(small, seed=0)[::-1])
    w_large = np.subtract(*bootstrap_ci(large, seed=0)[::-1])
    assert w_large < w_small / 5  # width shrinks like 1/sqrt(n): 10x here


def test_bootstrap_level_orders_widths() -> None:
    values = np.random.default_rng(2).normal(size=100)
    l80, h80 = bootstrap_ci(values, level=0.80, seed=0)
    l99, h99 = bootstrap_ci(values, level=0.99, seed=0)
    assert l99 < l80 < h80 < h99


def test_bootstrap_generic_statistic_agrees_with_fast_mean_path() -> None:
    values = np.random.default_rng(3).random(40)
    fast = bootstrap_ci(values, seed=9)
    slow = bootstrap_ci(values, lambda v: float(np.mean(v)), seed=9)
    assert fast == pytest.approx(slow)


def test_derive_seed() -> None:
    a = derive_seed(0, "clean", "nll")
    assert a == derive_seed(0, "clean", "nll")
    assert a != derive_seed(1, "clean", "nll")
    assert 0 <= a < 2**63


def test_estimate_to_dict() -> None:
    est = Estimate(0.5, 0.4, 0.6, 10, "bootstrap")
    assert est.to_dict() == {
        "value": 0.5,
        "ci_low": 0.4,
        "ci_high": 0.6,
        "n": 10,
        "method": "bootstrap",
        "level": 0.95,
        "details": None,
    }
    with_details = Estimate(0.5, 0.4, 0.6, 10, "bootstrap", details={"groups": {"a": 0.5}})
    assert with_details.to_dict()["details"] == {"groups": {"a": 0.5}}


# -- contract tests, generated from the registry ----------------------------------------------

ALL_METRICS = METRICS.names()


def test_registry_is_not_empty() -> None:
    assert len(ALL_METRICS) >= 1


@pytest.mark.parametrize("name", ALL_METRICS)
def test_metric_declares_its_contract(name: str) -> None:
    cls = METRICS.get(name)
    assert issubclass(cls, Metric)
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert cls.name == name
    assert isinstance(cls.higher_is_better, bool)
    assert isinstance(cls.description, str) and cls.description.strip()
    assert get_metric(name) == cls()


@pytest.mark.parametrize("name", ALL_METRICS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metric_on_random_records_returns_a_finite_estimate_with_interval(
    name: str, seed: int
) -> None:
    metric = get_metric(name)
    records = random_records(60, seed=seed, perturbed=True, task=metric.tasks[0])
    assert metric.applies(records)
    est = metric.compute(records, seed=seed)
    assert isinstance(est, Estimate)
    assert all(math.isfinite(v) for v in (est.value, est.ci_low, est.ci_high))
    assert est.ci_low <= est.value <= est.ci_high
    assert 0 < est.n <= len(records)
    assert isinstance(est.method, str) and est.method
    assert 0 < est.level < 1
    assert metric.compute(records, seed=seed) == est  # deterministic for a seed


@pytest.mark.parametrize("name", ALL_METRICS)
def test_metric_on_a_single_record(name: str) -> None:
    metric = get_metric(name)
    records = random_records(1, seed=3, perturbed=True, task=metric.tasks[0])
    if not metric.applies(records):  # one example has one group and one domain
        with pytest.raises(ConfigError, match="does not apply"):
            metric.compute(records)
        return
    est = metric.compute(records)
    assert est.n == 1
    assert est.ci_low <= est.value <= est.ci_high


@pytest.mark.parametrize("name", ALL_METRICS)
def test_metric_on_empty_records_raises_never_zero(name: str) -> None:
    with pytest.raises(ConfigError, match="got no records"):
        get_metric(name).compute(_empty_records())


@pytest.mark.parametrize("name", ALL_METRICS)
def test_metric_that_does_not_apply_raises(name: str) -> None:
    metric = get_metric(name)
    records = random_records(20, seed=4, perturbed=False, task=metric.tasks[0])
    if metric.applies(records):
        est = metric.compute(records)
        assert math.isfinite(est.value)
    else:
        with pytest.raises(ConfigError, match="does not apply"):
            metric.compute(records)
