"""Known answers for the multiple-choice metrics (PDR, worst case, spread, consistency, RStd,
PriDe, disagreement, Kendall tau) and the multiple-choice records."""

from __future__ import annotations

import numpy as np
import pytest

from robustlab.llm.metrics import debias_pride, pride_prior, rank_stability, recall_std
from robustlab.metrics import get_metric
from robustlab.records import Records
from robustlab.tasks import get_task
from robustlab.tasks.multiple_choice import MCAnswer


def mc_records(rows: list[dict], ids: list[str], targets: list[int]) -> Records:
    """Records of hand-made answers (``rows``: MCAnswer fields)."""
    task = get_task("multiple_choice")
    return task.records([MCAnswer(**r) for r in rows], np.asarray(targets), ids)


def variant_records(table: dict[str, list[int]]) -> Records:
    """Records where ``table[variant][i]`` says whether example i was answered right (the
    right option is 0; a wrong answer picks option 1)."""
    parts = []
    for variant, correct in table.items():
        rows = [
            dict(target=0, num_options=4, generated=0 if c else 1, variant=variant) for c in correct
        ]
        parts.append(mc_records(rows, [f"e{i}" for i in range(len(correct))], [0] * len(correct)))
    return Records.concat(parts)


def value(name: str, records: Records) -> float:
    return get_metric(name).compute(records).value


def test_pdr_worst_case_and_spread_known_answers():
    recs = variant_records(
        {"clean": [1, 1, 1, 1], "format=a": [1, 0, 1, 0], "format=b": [1, 1, 1, 0]}
    )
    # perturbed accuracy (2 + 3) / 8 = 0.625 against clean 1.0
    assert value("pdr", recs) == pytest.approx(0.375)
    assert value("mc_accuracy", recs) == pytest.approx(0.625)
    assert value("clean_mc_accuracy", recs) == pytest.approx(1.0)
    worst = get_metric("worst_variant_accuracy").compute(recs)
    assert worst.value == pytest.approx(0.5) and worst.details["worst"] == "format=a"
    assert worst.ci_low <= worst.value <= worst.ci_high
    assert value("variant_range", recs) == pytest.approx(0.5)
    assert value("variant_std", recs) == pytest.approx(np.std([1.0, 0.5, 0.75]))
    # e0 and e2 answered the same option everywhere; e1 and e3 changed
    assert value("answer_consistency", recs) == pytest.approx(0.5)


def test_pdr_is_zero_without_a_drop_and_has_a_paired_interval():
    recs = variant_records({"clean": [1, 0, 1, 1, 0], "x": [1, 0, 1, 1, 0]})
    est = get_metric("pdr").compute(recs)
    assert est.value == 0.0 and est.ci_low == est.ci_high == 0.0  # paired: no noise at all


def test_rstd_known_answer():
    rows = [
        dict(target=0, num_options=2, generated=0),
        dict(target=0, num_options=2, generated=0),
        dict(target=1, num_options=2, generated=0),
        dict(target=1, num_options=2, generated=1),
    ]
    recs = mc_records(rows, list("abcd"), [0, 0, 1, 1])
    est = get_metric("rstd").compute(recs)
    assert est.value == pytest.approx(0.25)  # recalls 1.0 and 0.5
    assert est.details["recall_by_position"] == [1.0, 0.5]
    assert recall_std(np.array([0, 1, 2]), np.array([1, 1, 1], bool), 3)[0] == 0.0


def test_pride_recovers_a_known_prior_and_debiases():
    prior = np.array([0.5, 0.2, 0.2, 0.1])
    content = np.array([0.4, 0.2, 0.2, 0.2])  # option 0 is right; the model likes it mildly
    shifted = []
    for s in range(4):
        order = [(j + s) % 4 for j in range(4)]  # shown position j holds option order[j]
        shifted.append(np.log(prior * content[order]))
    assert np.allclose(pride_prior(np.stack(shifted)), prior)
    # shown with the right option at position 1, the biased model picks A; debiased, B
    observed = np.log(prior * content[[1, 0, 2, 3]])
    assert observed.argmax() == 0
    assert debias_pride(observed, prior).argmax() == 1


