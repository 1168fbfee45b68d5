"""Calibration metrics (ECE, equal-mass ECE, maximum calibration error, over-confidence): known
answers, independent re-implementations, synthetic models and properties."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robustlab.errors import ConfigError
from robustlab.metrics import get_metric
from robustlab.records import Records

CALIBRATION = ("ece", "ece_equal_mass", "max_calibration_error", "overconfidence")


def make(confidence: list[float] | np.ndarray, correct: list[bool] | np.ndarray) -> Records:
    """Records with exactly these confidences and correctness (predicted class 0)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    n = len(confidence)
    return Records(
        example_id=[str(i) for i in range(n)],
        target=np.where(correct, 0, 1),
        prediction=np.zeros(n, dtype=int),
        correct=correct,
        confidence=confidence,
        loss=np.zeros(n),
        brier=np.zeros(n),
        perturbation=np.full(n, np.nan),
    )


# Six examples in three equal-width bins of width 1/15:
#   bin 8  (0.5333, 0.6]:    0.55 right, 0.58 wrong -> acc 0.5, conf 0.565, gap 0.065
#   bin 13 (0.8667, 0.9333]: 0.90 right, 0.92 right -> acc 1.0, conf 0.910, gap 0.090
#   bin 14 (0.9333, 1.0]:    0.97 right, 0.99 wrong -> acc 0.5, conf 0.980, gap 0.480
# ECE = 2/6 * (0.065 + 0.09 + 0.48) = 0.635 / 3 = 0.211666...; MCE = 0.48
# over-confidence = mean conf 4.91/6 - accuracy 4/6 = 0.91/6 = 0.151666...
HAND_CONF = [0.55, 0.58, 0.90, 0.92, 0.97, 0.99]
HAND_OK = [True, False, True, True, True, False]


@pytest.fixture
def hand() -> Records:
    return make(HAND_CONF, HAND_OK)


def test_ece_known_answer_and_reliability_diagram(hand: Records) -> None:
    est = get_metric("ece").compute(hand)
    assert est.value == pytest.approx(0.635 / 3)
    assert est.n == 6 and est.method == "bootstrap"
    details = est.details
    assert details is not None
    assert details["binning"] == "equal-width" and details["n_bins"] == 15
    bins = details["bins"]
    assert len(bins) == 15
    np.testing.assert_allclose([b["lower"] for b in bins], np.arange(15) / 15)
    np.testing.assert_allclose([b["upper"] for b in bins], np.arange(1, 16) / 15)
    assert [b["count"] for b in bins] == [0] * 8 + [2] + [0] * 4 + [2, 2]
    filled = {i: b for i, b in enumerate(bins) if b["count"]}
    assert filled[8]["accuracy"] == 0.5
    assert filled[8]["mean_confidence"] == pytest.approx(0.565)
    assert filled[13]["accuracy"] == 1.0
    assert filled[13]["mean_confidence"] == pytest.approx(0.91)
    assert filled[14]["accuracy"] == 0.5
    assert filled[14]["mean_confidence"] == pytest.approx(0.98)
    assert all(
        b["accuracy"] is None and b["mean_confidence"] is None for b in bins if not b["count"]
    )


def test_max_calibration_error_known_answer(hand: Records) -> None:
    est = get_metric("max_calibration_error").compute(hand)
    assert est.value == pytest.approx(0.48)
    assert est.details is not None and len(est.details["bins"]) == 15


def test_overconfidence_known_answer_and_sign(hand: Records) -> None:
    est = get_metric("overconfidence").compute(hand)
    assert est.value == pytest.approx(0.91 / 6)
    assert est.details == {
        "mean_confidence": pytest.approx(4.91 / 6),
        "accuracy": pytest.approx(4 / 6),
    }
    # Right at 0.6 while claiming 0.6 is calibrated; right every time while claiming 0.6 is
    # under-confident by 0.4 (negative).
    assert get_metric("overconfidence").compute(make([0.6] * 5, [1, 1, 1, 0, 0])).value == (
        pytest.approx(0.0, abs=1e-12)
    )
    assert get_metric("overconfidence").compute(make([0.6] * 4, [1] * 4)).value == (
        pytest.approx(-0.4)
    )


def test_ece_equal_mass_known_answers(hand: Records) -> None:
    # 3 equal-mass bins of 2 sorted examples are the three bins above: the same 0.211666...
    three = get_metric("ece_equal_mass").__class__(n_bins=3).compute(hand)
    assert three.value == pytest.approx(0.635 / 3)
    # 2 bins: {0.55 R, 0.58 W, 0.90 R} acc 2/3 conf 2.03/3 gap 0.01;
    #         {0.92 R, 0.97 R, 0.99 W} acc 2/3 conf 2.88/3 gap 0.293333; ECE = (0.01 + 0.2933) / 2
    two = get_metric("ece_equal_mass").__class__(n_bins=2).compute(hand)
    assert two.value == pytest.approx((0.01 + 0.88 / 3) / 2)
    assert [(b["lower"], b["upper"], b["count"]) for b in two.details["bins"]] == [
        (0.55, 0.90, 3),
        (0.92, 0.99, 3),
    ]
    assert two.details["bins"][1]["accuracy"] == pytest.approx(2 / 3)
    assert two.details["bins"][1]["mean_confidence"] == pytest.approx(0.96)
    # 15 bins over 6 examples: every example its own bin, empty bins skipped:
    # mean |correct - conf| = (0.45 + 0.58 + 0.10 + 0.08 + 0.03 + 0.99) / 6
    default = get_metric("ece_equal_mass").compute(hand)
    assert default.value == pytest.approx(2.23 / 6)
    assert len(default.details["bins"]) == 6
    assert all(b["count"] == 1 for b in default.details["bins"])


