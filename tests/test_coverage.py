"""Intervals that cover (issue 19 item 4): the debiased calibration error, the BCa bootstrap and
the simultaneous interval of a minimum over groups. Known answers run by default; the coverage
simulations (1,000 data sets each) are slow tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from robustlab.metrics import bootstrap_ci, get_metric
from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.ece_debiased import DebiasedCalibrationError
from robustlab.metrics.intervals import (
    bca_from_replicates,
    bca_interval,
    debiased_calibration_error,
    min_interval,
)
from robustlab.records import Records

DATASETS = 1000
#: 95% intervals must cover at least this often over 1,000 data sets (Monte-Carlo sd ~0.007).
NOMINAL = 0.93


def binary_records(confidence: np.ndarray, correct: np.ndarray, group=None) -> Records:
    """Records of a binary classifier predicting class 1 with ``confidence``."""
    confidence = np.asarray(confidence, dtype=np.float64)
    probs = np.column_stack([1 - confidence, confidence])
    targets = np.where(np.asarray(correct, bool), 1, 0)
    ids = [str(i) for i in range(len(confidence))]
    meta = {"group": list(group)} if group is not None else None
    return Records.from_probabilities(probs, targets, ids, meta=meta)


# -- known answers ------------------------------------------------------------------------------


def test_debiased_calibration_error_by_hand() -> None:
    # two equal-mass bins of three. Bin 1: confidence 0.9, accuracy 1/3: gap^2 = (17/30)^2,
    # variance term (1/3)(2/3)/2 = 1/9. Bin 2: confidence 0.95, accuracy 2/3: gap^2 = (17/60)^2.
    conf = np.array([0.9, 0.9, 0.9, 0.95, 0.95, 0.95])
    correct = np.array([0, 0, 1, 1, 1, 0])
    squared = 0.5 * ((17 / 30) ** 2 - 1 / 9) + 0.5 * ((17 / 60) ** 2 - 1 / 9)
    out = debiased_calibration_error(conf, correct, n_bins=2)
    assert out["n_bins"] == 2
    assert out["squared"] == pytest.approx(squared)
    assert out["value"] == pytest.approx(math.sqrt(squared))
    z = stats.norm.ppf(0.975)
    assert out["ci_low"] == pytest.approx(math.sqrt(max(squared - z * out["se_squared"], 0)))
    assert out["ci_high"] == pytest.approx(math.sqrt(squared + z * out["se_squared"]))
    est = DebiasedCalibrationError(n_bins=2).compute(binary_records(conf, correct))
    assert est.value == pytest.approx(math.sqrt(squared)) and est.method == "wald-debiased"
    assert est.n == 6 and est.details["squared"] == pytest.approx(squared)
    # the plug-in ECE keeps its name and its number: |1/3 - 0.9| / 2 + |2/3 - 0.95| / 2
    plug = get_metric("ece").compute(binary_records(conf, correct))
    assert plug.value == pytest.approx((17 / 30 + 17 / 60) / 2)


def test_debiased_error_of_a_perfect_prediction_is_zero_and_bins_need_two_examples() -> None:
    out = debiased_calibration_error(np.ones(40), np.ones(40))
    assert out["value"] == 0.0 and out["ci_low"] == 0.0
    # five examples: two bins (at least two examples each), not 15
    assert debiased_calibration_error(np.linspace(0.6, 1, 5), np.ones(5))["n_bins"] == 2
    one = debiased_calibration_error(np.array([0.8]), np.array([1.0]))
    assert one["n_bins"] == 1 and one["value"] == pytest.approx(0.2)


def test_debiased_error_is_below_the_plug_in_on_a_calibrated_model() -> None:
    rng = np.random.default_rng(3)
    conf = 0.5 + 0.5 * rng.beta(4, 1.2, 2000)
    correct = rng.random(2000) < conf
    records = binary_records(conf, correct)
    plug, debiased = get_metric("ece").compute(records), get_metric("ece_debiased").compute(records)
    assert debiased.value < plug.value
    assert debiased.ci_low == 0.0  # the data do not rule out perfect calibration
    assert plug.ci_low > 0.0  # the plug-in interval never holds the truth, 0


@pytest.mark.parametrize("seed", [0, 1])
def test_bca_matches_scipy(seed: int) -> None:
    data = np.random.default_rng(seed).exponential(size=80)
    ours = bca_interval(data, resamples=40_000, seed=seed)
    ref = stats.bootstrap(
        (data,), np.mean, method="BCa", n_resamples=40_000, random_state=seed
    ).confidence_interval
    width = ref.high - ref.low
    assert ours[0] == pytest.approx(ref.low, abs=0.03 * width)
    assert ours[1] == pytest.approx(ref.high, abs=0.03 * width)
    # a skewed mean: BCa moves the interval right of the percentile one
    pct = bootstrap_ci(data, seed=seed, resamples=40_000, method="percentile")
    assert ours[1] > pct[1]


def test_bca_known_answer_from_replicates() -> None:
    # Symmetric replicates around the point and a symmetric jackknife: z0 = 0 and a = 0, so BCa
    # is the percentile interval.
    boot = np.linspace(-1, 1, 2001)
    jack = np.array([-1.0, 1.0])
    low, high = bca_from_replicates(0.0, boot, jack)
    assert low == pytest.approx(np.quantile(boot, 0.025))
    assert high == pytest.approx(np.quantile(boot, 0.975))
    # A point with one replicate of 2001 below it: z0 = Phi^-1(1/2001) moves the ends down.
    shifted = bca_from_replicates(-0.9995, boot, jack)
    z0 = stats.norm.ppf(1 / 2001)
    q = stats.norm.cdf(2 * z0 + stats.norm.ppf(0.975))
    assert shifted[1] == pytest.approx(np.quantile(boot, q))
    assert bca_interval(np.full(10, 0.3)) == pytest.approx((0.3, 0.3))


def test_mean_metrics_use_bca() -> None:
    rng = np.random.default_rng(0)
    conf = 0.5 + 0.5 * rng.beta(8, 1.5, 300)
    records = binary_records(conf, rng.random(300) < conf)
    est = get_metric("mean_confidence").compute(records, seed=4)
    assert (est.ci_low, est.ci_high) == bca_interval(conf, seed=4)
    assert est.method == "bootstrap"


def test_min_interval_known_answers() -> None:
    # one group: its own Clopper-Pearson interval
    assert min_interval(np.array([7]), np.array([10])) == pytest.approx(clopper_pearson(7, 10))
    # two groups: each at level 0.975, the minimum of lowers and of uppers
    lo_a, hi_a = clopper_pearson(70, 100, 0.975)
    lo_b, hi_b = clopper_pearson(75, 100, 0.975)
    got = min_interval(np.array([70, 75]), np.array([100, 100]))
    assert got == pytest.approx((min(lo_a, lo_b), min(hi_a, hi_b)))
    assert min_interval(np.array([0, 5]), np.array([5, 5]))[0] == 0.0


def test_worst_group_accuracy_interval_is_simultaneous() -> None:
    correct = [True] * 7 + [False] * 3 + [True] * 9 + [False]
    group = ["a"] * 10 + ["b"] * 10
    est = get_metric("worst_group_accuracy").compute(
        binary_records(np.full(20, 0.9), correct, group)
    )
    assert est.value == 0.7 and est.method == "clopper-pearson-bonferroni"
    want = min_interval(np.array([7, 9]), np.array([10, 10]))
    assert (est.ci_low, est.ci_high) == pytest.approx(want)


# -- coverage by simulation -----------------------------------------------------------------------


def _coverage(draw, estimate, truth: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for i in range(DATASETS):
        low, high = estimate(*draw(rng), i)
        hits += low <= truth <= high
    return hits / DATASETS


def _calibration_data(gap: float, n: int = 300):
    def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        low = 0.5 + gap
        conf = low + (1 - low) * rng.beta(4, 1.2, n)
        return conf, rng.random(n) < conf - gap

    return draw


def _metric_interval(name: str):
    metric = get_metric(name)

    def estimate(conf: np.ndarray, correct: np.ndarray, i: int) -> tuple[float, float]:
        est = metric.compute(binary_records(conf, correct), seed=i)
        return est.ci_low, est.ci_high

    return estimate


@pytest.mark.slow
def test_coverage_ece_of_a_calibrated_model() -> None:
    cov = _coverage(_calibration_data(0.0), _metric_interval("ece_debiased"), 0.0, seed=11)
    assert cov >= NOMINAL, cov


@pytest.mark.slow
def test_coverage_ece_of_a_model_overconfident_by_8_points() -> None:
    # accuracy is confidence - 0.08 at every confidence: the calibration error is 0.08 in every
    # bin, so for the L1 ECE and its L2 (debiased) counterpart alike
    cov = _coverage(_calibration_data(0.08), _metric_interval("ece_debiased"), 0.08, seed=12)
    assert cov >= NOMINAL, cov


@pytest.mark.slow
def test_coverage_mean_confidence_at_300() -> None:
    # confidences piled up near 1 with a long tail (1 - 0.5 Beta(0.15, 2)): a skewed mean
    def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        conf = 1 - 0.5 * rng.beta(0.15, 2.0, 300)
        return conf, rng.random(300) < conf

    truth = 1 - 0.5 * 0.15 / 2.15
    cov = _coverage(draw, _metric_interval("mean_confidence"), truth, seed=13)
    assert cov >= NOMINAL, cov


@pytest.mark.slow
def test_coverage_worst_group_accuracy_with_three_close_groups() -> None:
    acc = np.array([0.70, 0.72, 0.74])
    group = np.repeat(["a", "b", "c"], 100)
    metric = get_metric("worst_group_accuracy")

    def draw(rng: np.random.Generator) -> tuple[np.ndarray]:
        return (rng.random(300) < np.repeat(acc, 100),)

    def estimate(correct: np.ndarray, i: int) -> tuple[float, float]:
        est = metric.compute(binary_records(np.full(300, 0.9), correct, group), seed=i)
        return est.ci_low, est.ci_high

    cov = _coverage(draw, estimate, 0.70, seed=14)
    assert cov >= NOMINAL, cov
