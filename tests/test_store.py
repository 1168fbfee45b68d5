"""Tests of the SQLAlchemy results store: schema, idempotent writes, lookups and concurrency.

Every test that takes the ``store`` or ``url`` fixture runs on SQLite and on a real PostgreSQL
server (see ``_postgres.py``), so both backends pass the same tests.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from _postgres import BACKENDS, store_url
from helpers_core import random_records
from robustlab.errors import StoreError
from robustlab.records import Records
from robustlab.store import SCHEMA_VERSION, Store, open_store
from robustlab.store import schema as t

TABLES = {"robustlab_info", "models", "datasets", "runs", "units", "record_blocks", "metrics"}
MODEL_SPEC = {"name": "tiny-model", "adapter": "TorchModel", "num_classes": 4}
DATA_SPEC = {"name": "tiny-data", "size": 60, "kind": "ArrayDataset"}
SUITE_SPEC = {"name": "t", "version": 1, "probes": ["clean"]}


def _new_run(
    store: Store, run_key: str = "key-1", model_fp: str = "m1", data_fp: str = "d1"
) -> str:
    return store.create_run(
        run_key=run_key,
        model_id=store.add_model(model_fp, MODEL_SPEC),
        dataset_id=store.add_dataset(data_fp, DATA_SPEC),
        suite_spec=SUITE_SPEC,
        seed=0,
        shard_size=20,
        environment={"python": "3"},
    )


def _write(store: Store, run_id: str, probe_key: str, shard: int, records: Records | None) -> bool:
    n = 0 if records is None else len(records)
    return store.write_unit(
        run_id,
        probe_key=probe_key,
        probe_spec={"name": probe_key},
        shard=shard,
        start=shard * 20,
        stop=shard * 20 + n,
        records=records,
        seconds=0.5,
        info={"label": probe_key, "kind": "clean"},
    )


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty store on each backend."""
    yield from store_url(request.param, tmp_path)


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = Store(url)
    yield s
    s.close()


def _count(store: Store, table: str) -> int:
    if table == "records":  # records live in one block per unit: count the records in them
        return store.count_records()
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


# -- opening and schema -----------------------------------------------------------------------


def test_schema_is_created_with_version(store: Store) -> None:
    assert set(sa.inspect(store.engine).get_table_names()) >= TABLES
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT key, value FROM robustlab_info")).all()
    assert rows == [("schema_version", str(SCHEMA_VERSION))]
    assert store.count_runs() == 0
    assert store.runs() == []


def test_reopening_keeps_data_and_single_version_row(url: str) -> None:
    a = Store(url)
    run_id = _new_run(a)
    a.close()
    b = Store(url)
    assert [r["id"] for r in b.runs()] == [run_id]
    assert _count(b, "robustlab_info") == 1
    b.close()


def test_newer_schema_is_refused(url: str) -> None:
    s = Store(url)
    with s.engine.begin() as conn:
        conn.execute(
            sa.update(t.info)
            .where(t.info.c.key == "schema_version")
            .values(value=str(SCHEMA_VERSION + 1))
        )
    s.close()
    with pytest.raises(StoreError) as info:
        Store(url)
    msg = str(info.value)
    assert "was written by a newer RobustLab" in msg
    assert f"schema {SCHEMA_VERSION + 1}" in msg
    assert "pip install -U robustlab" in msg


def test_missing_folder_cannot_be_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/s.db"
    with pytest.raises(StoreError) as info:
        Store(url)
    msg = str(info.value)
    assert msg.startswith(f"Cannot open store {url!r}")
    assert "does not exist" in msg


def test_unknown_dialect_cannot_be_opened() -> None:
    with pytest.raises(StoreError, match=r"Cannot open store 'foo://bar'"):
        Store("foo://bar")


def test_a_file_that_is_not_a_database_cannot_be_opened(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="Cannot"):
        Store(str(junk))


def test_bare_path_is_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Store("x.db")
    assert s.url == "sqlite:///x.db"
    assert s.engine.dialect.name == "sqlite"
    _new_run(s)
    s.close()
    assert (tmp_path / "x.db").is_file()
    assert Store(str(tmp_path / "x.db")).count_runs() == 1


def test_in_memory_sqlite() -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        s = Store(url)
        assert set(sa.inspect(s.engine).get_table_names()) >= TABLES
        s.close()


def test_open_store(store: Store, tmp_path: Path) -> None:
    assert open_store(store) is store
    other = open_store(str(tmp_path / "o.db"))
    assert isinstance(other, Store) and other.url.endswith("o.db")
    other.close()
    assert repr(store) == f"Store({store.url!r})"


