"""Records of every task in the store: task fields of every type, with NaN / None, round-trip
exactly on SQLite and PostgreSQL, and a new task's fields need no schema change."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from _postgres import BACKENDS, store_url
from helpers_core import random_records
from robustlab import records as records_module
from robustlab.errors import DataError
from robustlab.records import Records
from robustlab.store import Store
from robustlab.tasks import TASKS
from robustlab.tasks.base import Task


class Scored(Task):
    """A task made up for these tests: one field of every type the store encodes."""

    name: ClassVar[str] = "scored"
    output: ClassVar[str] = "(n,) scores"
    target: ClassVar[str] = "one label per example"
    fields: ClassVar[dict[str, str]] = {
        "count": "int",
        "points": "float",
        "passed": "bool",
        "answer": "str",
    }
    score_field: ClassVar[str] = "points"
    criterion: ClassVar[str] = "misclassified"
    outputs: ClassVar[tuple[str, ...]] = ("values",)

    def check_targets(self, targets: Any, where: str) -> np.ndarray:
        if len(targets) == 0:
            raise DataError(f"{where} is empty.")
        return np.asarray(targets, dtype=object)

    def record_fields(self, outputs: Any, targets: Any, **options: Any) -> dict[str, Any]:
        return dict(outputs)

    def default_broken(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray([p is False or p == 0 for p in fields["passed"].tolist()], dtype=bool)

    def predict(self, model: Any, inputs: Any) -> np.ndarray:
        raise NotImplementedError  # never called: these tests build records directly

    def reference_of(self, model: Any, inputs: Any) -> np.ndarray:
        raise NotImplementedError


@pytest.fixture
def scored_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(TASKS._items, "scored", Scored)
    records_module._task.cache_clear()
    yield
    records_module._task.cache_clear()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    for url in store_url(request.param, tmp_path):
        s = Store(url)
        yield s
        s.close()


def _run(store: Store) -> str:
    return store.create_run(
        run_key="k",
        model_id=store.add_model("m", {"name": "m", "adapter": "FunctionModel"}),
        dataset_id=store.add_dataset("d", {"name": "d", "size": 4}),
        suite_spec={"name": "t", "version": 1, "probes": ["clean"]},
        seed=0,
        shard_size=4,
        environment={},
    )


def _write(store: Store, run_id: str, key: str, shard: int, recs: Records) -> None:
    assert store.write_unit(
        run_id,
        probe_key=key,
        probe_spec={"probe": key},
        shard=shard,
        start=shard * 4,
        stop=shard * 4 + len(recs),
        records=recs,
        seconds=0.1,
        info={"kind": "clean"},
    )


def test_fields_of_every_type_round_trip_with_missing_values(
    store: Store, scored_task: None
) -> None:
    recs = Records(
        ["a", "b", "c", "d"],
        task="scored",
        fields={
            "count": [3, None, 0, -7],
            "points": [0.1 + 0.2, np.nan, -np.inf, 1e-300],
            "passed": [True, None, False, True],
            "answer": ["yes", None, "", "naïve ✓"],
        },
        perturbation=[0.5, np.nan, np.nan, 2.0],
        group=["g", None, "g", "h"],
        queries=[np.nan, 12, np.nan, 3],
    )
    assert recs.count.dtype == np.float64 and np.isnan(recs.count[1])  # an int with a gap
    assert recs.passed.dtype == np.float64 and recs.answer.dtype == object
    assert recs.broken.tolist() == [False, False, True, False]
    run_id = _run(store)
    _write(store, run_id, "p", 0, recs)
    back = store.load_records(run_id, "p")
    assert back.task == "scored"
    assert back.rows() == recs.rows()
    assert back.rows()[1] == {
        "example_id": "b",
        "count": None,
        "points": None,
        "passed": None,
        "answer": None,
        "perturbation": None,
        "value": None,
        "group": None,
        "domain": None,
        "queries": 12,
        "similarity": None,
    }
    assert back.points[0] == 0.1 + 0.2 and back.points[2] == -math.inf  # exact floats
    assert back.points[3] == 1e-300 and back.answer[3] == "naïve ✓" and back.answer[2] == ""
    assert back.count.tolist()[::2] == [3.0, 0.0]
    np.testing.assert_array_equal(back.score, recs.score)
    complete = recs.subset(np.array([0, 3]))  # no gap: the int and bool columns keep their type
    _write(store, run_id, "q", 0, complete)
    again = store.load_records(run_id, "q")
    assert again.count.dtype == np.int64 and again.count.tolist() == [3, -7]
    assert again.passed.dtype == bool and again.passed.tolist() == [True, True]


def test_regression_and_ranking_records_round_trip(store: Store) -> None:
    run_id = _run(store)
    for task in ("regression", "ranking"):
        parts = [random_records(4, seed=s, task=task) for s in (1, 2)]
        for shard in (1, 0):  # out of order: loaded by shard
            _write(store, run_id, task, shard, parts[shard])
        back = store.load_records(run_id, task)
        assert back.task == task
        assert back.rows() == Records.concat(parts).rows()
    assert store.count_records(run_id) == 16 and store.count_records() == 16


def test_explicit_broken_and_unit_records(store: Store) -> None:
    run_id = _run(store)
    recs = random_records(4, seed=5)
    recs.broken = np.array([False, False, True, True])  # e.g. a targeted attack's outcome
    _write(store, run_id, "targeted", 0, recs)
    back = store.load_records(run_id, "targeted")
    assert back.broken_is_set and back.broken.tolist() == [False, False, True, True]
    (unit,) = store.units(run_id)
    direct = store.unit_records(unit["id"])
    assert direct is not None and direct.rows() == recs.rows()
    assert store.unit_records(unit["id"] + 99) is None


def test_a_unit_is_one_block_however_many_records(store: Store) -> None:
    import sqlalchemy as sa

    run_id = _run(store)
    _write(store, run_id, "clean", 0, random_records(300, seed=1))
    with store.engine.connect() as conn:
        (n, task, encoding) = conn.execute(
            sa.text("SELECT n, task, encoding FROM record_blocks")
        ).one()
    assert (n, task, encoding) == (300, "classification", "json-zlib-1")
