"""Ranking measures (ir-measures), intervals, paired tests and rank agreement: known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robustlab.ranking.evaluate import (
    bootstrap_mean,
    kendall_tau_topk,
    paired_test,
    per_query,
    rbo,
    subset_spread,
)
from robustlab.tasks import get_task

pytest.importorskip("ir_measures")

SCORES = np.array([[4.0, 3.0, 2.0, 1.0], [4.0, 3.0, 2.0, 1.0]])
QRELS = [{"d0": 2, "d1": 0, "d2": 1}, {"d3": 1}]
IDS = ["d0", "d1", "d2", "d3"]


def test_per_query_measures_match_hand_computed_values():
    got = per_query(SCORES, QRELS, IDS)
    # q1: DCG = 2/log2(2) + 1/log2(4) = 2.5; ideal = 2 + 1/log2(3)
    assert got["ndcg"][0] == pytest.approx(2.5 / (2 + 1 / math.log2(3)), abs=1e-6)
    assert got["ndcg"][1] == pytest.approx(1 / math.log2(5), abs=1e-6)
    assert got["reciprocal_rank"].tolist() == pytest.approx([1.0, 0.25])
    assert got["average_precision"].tolist() == pytest.approx([(1 + 2 / 3) / 2, 0.25])
    assert got["precision"].tolist() == pytest.approx([0.2, 0.1])
    assert got["recall"].tolist() == pytest.approx([1.0, 1.0])


def test_ties_keep_the_candidates_order_not_trec_evals_docid_order():
    flat = np.ones((1, 4))
    got = per_query(flat, [{"d3": 1}], IDS)
    assert got["reciprocal_rank"][0] == pytest.approx(0.25)  # trec_eval alone would say 1.0


def test_task_records_carry_the_ir_measures_fields():
    fields = get_task("ranking").record_fields(SCORES, QRELS, doc_ids=IDS)
    assert fields["ndcg"].tolist() == pytest.approx(per_query(SCORES, QRELS, IDS)["ndcg"])
    assert fields["relevant_rank"].tolist() == [1, 4]
    assert np.isnan(fields["kendall_tau"]).all()


def test_rbo_and_kendall_tau_known_answers():
    assert rbo(list("abcdef"), list("abcdef")) == pytest.approx(1.0)
    assert rbo(list("abc"), list("xyz")) == pytest.approx(0.0)
    assert rbo(["a", "b"], ["b", "a"], p=0.9) == pytest.approx(0.9)  # 0.81 + 0.1/0.9 * 0.81
    assert rbo(list("abcd"), list("abdc")) < rbo(list("abcd"), list("abcd"))
    s = np.array([4.0, 3.0, 2.0, 1.0])
    assert kendall_tau_topk(s, s) == pytest.approx(1.0)
    assert kendall_tau_topk(s, -s) == pytest.approx(-1.0)


def test_paired_test_and_intervals():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 30)
    better = paired_test(a, a + 0.1)
    assert better.difference == pytest.approx(0.1)
    assert better.low <= 0.1 <= better.high and better.p_randomisation < 0.001
    same = paired_test(a, a.copy())
    assert same.difference == 0.0 and same.p_randomisation == 1.0
    mean, low, high = bootstrap_mean(a, seed=1)
    assert low < mean < high and mean == pytest.approx(a.mean())
    spread = subset_spread(a, fraction=0.5, subsets=200, seed=0)
    assert 0 < spread["std"] < a.std() and spread["subset_size"] == 15
    assert spread["min"] <= spread["p05"] <= spread["p95"] <= spread["max"]
    assert subset_spread(np.full(10, 0.3))["std"] == pytest.approx(0.0)
