"""Store reliability (issue 20): a database server lost mid-scan, long names on every backend,
and identical scans started at once, on SQLite and a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import robustlab
from _postgres import BACKENDS, PostgresServer, _bindir, postgres_server, store_url
from robustlab import ArrayDataset, FunctionModel
from robustlab.errors import StoreError
from robustlab.store import Store
from robustlab.store import store as store_module
from robustlab.store.store import StoreLost

SUITE = {"name": "reliability", "version": 1, "probes": ["clean"]}
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(params=BACKENDS)
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_url(request.param, tmp_path)


def _data(n: int = 40, *, long: bool = False) -> ArrayDataset:
    rng = np.random.default_rng(0)
    ids = [f"{'e' * 594}{i:06d}" for i in range(n)] if long else None
    group = [("g" if i % 2 else "h") * 300 for i in range(n)] if long else ["a"] * n
    return ArrayDataset(
        rng.random((n, 4), dtype=np.float32),
        rng.integers(0, 3, n),
        ids=ids,
        meta={"group": group},
        modality="tabular",
        name="rows",
    )


def _model(name: str = "linear", hook: Any = None) -> FunctionModel:
    def fn(x: np.ndarray) -> np.ndarray:
        if hook is not None:
            hook()
        return np.asarray(x)[:, :3]

    return FunctionModel(fn, num_classes=3, output="logits", modality="tabular", name=name)


# -- long names ----------------------------------------------------------------------------------
def test_long_example_ids_and_group_labels_are_stored_alike_on_every_backend(any_url: str) -> None:
    res = robustlab.scan(_model(), _data(long=True), SUITE, store=any_url, progress=False)
    records = Store(any_url).load_records(res.run_id, "clean")
    assert len(records.rows()[0]["example_id"]) == 600
    assert {len(r["group"]) for r in records.rows()} == {300}


def test_a_model_name_too_long_for_the_store_is_refused_alike_before_a_run_starts(
    any_url: str,
) -> None:
    # before: SQLite kept a 300-character name and PostgreSQL failed with a driver DataError
    with pytest.raises(StoreError, match=r"models\.name is 300 characters \(at most 256\)"):
        robustlab.scan(_model("m" * 300), _data(), SUITE, store=any_url, progress=False)
    assert Store(any_url).count_runs() == 0


# -- concurrent identical scans -----------------------------------------------------------------
SCRIPT = """
import sys, time
import numpy as np
import robustlab
from robustlab import ArrayDataset, FunctionModel

def fn(x):
    time.sleep(0.05)
    return np.asarray(x)[:, :3]

rng = np.random.default_rng(0)
data = ArrayDataset(rng.random((80, 4), dtype=np.float32), rng.integers(0, 3, 80),
                    modality="tabular", name="rows")
model = FunctionModel(fn, num_classes=3, output="logits", modality="tabular", name="slow",
                      batch_size=10)
