"""End to end on PostgreSQL: a real scan stored in a PostgreSQL server reads back exactly as the
same scan stored in SQLite, and the report is built from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import robustlab
from _postgres import postgres_server
from robustlab.report import collect, write_report
from robustlab.store import Store

SUITE = {
    "name": "pg-end-to-end",
    "version": 1,
    "probes": [
        "clean",
        {"probe": "corruption", "corruption": "gaussian_noise", "severity": 3},
        {"probe": "attack", "attack": "pgd", "epsilon": 0.1, "steps": 5},
    ],
}


@pytest.fixture
def pg_url() -> Iterator[str]:
    server = postgres_server()
    url = server.create_database()
    yield url
    server.drop_database(url)


def _stored(store: Store, run_id: str) -> dict[str, Any]:
    """Everything stored about a run that does not depend on when or where it ran."""
    units = store.units(run_id)
    keys = sorted({u["probe_key"] for u in units if u["status"] == "done"})
    run = store.run(run_id)
    return {
        "run": {k: run[k] for k in ("suite_spec", "seed", "shard_size", "status", "model_spec")},
        "units": sorted((u["probe_key"], u["shard"], u["start"], u["stop"]) for u in units),
        "records": {k: store.load_records(run_id, k).rows() for k in keys},
        "metrics": store.metrics(run_id),
        "artifacts": [(a["probe_key"], a["name"], a["data"]) for a in store.artifacts(run_id)],
    }


def test_a_scan_into_postgres_reads_back_like_the_same_scan_into_sqlite(
    cnn: Any, small_digits: Any, pg_url: str, tmp_path: Path
) -> None:
    on_pg = robustlab.scan(cnn, small_digits, SUITE, store=pg_url, shard_size=50, progress=False)
    assert on_pg.store.engine.dialect.name == "postgresql"
    assert on_pg.status == "complete"
    on_sqlite = robustlab.scan(
        cnn, small_digits, SUITE, store=str(tmp_path / "s.db"), shard_size=50, progress=False
    )
    pg, lite = _stored(on_pg.store, on_pg.run_id), _stored(on_sqlite.store, on_sqlite.run_id)
    assert len(pg["units"]) == 3 * 3 and len(pg["records"]) == 3
    assert all(len(rows) == len(small_digits) for rows in pg["records"].values())
    assert pg == lite  # every record, metric (with its details) and artifact, value for value

    # resuming against PostgreSQL finds the run and recomputes nothing
    again = robustlab.scan(cnn, small_digits, SUITE, store=pg_url, shard_size=50, progress=False)
    assert again.run_id == on_pg.run_id and again.metrics == on_pg.metrics

    # the report reads it back from the server
    doc = collect(Store(pg_url), [on_pg.run_id])
    (run,) = doc["runs"]
    assert run["status"] == "complete"
    assert {m["probe_key"] for m in run["metrics"]} >= {p["key"] for p in run["probes"]}
    password = str(on_pg.store.engine.url.password)
    assert password not in doc["store"] and ":***@" in doc["store"]
    html, js = write_report(on_pg.store, [on_pg.run_id], tmp_path / "report")
    assert html.is_file() and password not in html.read_text()
    assert json.loads(js.read_text())["runs"][0]["id"] == on_pg.run_id