# -- models, datasets, runs -------------------------------------------------------------------


def test_add_model_and_dataset_are_idempotent_by_fingerprint(store: Store) -> None:
    m1 = store.add_model("fp-a", MODEL_SPEC)
    assert store.add_model("fp-a", {**MODEL_SPEC, "name": "renamed"}) == m1
    m2 = store.add_model("fp-b", MODEL_SPEC)
    assert m2 != m1
    d1 = store.add_dataset("fp-a", DATA_SPEC)  # same fingerprint, other table
    assert store.add_dataset("fp-a", DATA_SPEC) == d1
    assert _count(store, "models") == 2
    assert _count(store, "datasets") == 1


def test_create_run_is_listed_with_names(store: Store) -> None:
    run_id = _new_run(store)
    runs = store.runs()
    assert len(runs) == 1
    r = runs[0]
    assert r["id"] == run_id and len(run_id) == 12
    assert r["model_name"] == "tiny-model"
    assert r["model_fingerprint"] == "m1"
    assert r["model_spec"] == MODEL_SPEC
    assert r["dataset_name"] == "tiny-data"
    assert r["dataset_spec"] == DATA_SPEC
    assert r["suite_name"] == "t" and r["suite_version"] == 1
    assert r["suite_spec"] == SUITE_SPEC
    assert r["status"] == "running"
    assert r["environment"] == {"python": "3"}
    assert store.count_runs() == 1
    assert store.run(run_id[:6])["id"] == run_id


def test_runs_newest_first_and_filter_by_suite(store: Store) -> None:
    first = _new_run(store, "k1")
    second = store.create_run(
        run_key="k2",
        model_id=store.add_model("m1", MODEL_SPEC),
        dataset_id=store.add_dataset("d1", DATA_SPEC),
        suite_spec={"name": "other", "version": 2, "probes": []},
        seed=1,
        shard_size=20,
        environment={},
    )
    assert [r["id"] for r in store.runs()] == [second, first]
    assert [r["id"] for r in store.runs(suite="t")] == [first]
    assert store.runs(suite="nothing") == []


def test_find_resumable_and_set_status(store: Store) -> None:
    assert store.find_resumable("key-1") is None
    run_id = _new_run(store, "key-1")
    assert store.find_resumable("key-1") == run_id
    assert store.find_resumable("key-2") is None
    store.set_status(run_id, "complete")
    assert store.run(run_id)["status"] == "complete"


# -- units and records -------------------------------------------------------------------------


def test_write_unit_stores_unit_and_records_once(store: Store) -> None:
    run_id = _new_run(store)
    recs = random_records(20, seed=1)
    assert _write(store, run_id, "clean", 0, recs) is True
    assert _write(store, run_id, "clean", 0, random_records(20, seed=9)) is False
    assert _count(store, "units") == 1
    assert _count(store, "records") == 20
    assert store.load_records(run_id, "clean").rows() == recs.rows()  # the first write stays
    units = store.units(run_id)
    assert len(units) == 1
    u = units[0]
    assert (u["probe_key"], u["shard"], u["start"], u["stop"]) == ("clean", 0, 0, 20)
    assert u["status"] == "done" and u["seconds"] == 0.5
    assert u["info"] == {"label": "clean", "kind": "clean"}
    assert set(store.finished_units(run_id)) == {("clean", 0)}