def test_equal_mass_ties_are_split_by_correctness_not_input_order() -> None:
    # Four examples at one confidence, two bins: the wrong ones sort first, whatever the order.
    # bins {W, W} and {R, R} at conf 0.7: gaps 0.7 and 0.3 -> ECE 0.5
    metric = get_metric("ece_equal_mass").__class__(n_bins=2)
    for ok in ([1, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 1]):
        assert metric.compute(make([0.7] * 4, ok)).value == pytest.approx(0.5)


def test_bin_edges_are_right_closed() -> None:
    # 0.6 = 9/15 closes bin 8; 1.0 closes the last bin; 0.0 falls in the first.
    details = get_metric("ece").compute(make([0.6, 1.0, 0.0], [True, True, False])).details
    counts = [b["count"] for b in details["bins"]]
    assert counts[8] == 1 and counts[14] == 1 and counts[0] == 1 and sum(counts) == 3


def test_single_example_is_its_own_gap() -> None:
    one = make([0.8], [False])
    for name in ("ece", "ece_equal_mass", "max_calibration_error"):
        est = get_metric(name).compute(one)
        assert est.value == pytest.approx(0.8)
        assert est.ci_low == est.ci_high == pytest.approx(0.8)
    assert get_metric("overconfidence").compute(one).value == pytest.approx(0.8)


def test_perfectly_confident_and_right_is_calibrated() -> None:
    r = make([1.0] * 10, [True] * 10)
    for name in CALIBRATION:
        est = get_metric(name).compute(r)
        assert est.value == 0.0 and est.ci_low == 0.0 and est.ci_high == 0.0


@pytest.mark.parametrize("bad", [0, -3, 2.5, "15", True])
def test_bad_bin_count_is_a_config_error(bad: object) -> None:
    cls = type(get_metric("ece"))
    with pytest.raises(ConfigError, match=r"The 'n_bins' parameter of metric 'ece' must be"):
        cls(n_bins=bad)  # type: ignore[arg-type]


# -- independent implementations from the formulas ---------------------------------------------


