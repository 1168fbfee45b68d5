"""Tasks and task-generic records: contract tests generated from TASKS, known answers for the
regression and ranking records and metrics, and the classification records' compatibility API."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from helpers_core import random_outputs, random_records
from robustlab.errors import ConfigError, DataError, ModelError, RobustLabError
from robustlab.metrics import METRICS, get_metric
from robustlab.records import CORE_COLUMNS, RECORD_COLUMNS, Records
from robustlab.tasks import CRITERIA, TASKS, get_task
from robustlab.tasks.base import FIELD_TYPES

ALL_TASKS = TASKS.names()

#: An invalid target for each kind of task target (the contract test uses the one its task
#: refuses: a task must refuse at least one of these).
INVALID_TARGETS: list[Any] = [
    [],  # no examples
    np.zeros((3, 2)),  # not one target per example
    ["a", "b"],  # not numbers
    [0.5, float("nan")],  # not integer classes, and not finite
    [{"d": -1.0}],  # a negative relevance grade
]


# -- contract tests, generated from the registry ----------------------------------------------


def test_the_bundled_tasks_are_registered() -> None:
    assert {"classification", "regression", "ranking"} <= set(ALL_TASKS)


@pytest.mark.parametrize("name", ALL_TASKS)
def test_task_declares_its_contract(name: str) -> None:
    task = get_task(name)
    assert task.name == name and repr(task) == f"Task({name!r})"
    assert task.output.strip() and task.target.strip()
    assert task.fields and all(kind in FIELD_TYPES for kind in task.fields.values())
    assert not set(task.fields) & {*CORE_COLUMNS, "broken", "score"}  # fields never shadow core
    assert task.score_field in task.fields
    assert task.fields[task.score_field] in ("float", "int", "bool")
    assert task.outputs, "a task names the model outputs that produce it"
    assert task.criterion in CRITERIA and name in CRITERIA.get(task.criterion).tasks
    for metric in task.metrics:  # default metrics that exist are metrics of this task
        if metric in METRICS:
            assert name in METRICS.get(metric).tasks


@pytest.mark.parametrize("name", ALL_TASKS)
def test_check_targets_accepts_valid_targets_and_refuses_invalid_ones(name: str) -> None:
    task = get_task(name)
    _, targets = _outputs(name, 6)
    checked = task.check_targets(targets, "Dataset 'x'")
    assert len(checked) == 6
    refused = 0
    for bad in INVALID_TARGETS:
        try:
            task.check_targets(bad, "Dataset 'x'")
        except DataError as exc:
            assert "Dataset 'x'" in str(exc)
            refused += 1
    assert refused >= 2, f"{name}.check_targets accepts almost anything"


@pytest.mark.parametrize("name", ALL_TASKS)
def test_records_yield_the_declared_fields_and_round_trip(name: str) -> None:
    task = get_task(name)
    outputs, targets = _outputs(name, 9)
    ids = [f"e{i}" for i in range(9)]
    recs = task.records(outputs, task.check_targets(targets, "d"), ids, perturbation=np.ones(9))
    assert recs.task == name and len(recs) == 9
    assert set(recs.fields) == set(task.fields)
    assert list(recs.example_id) == ids and recs.perturbation.tolist() == [1.0] * 9
    assert recs.broken.dtype == bool and recs.broken.shape == (9,)
    np.testing.assert_array_equal(recs.score, recs.fields[task.score_field].astype(float))
    for field, kind in task.fields.items():
        assert getattr(recs, field) is recs.fields[field]
        col = recs.fields[field]
        assert col.dtype == {"str": object}.get(kind, col.dtype)
    assert Records.from_rows(recs.rows(), task=name).rows() == recs.rows()
    assert Records.from_columns(recs.columns(), task=name).columns() == recs.columns()
    assert Records.concat([recs, recs.subset(np.arange(2))]).rows() == recs.rows() + recs.rows()[:2]


@pytest.mark.parametrize("name", ALL_TASKS)
def test_records_refuse_outputs_of_the_wrong_length(name: str) -> None:
    task = get_task(name)
    outputs, targets = _outputs(name, 5)
    with pytest.raises((ModelError, DataError)):
        task.records(outputs[:3], task.check_targets(targets, "d"), [str(i) for i in range(5)])


def _outputs(task: str, n: int) -> tuple[Any, Any]:
    if task == "classification":
        rng = np.random.default_rng(0)
        p = rng.dirichlet(np.ones(3), size=n)
        return p, rng.integers(0, 3, size=n)
    return random_outputs(task, n)


# -- regression --------------------------------------------------------------------------------


def test_regression_records_known_answers() -> None:
    recs = Records.from_outputs(
        "regression",
        np.array([[2.5], [0.0], [-1.0]]),  # (n, 1) is read as (n,)
        [2.0, 0.5, -1.0],
        ["a", "b", "c"],
        reference=[2.0, np.nan, 1.0],
    )
    assert recs.task == "regression"
    assert recs.prediction.tolist() == [2.5, 0.0, -1.0]
    assert recs.error.tolist() == [0.5, -0.5, 0.0]
    assert recs.squared_error.tolist() == [0.25, 0.25, 0.0]
    assert recs.score.tolist() == [0.25, 0.25, 0.0]
    assert recs.broken.tolist() == [False, False, False]  # nothing to compare a prediction to
    assert recs.rows()[1]["reference"] is None and recs.rows()[2]["reference"] == 1.0
    with pytest.raises(AttributeError, match="task 'regression' have no column 'correct'"):
        _ = recs.correct


def test_mse_and_mae_known_answers() -> None:
    recs = Records.from_outputs("regression", [3.0, 1.0, 2.0, 6.0], [1.0, 1.0, 3.0, 2.0], "abcd")
    mse = get_metric("mse").compute(recs, seed=0)
    mae = get_metric("mae").compute(recs, seed=0)
    assert mse.value == pytest.approx((4 + 0 + 1 + 16) / 4)
    assert mae.value == pytest.approx((2 + 0 + 1 + 4) / 4)
    for est in (mse, mae):
        assert est.method == "bootstrap" and est.n == 4
        assert est.ci_low <= est.value <= est.ci_high
    assert not get_metric("mse").higher_is_better
    many = Records.from_outputs("regression", np.arange(200.0), np.arange(200.0) + 1.0, range(200))
    assert get_metric("mae").compute(many).value == 1.0
    assert get_metric("mae").compute(many).ci_low == 1.0  # every error is 1


def test_metrics_refuse_records_of_another_task() -> None:
    regression = random_records(20, task="regression")
    assert not get_metric("accuracy").measures(regression)
    assert get_metric("mse").measures(regression)
    with pytest.raises(
        ConfigError,
        match=r"applies to classification(/certified_classification)? records, not 'regression'",
    ):
        get_metric("accuracy").compute(regression)
    with pytest.raises(ConfigError, match=r"'mse' applies to regression records.*accuracy"):
        get_metric("mse").compute(random_records(20))


# -- ranking -----------------------------------------------------------------------------------


def test_ranking_records_known_answers() -> None:
    scores = np.array(
        [
            [3.0, 2.0, 1.0, 0.0],  # ranking d0 d1 d2 d3
            [0.0, 1.0, 2.0, 3.0],  # ranking d3 d2 d1 d0
            [1.0, 1.0, 0.0, 0.0],  # a tie keeps the candidates' order: d0 d1 d2 d3
        ]
    )
    qrels = [{"d0": 1, "d2": 2}, {"d0": 1, "zz": 3}, {"d9": 1}]
    recs = Records.from_outputs(
        "ranking", scores, qrels, ["q1", "q2", "q3"], doc_ids=["d0", "d1", "d2", "d3"]
    )
    # q1: DCG = 1/log2(2) + 2/log2(4) = 2; ideal 2/log2(2) + 1/log2(3)
    assert recs.ndcg[0] == pytest.approx(2 / (2 + 1 / math.log2(3)))
    # q2: d0 is 4th, DCG = 1/log2(5); ideal from all judgements (zz=3, d0=1)
    assert recs.ndcg[1] == pytest.approx((1 / math.log2(5)) / (3 + 1 / math.log2(3)))
    assert recs.ndcg[2] == 0.0  # its only relevant document is not a candidate
    assert recs.reciprocal_rank.tolist() == [1.0, 0.25, 0.0]
    assert recs.relevant_rank.dtype == np.float64  # one query has no relevant candidate
    np.testing.assert_array_equal(recs.relevant_rank, [1, 4, np.nan])
    assert [r["relevant_rank"] for r in recs.rows()] == [1, 4, None]
    assert recs.broken.tolist() == [False, False, True]  # no relevant document in the top 10
    per_query = Records.from_outputs(
        "ranking", scores[:1], qrels[:1], ["q1"], doc_ids=[["d2", "d1", "d0", "d3"]]
    )
    assert per_query.reciprocal_rank.tolist() == [1.0] and per_query.relevant_rank.tolist() == [1]


def test_ranking_demotion_past_the_cutoff_breaks_a_query() -> None:
    scores = np.arange(12.0)[None, :]  # document 0 scores lowest: rank 12
    recs = Records.from_outputs("ranking", scores, [{"0": 1}], ["q"])
    assert recs.relevant_rank.tolist() == [12] and recs.broken.tolist() == [True]
    recs = Records.from_outputs("ranking", scores[:, ::-1], [{"0": 1}], ["q"])
    assert recs.relevant_rank.tolist() == [1] and recs.broken.tolist() == [False]


def test_ranking_doc_ids_must_name_every_candidate() -> None:
    with pytest.raises(DataError, match="doc_ids must name the 3 candidates"):
        Records.from_outputs("ranking", np.zeros((1, 3)), [{"a": 1}], ["q"], doc_ids=["a", "b"])


# -- the classification records' API, as before the tasks ----------------------------------------


def test_classification_records_keep_their_columns_and_constructor() -> None:
    recs = Records(
        example_id=["a", "b"],
        target=[0, 1],
        prediction=[0, 0],
        correct=[True, False],
        confidence=[0.9, 0.6],
        loss=[0.1, 0.9],
        brier=[0.02, 0.7],
        perturbation=[np.nan, 0.5],
    )
    assert recs.task == "classification"
    assert recs.target.dtype == np.int64 and recs.correct.dtype == bool
    assert np.isnan(recs.reference).all() and np.isnan(recs.value).all()
    assert recs.group.tolist() == [None, None]
    assert list(recs.rows()[0]) == list(RECORD_COLUMNS)
    assert recs.broken.tolist() == [False, True] and not recs.broken_is_set
    recs.correct = np.array([False, True])  # broken follows the criterion's field
    assert recs.broken.tolist() == [True, False]
    recs.value = [0.25, 0.5]
    assert recs.value.dtype == np.float64 and recs.fields["correct"].tolist() == [False, True]
    with pytest.raises(RobustLabError, match="'value' has the wrong length"):
        recs.value = [1.0]
    with pytest.raises(ConfigError, match="have no field 'error'"):
        Records(example_id=["a"], error=[1.0])


def test_explicit_broken_survives_rows_concat_subset_and_columns() -> None:
    """A probe judging by another criterion (e.g. a targeted attack) sets broken itself."""
    recs = random_records(6, seed=2)
    recs.broken = np.array([True, False, True, False, False, False])
    assert recs.broken_is_set and recs.rows()[0]["broken"] is True
    back = Records.from_rows(recs.rows())
    assert back.broken_is_set and back.broken.tolist() == recs.broken.tolist()
    both = Records.concat([recs, random_records(2, seed=3)])  # one part derives its flags
    assert both.broken.tolist()[:6] == recs.broken.tolist()
    assert both.broken.tolist()[6:] == (~random_records(2, seed=3).correct).tolist()
    assert recs.subset(np.array([2, 0])).broken.tolist() == [True, True]
    with pytest.raises(RobustLabError, match="several tasks"):
        Records.concat([recs, random_records(2, task="regression")])


def test_records_pickle() -> None:
    import pickle

    recs = random_records(5, seed=1, task="ranking")
    back = pickle.loads(pickle.dumps(recs))
    assert back.task == "ranking" and back.rows() == recs.rows()


def test_from_probabilities_is_the_classification_task() -> None:
    probs = np.array([[0.2, 0.8], [0.6, 0.4]])
    a = Records.from_probabilities(probs, [1, 1], ["x", "y"], reference=[1, 0])
    b = get_task("classification").records(probs, np.array([1, 1]), ["x", "y"], reference=[1, 0])
    assert a.rows() == b.rows()
    assert a.loss.tolist() == [-math.log(0.8), -math.log(0.4)]
    assert a.brier.tolist() == pytest.approx([0.08, 0.72])


def test_broken_comes_from_the_criterion_given_the_clean_outputs() -> None:
    from robustlab.tasks.criteria import ScoreChanged, TargetedClass

    task = get_task("regression")
    recs = task.records([1.0, 2.5, 3.05], [1.0, 2.0, 3.0], "abc", clean=[1.0, 2.0, 3.0])
    assert recs.broken.tolist() == [False, True, False]  # moved more than the 0.1 tolerance
    assert recs.broken_is_set
    loose = task.records(
        [1.0, 2.5, 3.05],
        [1.0, 2.0, 3.0],
        "abc",
        clean=[1.0, 2.0, 3.0],
        criterion=ScoreChanged(tolerance=1.0),
    )
    assert loose.broken.tolist() == [False, False, False]
    probs = np.array([[0.1, 0.9], [0.8, 0.2]])
    targeted = get_task("classification").records(
        probs, [1, 1], "xy", criterion=TargetedClass(target_class=0)
    )
    assert targeted.broken.tolist() == [False, True]  # class 0 reached on the second only
    assert targeted.correct.tolist() == [True, False]