def test_write_unit_is_atomic(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit whose records cannot be written leaves neither the unit nor any record behind."""
    run_id = _new_run(store)
    good = random_records(5, seed=1)
    bad = random_records(5, seed=2)
    # NOT NULL: the record block's insert fails inside the unit's transaction
    monkeypatch.setattr("robustlab.store.store.encode_block", lambda records: None)
    with pytest.raises(StoreError) as info:
        _write(store, run_id, "clean", 1, bad)
    assert "Cannot write unit 'clean' shard 1" in str(info.value)
    assert _count(store, "units") == 0
    assert _count(store, "records") == 0
    assert store.finished_units(run_id) == {}
    monkeypatch.undo()
    assert _write(store, run_id, "clean", 1, good) is True
    assert store.load_records(run_id, "clean").rows() == good.rows()


def test_write_unit_for_an_unknown_run_is_an_error_not_already_stored(store: Store) -> None:
    _new_run(store)
    with pytest.raises(StoreError, match=r"Cannot write unit 'clean' shard 0 of run 'nope'"):
        _write(store, "nope", "clean", 0, random_records(3))
    assert _count(store, "units") == 0


def test_write_unit_without_records_and_skipped_status(store: Store) -> None:
    run_id = _new_run(store)
    ok = store.write_unit(
        run_id,
        probe_key="attack",
        probe_spec={"name": "attack"},
        shard=-1,
        start=0,
        stop=0,
        records=None,
        seconds=0.0,
        status="skipped",
        info={"reason": "needs gradients"},
    )
    assert ok is True
    assert store.units(run_id)[0]["status"] == "skipped"
    assert _count(store, "records") == 0
    with pytest.raises(StoreError, match="has no records for probe 'attack'"):
        store.load_records(run_id, "attack")


def test_load_records_shard_then_position_order(store: Store) -> None:
    run_id = _new_run(store)
    parts = {s: random_records(4 + s, seed=s) for s in range(3)}
    for s in (2, 0, 1):  # written out of order, as a parallel backend would
        assert _write(store, run_id, "clean", s, parts[s])
    _write(store, run_id, "other", 0, random_records(3, seed=7))
    loaded = store.load_records(run_id, "clean")
    expected = Records.concat([parts[0], parts[1], parts[2]])
    assert loaded.rows() == expected.rows()
    assert len(store.load_records(run_id, "other")) == 3


def test_load_records_round_trips_values_exactly(store: Store) -> None:
    run_id = _new_run(store)
    recs = Records.from_probabilities(
        np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]]),
        [0, 0, 1],
        ["x", "y", "z"],
        meta={"group": ["g1", "g2", None], "domain": [None, "d", "d"]},
        perturbation=[0.125, np.nan, 0.5],
    )
    _write(store, run_id, "clean", 0, recs)
    back = store.load_records(run_id, "clean")
    assert back.rows() == recs.rows()
    assert np.isnan(back.perturbation[1])
    np.testing.assert_array_equal(back.loss, recs.loss)


def test_records_are_kept_per_run(store: Store) -> None:
    a = _new_run(store, "k1")
    b = _new_run(store, "k2")
    _write(store, a, "clean", 0, random_records(3, seed=1))
    _write(store, b, "clean", 0, random_records(5, seed=2))
    assert len(store.load_records(a, "clean")) == 3
    assert len(store.load_records(b, "clean")) == 5


# -- metrics -----------------------------------------------------------------------------------


def _metric_row(metric: str, value: float) -> dict:
    return {
        "probe_key": "clean",
        "metric": metric,
        "value": value,
        "ci_low": value - 0.1,
        "ci_high": value + 0.1,
        "n": 20,
        "method": "bootstrap",
        "higher_is_better": True,
    }


def test_write_metrics_replaces_previous(store: Store) -> None:
    run_id = _new_run(store)
    other = _new_run(store, "k2")
    store.write_metrics(run_id, [_metric_row("accuracy", 0.5), _metric_row("nll", 1.0)])
    store.write_metrics(other, [_metric_row("accuracy", 0.9)])
    store.write_metrics(run_id, [_metric_row("accuracy", 0.75)])
    assert store.metrics(run_id) == [{**_metric_row("accuracy", 0.75), "details": None}]
    assert store.metrics(other) == [{**_metric_row("accuracy", 0.9), "details": None}]
    store.write_metrics(run_id, [])
    assert store.metrics(run_id) == []


def test_json_columns_keep_non_finite_floats_as_standard_json(store: Store) -> None:
    """NaN and infinities in specs and details read back as floats; what is stored is standard
    JSON (PostgreSQL's json type rejects a bare NaN token)."""
    import json
    import math

    run_id = _new_run(store)
    details = {"bins": [0.5, float("nan"), None], "gap": float("inf"), "low": float("-inf")}
    store.write_metrics(run_id, [{**_metric_row("ece", 0.1), "details": details}])
    back = store.metrics(run_id)[0]["details"]
    assert back["bins"][0] == 0.5 and math.isnan(back["bins"][1]) and back["bins"][2] is None
    assert back["gap"] == math.inf and back["low"] == -math.inf
    with store.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT CAST(details AS TEXT) FROM metrics")).scalar_one()

    def strict(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token}")

    json.loads(raw, parse_constant=strict)


# -- resolve_run -------------------------------------------------------------------------------


def _insert_run_with_id(store: Store, run_id: str) -> None:
    with store.engine.begin() as conn:
        src = dict(conn.execute(sa.select(t.runs).limit(1)).mappings().one())
        conn.execute(sa.insert(t.runs).values({**src, "id": run_id}))


def test_resolve_run_by_full_id_and_unique_prefix(store: Store) -> None:
    run_id = _new_run(store)
    assert store.resolve_run(run_id) == run_id
    assert store.resolve_run(run_id[:4]) == run_id


def test_resolve_run_ambiguous_prefix(store: Store) -> None:
    _new_run(store)
    _insert_run_with_id(store, "abc111")
    _insert_run_with_id(store, "abc222")
    assert store.resolve_run("abc1") == "abc111"
    with pytest.raises(StoreError) as info:
        store.resolve_run("abc")
    msg = str(info.value)
    assert "Run id prefix 'abc' is ambiguous" in msg
    assert "abc111" in msg and "abc222" in msg
    assert "give more characters" in msg


def test_resolve_run_missing_id(store: Store) -> None:
    _new_run(store)
    with pytest.raises(StoreError) as info:
        store.resolve_run("zzzz")
    msg = str(info.value)
    assert f"No run 'zzzz' in store {store.url!r}" in msg
    assert "`robustlab runs` lists them" in msg


def test_resolve_run_on_an_empty_store(store: Store) -> None:
    with pytest.raises(StoreError) as info:
        store.resolve_run("abc")
    assert "the store is empty; run a scan first" in str(info.value)


@pytest.mark.parametrize("pattern", ["%", "_", "____________", ""])
def test_resolve_run_prefix_is_literal_not_a_pattern(store: Store, pattern: str) -> None:
    """SQL LIKE wildcards in a typed id must not match arbitrary runs."""
    _new_run(store)
    with pytest.raises(StoreError):
        store.resolve_run(pattern)


# -- concurrency -------------------------------------------------------------------------------


def _worker(url: str, run_id: str, probe: str, count: int, barrier: Any = None) -> None:
    s = Store(url)
    for shard in range(count):
        if barrier is not None and shard in (0, count // 2):
            barrier.wait(timeout=60)  # both writers start together and meet half way
        if not _write(s, run_id, probe, shard, random_records(10, seed=shard)):
            raise SystemExit(f"unit {probe}/{shard} was refused")
    s.close()


def _check_both_writers(url: str, run_id: str, count: int) -> None:
    s = Store(url)
    assert _count(s, "units") == 2 * count
    assert _count(s, "records") == 2 * count * 10
    assert set(s.finished_units(run_id)) == {
        (p, k) for p in ("left", "right") for k in range(count)
    }
    for p in ("left", "right"):
        expected = Records.concat([random_records(10, seed=k) for k in range(count)])
        assert s.load_records(run_id, p).rows() == expected.rows()
    # they really overlapped: both first halves were written before either second half
    order = [(u["probe_key"], u["shard"]) for u in s.units(run_id)]
    first = [i for i, (_, k) in enumerate(order) if k < count // 2]
    second = [i for i, (_, k) in enumerate(order) if k >= count // 2]
    assert max(first) < min(second)
    s.close()


def test_two_threads_write_different_units(url: str) -> None:
    s = Store(url)
    run_id = _new_run(s)
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(target=_worker, args=(url, run_id, p, 10, barrier))
        for p in ("left", "right")
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    s.close()
    _check_both_writers(url, run_id, 10)


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method keeps this test fast")
def test_two_processes_write_different_units_and_lose_nothing(url: str) -> None:
    s = Store(url)
    run_id = _new_run(s)
    s.close()  # no engine is carried across the fork
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_worker, args=(url, run_id, p, 20, barrier)) for p in ("left", "right")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    _check_both_writers(url, run_id, 20)


def _replace_metrics(url: str, run_id: str, value: float, barrier: Any) -> None:
    s = Store(url)
    barrier.wait(timeout=60)
    for _ in range(15):
        s.write_metrics(run_id, [_metric_row("accuracy", value), _metric_row("nll", value)])
    s.close()


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method keeps this test fast")
def test_two_processes_finishing_one_run_replace_its_metrics_in_turn(url: str) -> None:
    """Two processes that resumed the same run both write its metrics at the end: each write
    replaces the other's rows whole, and neither fails on the other's rows."""
    s = Store(url)
    run_id = _new_run(s)
    s.close()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_replace_metrics, args=(url, run_id, v, barrier)) for v in (0.25, 0.75)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    s = Store(url)
    rows = s.metrics(run_id)
    assert len(rows) == 2 and len({r["value"] for r in rows}) == 1  # one writer's table, whole
    s.close()
