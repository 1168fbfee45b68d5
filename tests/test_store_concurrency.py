"""Two scans writing to one store at once, from two OS processes, lose nothing (SQLite and
PostgreSQL): every unit and record is there once, models and datasets are not duplicated, and
each run is complete."""

from __future__ import annotations

import multiprocessing
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from _postgres import BACKENDS, store_url

N_EXAMPLES, SHARD = 60, 10
PROBES: list[Any] = [
    "clean",
    {"probe": "corruption", "corruption": "gaussian_noise", "severity": 2},
]
SUITE = {"name": "concurrent", "version": 1, "probes": PROBES}
UNITS = len(PROBES) * (N_EXAMPLES // SHARD)
SHARED_SEED = 100

_meet: list[Any] = []  # in a worker: the barrier both scans reach half way through
_calls = [0]


def _least_squares_digits() -> Any:
    """A real linear classifier: least squares on one-hot digit labels (about 90% accurate)."""
    from robustlab.data import load_digits

    train = load_digits("train")
    x = train.inputs.reshape(len(train), -1).numpy().astype(np.float64)
    x1 = np.hstack([x, np.ones((len(x), 1))])
    w = np.linalg.lstsq(x1, np.eye(10)[train.targets], rcond=None)[0]

    def linear_digits(batch: np.ndarray) -> np.ndarray:
        _calls[0] += 1
        if _calls[0] == 3 and _meet:  # both processes are mid-scan together, by construction
            _meet[0].wait(timeout=120)
        flat = batch.reshape(len(batch), -1)
        return np.hstack([flat, np.ones((len(flat), 1))]) @ w

    return linear_digits


def _scan_twice(url: str, seed: int, barrier: Any, results: Any) -> None:
    """A worker: scan with its own seed, then both workers scan the same thing at once."""
    try:
        import torch

        import robustlab
        from robustlab.data import ArrayDataset, load_digits
        from robustlab.models import FunctionModel

        torch.set_num_threads(1)
        _meet.append(barrier)
        test = load_digits("test")
        data = ArrayDataset(
            test.inputs[:N_EXAMPLES],
            test.targets[:N_EXAMPLES],
            ids=test.ids[:N_EXAMPLES],
            class_names=test.class_names,
            name="digits-60",
        )
        model = FunctionModel(
            _least_squares_digits(), num_classes=10, output="logits", name="lstsq", version="1"
        )
        ids = []
        barrier.wait(timeout=120)
        for s in (seed, SHARED_SEED):
            res = robustlab.scan(
                model, data, SUITE, store=url, seed=s, shard_size=SHARD, progress=False
            )
            ids.append(res.run_id)
            barrier.wait(timeout=120)
        results.put(("ok", ids))
    except BaseException as exc:
        results.put(("error", repr(exc)))
        raise


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_url(request.param, tmp_path)


@pytest.mark.skipif(sys.platform == "win32", reason="the forkserver start method needs POSIX")
def test_two_processes_scanning_into_one_store_lose_nothing(url: str) -> None:
    from robustlab.store import Store

    Store(url).close()  # an empty store, so neither worker starts on a missing file
    # fresh processes, as two shells would start, but forked from a server that imported
    # RobustLab once for every test here (spawning would import it again in each worker)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["robustlab", __name__])
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_scan_twice, args=(url, s, barrier, results)) for s in (1, 2)]
    for p in procs:
        p.start()
    outcome = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [o[0] for o in outcome] == ["ok", "ok"], outcome
    assert [p.exitcode for p in procs] == [0, 0]

    from robustlab.data import load_digits

    expected_ids = load_digits("test").ids[:N_EXAMPLES]
    s = Store(url)
    with s.engine.connect() as conn:

        def count(table: str) -> int:
            return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())

        assert count("models") == 1 and count("datasets") == 1  # written by both, stored once
        units_per_run = conn.execute(sa.text("SELECT run_id, COUNT(*) FROM units GROUP BY run_id"))
        duplicates = conn.execute(
            sa.text("SELECT unit_id FROM record_blocks GROUP BY unit_id HAVING COUNT(*) > 1")
        ).all()
        units_of: dict[str, int] = {str(r): int(n) for r, n in units_per_run.all()}
        n_records = s.count_records()
    assert duplicates == []
    runs = s.runs()
    by_seed = Counter(r["seed"] for r in runs)
    assert by_seed[1] == 1 and by_seed[2] == 1 and by_seed[SHARED_SEED] in (1, 2)
    assert {own for own, _ in (o[1] for o in outcome)} == {r["id"] for r in runs if r["seed"] < 3}
    for run in runs:
        assert run["status"] == "complete"
        assert units_of[run["id"]] == UNITS
        for probe in {u["probe_key"] for u in s.units(run["id"])}:
            recs = s.load_records(run["id"], probe)
            assert list(recs.example_id) == expected_ids  # every example once, in order
        assert len(s.metrics(run["id"])) > 0
    assert n_records == len(runs) * UNITS * SHARD
    shared = [s.metrics(r["id"]) for r in runs if r["seed"] == SHARED_SEED]
    assert all(m == shared[0] for m in shared)  # the same scan twice gives the same numbers
    s.close()