def test_pride_accuracy_metric_on_cyclic_records():
    prior = np.array([0.55, 0.15, 0.15, 0.15])
    content = np.array([0.3, 0.233, 0.233, 0.234])
    rows, ids, targets = [], [], []
    for e in range(8):
        right = e % 4  # the item's right option (original order)
        c = np.roll(content, right)  # content score of each original option
        for s in range(4):
            order = tuple((j + s) % 4 for j in range(4))
            lp = np.log(prior * c[list(order)])
            rows.append(
                dict(
                    target=order.index(right),
                    num_options=4,
                    generated=int(lp.argmax()),
                    logprobs=tuple(lp),
                    order=None if s == 0 else order,
                    variant="clean" if s == 0 else f"cyclic={s}",
                    scoring="logprob",
                )
            )
            ids.append(f"e{e}")
            targets.append(right)
    recs = get_task("multiple_choice").records(
        [MCAnswer(**r) for r in rows], np.asarray(targets), ids
    )
    est = get_metric("pride_accuracy").compute(recs)
    assert est.details["observed_accuracy"] < 0.5  # the prior wins where the answer is not A
    assert est.value == 1.0
    assert np.allclose(est.details["prior"], prior, atol=1e-6)


def test_generate_logprob_disagreement_and_record_fields():
    rows = [
        dict(target=0, num_options=3, generated=0, logprobs=(-0.1, -2.0, -3.0), scoring="logprob"),
        dict(target=1, num_options=3, generated=2, logprobs=(-2.0, -0.1, -3.0), scoring="logprob"),
        dict(target=2, num_options=3, generated=-1, completion="?", logprobs=(-0.5, -2.0, -0.1)),
    ]
    recs = mc_records(rows, ["a", "b", "c"], [0, 1, 2])
    assert recs.correct.tolist() == [True, True, False]  # logprob, logprob, generate (unparsed)
    assert recs.correct_generate.tolist() == [True, False, False]
    assert recs.correct_logprob.tolist() == [1.0, 1.0, 1.0]
    assert recs.agree.tolist() == [1.0, 0.0, 0.0]
    assert value("generate_logprob_disagreement", recs) == pytest.approx(2 / 3)
    assert recs.confidence[0] == pytest.approx(1 / (1 + np.exp(-1.9) + np.exp(-2.9)))


def test_records_map_permuted_choices_back_to_the_original_options():
    # options shown in order (2, 0, 1): the right option 0 is shown at position 1
    row = dict(target=1, num_options=3, generated=1, order=(2, 0, 1), variant="cyclic=2")
    recs = mc_records([row], ["a"], [0])
    assert recs.choice.tolist() == [0] and recs.correct.tolist() == [True]
    assert recs.target.tolist() == [1] and recs.prediction.tolist() == [1]


def test_rank_stability_kendall_tau():
    good = {"clean": np.ones(10), "f": np.ones(10)}
    mid = {"clean": np.r_[np.ones(6), np.zeros(4)], "f": np.r_[np.ones(5), np.zeros(5)]}
    bad = {"clean": np.r_[np.ones(2), np.zeros(8)], "f": np.r_[np.ones(1), np.zeros(9)]}
    est = rank_stability({"good": good, "mid": mid, "bad": bad})
    assert est.value == pytest.approx(1.0)
    swapped = {"clean": mid["clean"], "f": np.ones(10)}  # mid beats good under f
    flipped = rank_stability({"good": {"clean": np.ones(10), "f": mid["f"]}, "mid": swapped,
                              "bad": bad})  # fmt: skip
    assert flipped.value == pytest.approx(1 / 3)
    assert flipped.ci_low <= flipped.value <= flipped.ci_high
    with pytest.raises(Exception, match="at least 3 models"):
        rank_stability({"a": good, "b": bad})