def _random_probs(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probs, rng.integers(0, k, size=n)


def _reference_bins(probs: np.ndarray, targets: np.ndarray) -> list[tuple[int, float, float]]:
    """(count, accuracy, mean confidence) per equal-width bin, by explicit masks."""
    conf = probs.max(axis=1)
    right = (probs.argmax(axis=1) == targets).astype(float)
    out = []
    for i in range(15):
        lo, hi = i / 15, (i + 1) / 15
        mask = (conf > lo) & (conf <= hi) if i else (conf <= hi)
        out.append(
            (
                int(mask.sum()),
                right[mask].mean() if mask.any() else 0,
                conf[mask].mean() if mask.any() else 0,
            )
        )
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_mce_brier_nll_match_independent_numpy(seed: int) -> None:
    probs, targets = _random_probs(500, 5, seed)
    r = Records.from_probabilities(probs, targets, [str(i) for i in range(500)])
    n = len(targets)
    bins = _reference_bins(probs, targets)
    ece = sum(c / n * abs(a - m) for c, a, m in bins)
    mce = max(abs(a - m) for c, a, m in bins if c)
    assert get_metric("ece").compute(r).value == pytest.approx(ece, abs=1e-12)
    assert get_metric("max_calibration_error").compute(r).value == pytest.approx(mce, abs=1e-12)

    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == targets
    assert get_metric("overconfidence").compute(r).value == pytest.approx(
        conf.mean() - right.mean()
    )

    # equal mass: sort by confidence (all distinct here), 15 consecutive near-equal chunks
    order = np.argsort(conf)
    chunks = np.array_split(order, 15)
    ece_mass = sum(len(ch) / n * abs(right[ch].mean() - conf[ch].mean()) for ch in chunks)
    assert get_metric("ece_equal_mass").compute(r).value == pytest.approx(ece_mass, abs=1e-12)

    onehot = np.eye(5)[targets]
    brier = ((probs - onehot) ** 2).sum(axis=1)
    nll = -np.log(probs[np.arange(n), targets])
    np.testing.assert_allclose(r.brier, brier, rtol=1e-12)
    np.testing.assert_allclose(r.loss, nll, rtol=1e-12)
    assert get_metric("brier").compute(r).value == pytest.approx(brier.mean())
    assert get_metric("nll").compute(r).value == pytest.approx(nll.mean())


def test_bootstrap_interval_agrees_with_a_plain_resampling_loop() -> None:
    probs, targets = _random_probs(400, 4, seed=7)
    r = Records.from_probabilities(probs, targets, [str(i) for i in range(400)])
    conf, right = r.confidence, r.correct.astype(float)
    edges = np.linspace(0, 1, 16)
    rng = np.random.default_rng(123)
    stats = []
    for _ in range(1000):
        i = rng.integers(0, 400, 400)
        b = np.clip(np.searchsorted(edges, conf[i], side="left") - 1, 0, 14)
        stats.append(
            sum(abs(right[i][b == k].sum() - conf[i][b == k].sum()) for k in range(15)) / 400
        )
    est = get_metric("ece").compute(r, seed=5)
    assert est.ci_low == pytest.approx(np.quantile(stats, 0.025), abs=0.015)
    assert est.ci_high == pytest.approx(np.quantile(stats, 0.975), abs=0.015)


# -- synthetic models --------------------------------------------------------------------------


def _synthetic(shift: float, n: int = 20_000, seed: int = 0) -> Records:
    """Confidence c ~ U(0.1, 1); correct ~ Bernoulli(clip(c - shift, 0, 1))."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.1, 1.0, size=n)
    return make(c, rng.random(n) < np.clip(c - shift, 0.0, 1.0))


def test_perfectly_calibrated_model_has_ece_near_zero() -> None:
    r = _synthetic(0.0)
    ece = get_metric("ece").compute(r)
    assert ece.value < 0.03
    assert ece.ci_low <= ece.value <= ece.ci_high < 0.04
    assert abs(get_metric("overconfidence").compute(r).value) < 0.015


def test_over_and_under_confident_models() -> None:
    # E[c - clip(c - 0.2)] = 0.2 - (1/0.9) * int_0.1^0.2 (0.2 - c) dc = 0.2 - 0.0056 = 0.194
    over = _synthetic(0.2)
    oc = get_metric("overconfidence").compute(over)
    assert oc.value == pytest.approx(0.194, abs=0.015)
    assert oc.ci_low > 0.17
    assert get_metric("ece").compute(over).value == pytest.approx(0.194, abs=0.015)
    small = _synthetic(0.2, n=5000, seed=1)
    assert get_metric("ece_equal_mass").compute(small).value == pytest.approx(0.194, abs=0.02)
    assert get_metric("max_calibration_error").compute(small).value > 0.15
    under = _synthetic(-0.1, n=5000, seed=2)
    assert get_metric("overconfidence").compute(under).value < -0.05
    assert get_metric("ece").compute(under).value > 0.05


# -- properties --------------------------------------------------------------------------------

examples = st.lists(
    st.tuples(st.floats(0.0, 1.0, allow_nan=False), st.booleans()), min_size=1, max_size=40
)


@settings(max_examples=40, deadline=None)
@given(examples, st.randoms(use_true_random=False))
def test_permuting_examples_changes_no_value_nor_interval(data, rnd) -> None:
    conf, ok = (list(x) for x in zip(*data))
    order = list(range(len(conf)))
    rnd.shuffle(order)
    a = make(conf, ok)
    b = make([conf[i] for i in order], [ok[i] for i in order])
    for name in CALIBRATION:
        ea, eb = get_metric(name).compute(a, seed=3), get_metric(name).compute(b, seed=3)
        assert (ea.value, ea.ci_low, ea.ci_high) == (eb.value, eb.ci_low, eb.ci_high)
        assert ea.details == eb.details


@settings(max_examples=40, deadline=None)
@given(examples, st.integers(0, 2**32))
def test_interval_contains_value_is_deterministic_and_ranges_hold(data, seed) -> None:
    conf, ok = (list(x) for x in zip(*data))
    r = make(conf, ok)
    values = {}
    for name in CALIBRATION:
        est = get_metric(name).compute(r, seed=seed)
        assert est.ci_low <= est.value <= est.ci_high
        assert get_metric(name).compute(r, seed=seed) == est
        assert est.n == len(conf)
        values[name] = est.value
    for name in ("ece", "ece_equal_mass", "max_calibration_error"):
        assert -1e-12 <= values[name] <= 1 + 1e-12
    assert values["max_calibration_error"] >= values["ece"] - 1e-12
    # |mean gap| <= mean of per-bin |gaps| (triangle inequality)
    assert abs(values["overconfidence"]) <= values["ece"] + 1e-12
    assert abs(values["overconfidence"]) <= values["ece_equal_mass"] + 1e-12


def test_interval_depends_on_the_seed() -> None:
    r = _synthetic(0.1, n=300, seed=1)
    for name in CALIBRATION:
        a = get_metric(name).compute(r, seed=0)
        b = get_metric(name).compute(r, seed=1)
        assert a.value == b.value
        assert (a.ci_low, a.ci_high) != (b.ci_low, b.ci_high)
        assert math.isfinite(a.ci_low) and a.ci_high - a.ci_low < 0.25


def test_details_are_strict_json(hand: Records) -> None:
    for name in CALIBRATION:
        details = get_metric(name).compute(hand).details
        assert json.loads(json.dumps(details, allow_nan=False)) == details