suite = {"name": "reliability", "version": 1, "probes": ["clean"]}
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all four start at this moment
res = robustlab.scan(model, data, suite, store=sys.argv[1], shard_size=10, progress=False)
print(res.run_id)
"""


def test_four_identical_scans_started_at_once_make_one_run(any_url: str, tmp_path: Path) -> None:
    script = tmp_path / "scan.py"
    script.write_text(textwrap.dedent(SCRIPT))
    Store(any_url).close()  # the schema exists before the race: this test is about runs
    env = {"PYTHONPATH": SRC, "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    at = str(time.time() + 12)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), any_url, at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1][-2000:] for o in outs]
    run_ids = {o[0].strip().splitlines()[-1] for o in outs}
    store = Store(any_url)
    assert store.count_runs() == 1
    assert len(run_ids) == 1
    (run_id,) = run_ids
    units = store.units(run_id)
    assert sorted(u["shard"] for u in units) == list(range(8))  # each unit stored once
    assert store.count_records(run_id) == 80
    assert store.run(run_id)["status"] == "complete"


# -- the database server lost mid-scan -----------------------------------------------------------
class _OwnServer:
    """A PostgreSQL server of this test alone, so that stopping it harms no other test."""

    def __init__(self) -> None:
        from _postgres import _start

        postgres_server()  # skips (or fails in CI) the same way when there is no PostgreSQL
        self.server = PostgresServer(_start())
        # its admin connections must outlive the restarts of these tests
        url = self.server._admin.url
        self.server._admin.dispose()
        self.server._admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with self.server._admin.connect() as conn:
            self.data = conn.exec_driver_sql("SHOW data_directory").scalar_one()
        import shlex

        # the options it was started with, to start it again after a stop
        args = shlex.split(Path(self.data, "postmaster.opts").read_text())[1:]
        keep = [a for i, a in enumerate(args) if a != "-D" and (i == 0 or args[i - 1] != "-D")]
        self.options = " ".join(shlex.quote(a) for a in keep)

    def stop(self, mode: str = "immediate") -> None:
        import os

        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        pg_ctl = str(Path(str(_bindir()), "pg_ctl"))
        subprocess.run(
            [*as_user, pg_ctl, "-D", self.data, "-m", mode, "stop"],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        import os

        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        pg_ctl = str(Path(str(_bindir()), "pg_ctl"))
        subprocess.run(
            [*as_user, pg_ctl, "-D", self.data, "-o", self.options, "-w", "start"],
            check=True,
            # not captured: the server inherits pg_ctl's output, so a pipe would never close
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def restart_soon(self, after: float) -> None:
        """Stop the server now and start it again ``after`` seconds later, in the background."""
        import threading

        # fast: a clean shutdown; this test server runs with synchronous_commit=off, so an
        # immediate one would lose the last commits it acknowledged
        self.stop("fast")
        threading.Timer(after, self.start).start()

    def kill_connections(self, url: str) -> None:
        name = sa.make_url(url).database
        with self.server._admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": name},
            )


@pytest.fixture(scope="module")
def own_server() -> _OwnServer:
    return _OwnServer()


def _at_shard(action: Any, data: ArrayDataset, shard: int) -> Any:
    """A model function that calls ``action`` once, when the scan's unit reaches the first
    example of ``shard`` (units of 10). Preflight's checks, which run before the store is opened,
    may see that example too: a dry run of preflight counts how often, and those calls are
    skipped."""
    from robustlab.runner.preflight import preflight

    row = np.asarray(data.inputs[shard * 10])
    seen = [0]

    def counting(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if np.allclose(x[0], row):
            seen[0] += 1
        return x[:, :3]

    probe = FunctionModel(
        counting, num_classes=3, output="logits", modality="tabular", batch_size=10
    )
    preflight(probe, data)
    in_preflight, seen[0] = seen[0], 0

    def fn(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if np.allclose(x[0], row):
            seen[0] += 1
            if seen[0] == in_preflight + 1:
                action()
        return x[:, :3]

    return fn


def test_a_scan_rides_out_a_postgres_restart(own_server: _OwnServer) -> None:
    # before: the first write after the stop failed with "connection refused"
    url = own_server.server.create_database()
    data = _data()
    model = FunctionModel(
        _at_shard(lambda: own_server.restart_soon(1.5), data, 2),
        num_classes=3,
        output="logits",
        modality="tabular",
        name="linear",
        batch_size=10,
    )
    res = robustlab.scan(model, data, SUITE, store=url, shard_size=10, progress=False)
    store = Store(url)
    assert store.run(res.run_id)["status"] == "complete"
    assert store.count_records(res.run_id) == 40
    assert len(store.units(res.run_id)) == 4


def test_a_scan_survives_its_connections_to_postgres_being_killed(own_server: _OwnServer) -> None:
    url = own_server.server.create_database()
    data = _data()
    model = FunctionModel(
        _at_shard(lambda: own_server.kill_connections(url), data, 2),
        num_classes=3,
        output="logits",
        modality="tabular",
        name="linear",
        batch_size=10,
    )
    res = robustlab.scan(model, data, SUITE, store=url, shard_size=10, progress=False)
    store = Store(url)
    assert store.run(res.run_id)["status"] == "complete"
    assert store.count_records(res.run_id) == 40


def test_a_scan_whose_postgres_server_stops_fails_clearly_and_keeps_its_units(
    own_server: _OwnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RETRY_DELAYS", (0.1, 0.2))
    url = own_server.server.create_database()
    data = _data()
    model = FunctionModel(
        _at_shard(own_server.stop, data, 2),
        num_classes=3,
        output="logits",
        modality="tabular",
        name="linear",
        batch_size=10,
    )
    started = time.monotonic()
    with pytest.raises(StoreLost) as lost:
        robustlab.scan(model, data, SUITE, store=url, shard_size=10, progress=False)
    assert time.monotonic() - started < 60
    message = str(lost.value)
    shown = sa.make_url(url)
    assert f"{shown.host}:{shown.port}" in message
    assert shown.password not in message and "***" in message
    assert "units finished so far are safe" in message
    assert "re-run the same scan" in message
