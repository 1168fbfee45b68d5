"""Subgroup and per-class disparity metrics: known answers, when they apply, bootstrap semantics
and properties."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robustlab.errors import ConfigError
from robustlab.metrics import get_metric
from robustlab.records import Records

GROUP = ("worst_group_accuracy", "group_accuracy_gap")
CLASS = ("worst_class_accuracy", "class_accuracy_std")
ALL = (*GROUP, *CLASS, "macro_std")


def make(
    correct: Sequence[bool] | np.ndarray,
    group: Sequence[object] | None = None,
    target: Sequence[int] | np.ndarray | None = None,
    k: int = 5,
) -> Records:
    """Records with exactly this correctness, group and target columns."""
    n = len(correct)
    ok = np.asarray(correct, dtype=bool)
    y = np.zeros(n, dtype=int) if target is None else np.asarray(target, dtype=int)
    return Records(
        example_id=[str(i) for i in range(n)],
        target=y,
        prediction=np.where(ok, y, (y + 1) % k),
        correct=ok,
        confidence=np.full(n, 0.9),
        loss=np.zeros(n),
        brier=np.zeros(n),
        perturbation=np.full(n, np.nan),
        group=list(group) if group is not None else [],
    )


# group a: R R W -> 2/3; group b: R W -> 1/2; group c: R -> 1 (a group of one counts);
# no group: W W -> left out. Worst 1/2 (b), best 1 (c), gap 1/2, over 6 grouped examples.
HAND = make(
    [True, True, False, True, False, True, False, False],
    ["a", "a", "a", "b", "b", "c", None, None],
)


def test_worst_group_accuracy_known_answer() -> None:
    est = get_metric("worst_group_accuracy").compute(HAND)
    assert est.value == 0.5
    assert est.n == 6 and est.method == "clopper-pearson-bonferroni"
    assert est.details == {
        "groups": {
            "a": {"accuracy": pytest.approx(2 / 3), "n": 3},
            "b": {"accuracy": 0.5, "n": 2},
            "c": {"accuracy": 1.0, "n": 1},
        },
        "worst_group": "b",
    }


def test_group_accuracy_gap_known_answer() -> None:
    est = get_metric("group_accuracy_gap").compute(HAND)
    assert est.value == 0.5
    assert est.details is not None
    assert est.details["best_group"] == "c" and est.details["worst_group"] == "b"
    assert set(est.details["groups"]) == {"a", "b", "c"}


def test_groups_are_compared_by_their_text() -> None:
    # 1 and "1" are one group once stored; 2 is the other.
    r = make([True, False, True, True], [1, "1", 2, 2])
    est = get_metric("worst_group_accuracy").compute(r)
    assert est.value == 0.5
    assert est.details["groups"] == {"1": {"accuracy": 0.5, "n": 2}, "2": {"accuracy": 1.0, "n": 2}}


@pytest.mark.parametrize(
    "group",
    [
        None,  # no group column
        [None] * 4,
        ["a"] * 4,
        ["a", "a", None, None],
    ],
)
def test_group_metrics_do_not_apply_without_two_groups(group: list[object] | None) -> None:
    r = make([True, False, True, True], group)
    for name in GROUP:
        metric = get_metric(name)
        assert not metric.applies(r)
        with pytest.raises(ConfigError, match="does not apply"):
            metric.compute(r)


def test_group_metrics_apply_with_two_groups_even_of_one_example() -> None:
    r = make([True, False], ["a", "b"])
    assert get_metric("worst_group_accuracy").compute(r).value == 0.0
    assert get_metric("group_accuracy_gap").compute(r).value == 1.0


def test_a_group_missing_from_a_resample_is_absent_not_zero() -> None:
    # One wrong example alone in group "tiny" among 99 right ones: the point value is 0, but a
    # resample misses "tiny" with probability (1 - 1/100)^100 = 0.37, and its minimum is then 1.
    r = make([False] + [True] * 99, ["tiny"] + ["big"] * 99)
    worst = get_metric("worst_group_accuracy").compute(r)
    assert worst.value == 0.0
    # worst-group accuracy's interval is simultaneous Clopper-Pearson (issue 19 item 4): the
    # group of one, 0/1, has the upper bound 1 - 0.0125 at level 1 - 0.05/2; the big group's
    # 99/99 is above it
    assert worst.ci_low == 0.0 and worst.ci_high == pytest.approx(0.9875)
    gap = get_metric("group_accuracy_gap").compute(r)
    assert gap.value == 1.0
    assert gap.ci_low == 0.0 and gap.ci_high == 1.0


def test_class_metrics_known_answers() -> None:
    # class 0: R R W W -> 1/2; class 1: R R R -> 1; class 2: W -> 0 (a class of one counts);
    # classes 3 and 4 of the 5 are absent and not counted as 0.
    # population std of (0.5, 1, 0): sqrt((0 + 0.25 + 0.25) / 3) = sqrt(1/6)
    r = make(
        [True, True, False, False, True, True, True, False],
        target=[0, 0, 0, 0, 1, 1, 1, 2],
    )
    worst = get_metric("worst_class_accuracy").compute(r)
    assert worst.value == 0.0
    assert worst.n == 8
    assert worst.details == {
        "classes": {
            "0": {"accuracy": 0.5, "n": 4},
            "1": {"accuracy": 1.0, "n": 3},
            "2": {"accuracy": 0.0, "n": 1},
        },
        "worst_class": "2",
    }
    std = get_metric("class_accuracy_std").compute(r)
    assert std.value == pytest.approx(math.sqrt(1 / 6))
    assert std.value == pytest.approx(np.std([0.5, 1.0, 0.0]))
    assert std.details["mean_class_accuracy"] == pytest.approx(0.5)
    assert set(std.details["classes"]) == {"0", "1", "2"}


def test_class_metrics_with_one_class_and_equal_classes() -> None:
    one = make([True, False, True, True])
    assert get_metric("worst_class_accuracy").compute(one).value == 0.75
    assert get_metric("class_accuracy_std").compute(one).value == 0.0
    even = make([True, False] * 4, target=[0, 0, 1, 1, 2, 2, 3, 3])
    assert get_metric("class_accuracy_std").compute(even).value == 0.0


def test_class_metrics_match_an_independent_implementation() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, size=700)
    ok = rng.random(700) < np.linspace(0.3, 0.9, 7)[y]
    r = make(ok, target=y, k=7)
    per_class = [ok[y == c].mean() for c in range(7)]
    assert get_metric("worst_class_accuracy").compute(r).value == pytest.approx(min(per_class))
    assert get_metric("class_accuracy_std").compute(r).value == pytest.approx(np.std(per_class))


def test_bootstrap_interval_agrees_with_a_plain_resampling_loop() -> None:
    # the gap's interval is a bootstrap (worst-group accuracy's is simultaneous Clopper-Pearson
    # since issue 19 item 4)
    rng = np.random.default_rng(1)
    g = rng.choice(["x", "y", "z"], size=300, p=[0.5, 0.3, 0.2])
    ok = rng.random(300) < np.where(g == "x", 0.9, np.where(g == "y", 0.8, 0.6))
    r = make(ok, list(g))
    loop_rng = np.random.default_rng(99)
    stats = []
    for _ in range(1000):
        i = loop_rng.integers(0, 300, 300)
        accs = [ok[i][g[i] == name].mean() for name in set(g[i])]
        stats.append(max(accs) - min(accs))
    est = get_metric("group_accuracy_gap").compute(r, seed=4)
    assert est.ci_low == pytest.approx(np.quantile(stats, 0.025), abs=0.03)
    assert est.ci_high == pytest.approx(np.quantile(stats, 0.975), abs=0.03)


def test_interval_depends_on_the_seed_and_narrows_with_data() -> None:
    rng = np.random.default_rng(2)
    small = make(rng.random(60) < 0.7, [f"g{i % 3}" for i in range(60)], target=np.arange(60) % 4)
    large = make(
        rng.random(6000) < 0.7, [f"g{i % 3}" for i in range(6000)], target=np.arange(6000) % 4
    )
    exact = ("worst_group_accuracy", "worst_class_accuracy")  # Clopper-Pearson: no seed
    for name in GROUP + CLASS:
        a, b = get_metric(name).compute(small, seed=0), get_metric(name).compute(small, seed=1)
        same = (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
        assert a.value == b.value and same == (name in exact)
        big = get_metric(name).compute(large, seed=0)
        assert big.ci_high - big.ci_low < (a.ci_high - a.ci_low) / 3


# -- properties --------------------------------------------------------------------------------

rows = st.lists(
    st.tuples(st.booleans(), st.sampled_from(["a", "b", "c", None]), st.integers(0, 3)),
    min_size=1,
    max_size=40,
)


def _columns(data: list[tuple[bool, object, int]]) -> tuple[list[bool], list[object], list[int]]:
    ok, group, target = (list(x) for x in zip(*data))
    return ok, group, target


@settings(max_examples=60, deadline=None)
@given(rows, st.randoms(use_true_random=False))
def test_permuting_examples_changes_no_value_nor_interval(data, rnd) -> None:
    ok, group, target = _columns(data)
    order = list(range(len(ok)))
    rnd.shuffle(order)
    a = make(ok, group, target)
    b = make([ok[i] for i in order], [group[i] for i in order], [target[i] for i in order])
    for name in ALL:
        metric = get_metric(name)
        assert metric.applies(a) == metric.applies(b)
        if not metric.applies(a):
            continue
        ea, eb = metric.compute(a, seed=2), metric.compute(b, seed=2)
        assert (ea.value, ea.ci_low, ea.ci_high, ea.n) == (eb.value, eb.ci_low, eb.ci_high, eb.n)
        assert ea.details == eb.details


@settings(max_examples=60, deadline=None)
@given(rows, st.integers(0, 2**32))
def test_worst_overall_best_order_and_intervals(data, seed) -> None:
    ok, group, target = _columns(data)
    r = make(ok, group, target)
    grouped = [o for o, g in zip(ok, group) if g is not None]
    applies = len({g for g in group if g is not None}) >= 2
    assert get_metric("worst_group_accuracy").applies(r) == applies
    if applies:
        worst = get_metric("worst_group_accuracy").compute(r, seed=seed)
        gap = get_metric("group_accuracy_gap").compute(r, seed=seed)
        groups = worst.details["groups"]
        best = max(v["accuracy"] for v in groups.values())
        assert worst.value <= np.mean(grouped) <= best
        assert gap.value == pytest.approx(best - worst.value)
        assert sum(v["n"] for v in groups.values()) == len(grouped) == worst.n
    per_class = [np.mean([o for o, t in zip(ok, target) if t == c]) for c in sorted(set(target))]
    assert get_metric("worst_class_accuracy").compute(r).value == pytest.approx(min(per_class))
    assert get_metric("worst_class_accuracy").compute(r).value <= np.mean(ok)
    assert get_metric("class_accuracy_std").compute(r).value == pytest.approx(np.std(per_class))
    for name in ALL:
        metric = get_metric(name)
        if metric.applies(r):
            est = metric.compute(r, seed=seed)
            assert est.ci_low <= est.value <= est.ci_high
            assert est.ci_low >= 0.0 and est.ci_high <= 1.0
            assert metric.compute(r, seed=seed) == est


def test_details_are_strict_json() -> None:
    for name in ALL:
        details = get_metric(name).compute(HAND).details
        assert json.loads(json.dumps(details, allow_nan=False)) == details


def test_macro_std_known_answer() -> None:
    # class 0: group a R W (1/2), group b R R (1): class accuracy 3/4, weighted std
    #   sqrt((2 (1/4)^2 + 2 (1/4)^2) / 4) = 1/4
    # class 1: group a R (1), group b W W W (0): class accuracy 1/4, weighted std
    #   sqrt((1 (3/4)^2 + 3 (1/4)^2) / 4) = sqrt(3)/4
    # MacroStd = (1/4 + sqrt(3)/4) / 2; the ungrouped example is left out.
    r = make(
        [True, False, True, True, True, False, False, False, False],
        ["a", "a", "b", "b", "a", "b", "b", "b", None],
        [0, 0, 0, 0, 1, 1, 1, 1, 1],
    )
    est = get_metric("macro_std").compute(r)
    assert est.value == pytest.approx((0.25 + math.sqrt(3) / 4) / 2)
    assert est.n == 8 and est.ci_low <= est.value <= est.ci_high
    assert est.details["classes"]["0"]["std"] == pytest.approx(0.25)
    assert est.details["classes"]["1"]["groups"]["b"] == {"accuracy": 0.0, "n": 3}
    # every subgroup of a class equally served: 0, whatever the classes' own accuracies
    even = make(
        [True, False, True, False, True, True], ["a", "a", "b", "b", "a", "b"], [0] * 4 + [1] * 2
    )
    assert get_metric("macro_std").compute(even).value == 0.0
    assert not get_metric("macro_std").applies(make([True, False], ["a", "a"]))
