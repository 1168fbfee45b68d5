"""Schema migrations: stores written by older releases open upgraded, newer ones are refused
untouched, and two processes upgrading one store at once upgrade it once (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from _postgres import BACKENDS, store_url
from robustlab.errors import StoreError
from robustlab.records import Records
from robustlab.store import SCHEMA_VERSION, Store, migrate
from robustlab.store import schema as t

# -- the release that wrote schema 1: its tables, frozen here as its schema.py declared them ----

OLD = sa.MetaData()
sa.Table(
    "robustlab_info",
    OLD,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
for _name, _extra in (("models", "adapter"), ("datasets", "size")):
    sa.Table(
        _name,
        OLD,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column(_extra, sa.String(64) if _extra == "adapter" else sa.Integer, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
sa.Table(
    "runs",
    OLD,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("run_key", sa.String(64), nullable=False, index=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("suite_name", sa.String(128), nullable=False),
    sa.Column("suite_version", sa.Integer, nullable=False),
    sa.Column("suite_spec", sa.JSON, nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("shard_size", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("environment", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    "units",
    OLD,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("probe_key", sa.String(512), nullable=False),
    sa.Column("probe_spec", sa.JSON, nullable=False),
    sa.Column("shard", sa.Integer, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("stop", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("info", sa.JSON, nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("run_id", "probe_key", "shard", name="uq_unit"),
)
sa.Table(
    "records",
    OLD,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("example_id", sa.String(512), nullable=False),
    sa.Column("target", sa.Integer, nullable=False),
    sa.Column("prediction", sa.Integer, nullable=False),
    sa.Column("correct", sa.Boolean, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("loss", sa.Float, nullable=False),
    sa.Column("brier", sa.Float, nullable=False),
    sa.Column("perturbation", sa.Float, nullable=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("reference", sa.Integer, nullable=True),
    sa.Column("group", sa.String(256), nullable=True),
    sa.Column("domain", sa.String(256), nullable=True),
    sa.Index("ix_records_unit", "unit_id", "position"),
)
sa.Table(
    "metrics",
    OLD,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("probe_key", sa.String(512), nullable=False),
    sa.Column("metric", sa.String(128), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("ci_low", sa.Float, nullable=False),
    sa.Column("ci_high", sa.Float, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("method", sa.String(64), nullable=False),
    sa.Column("higher_is_better", sa.Boolean, nullable=False),
    sa.Column("details", sa.JSON, nullable=True),
    sa.UniqueConstraint("run_id", "probe_key", "metric", name="uq_metric"),
)
sa.Table(
    "artifacts",
    OLD,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("meta", sa.JSON, nullable=False),
)

OLD_RECORDS = [  # (example_id, target, prediction, correct, confidence, loss, brier, pert, value, ref)
    ("ex-0", 1, 1, True, 0.75, 0.2876820724517809, 0.125, 0.03125, None, 1),
    ("ex-1", 2, 0, False, 0.5, 1.6094379124341003, 0.875, None, 0.25, None),
    ("ex-2", 0, 0, True, 0.9, 0.10536051565782628, 0.0225, 0.5, 1.0, 0),
]
#: details as the old release wrote them: json.dumps turns NaN into a bare NaN token
OLD_DETAILS_SQLITE = '{"bins": [0.5, NaN], "per_class": {"0": 1.0}}'


def _engine(url: str) -> sa.Engine:
    """A plain engine, as the old release opened stores (WAL on SQLite)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    if engine.dialect.name == "sqlite":
        sa.event.listen(
            engine, "connect", lambda c, _: c.execute("PRAGMA journal_mode=WAL").close()
        )
    return engine


def _diff(conn: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    """Differences between the database's tables and ``metadata`` (Alembic's own table aside)."""
    return [
        d
        for d in compare_metadata(MigrationContext.configure(conn), metadata)
        if not (d[0] == "remove_table" and d[1].name == migrate.VERSION_TABLE)
    ]


def write_schema_1_store(url: str) -> None:
    """A store exactly as the schema-1 release left it: its create_all, its version row, and one
    run written with the plain SQL of that era."""
    engine = _engine(url)
    OLD.create_all(engine)
    postgres = engine.dialect.name == "postgresql"
    # as SQLAlchemy wrote datetimes: SQLite keeps no time zone
    when = "2026-11-20 10:00:00+00:00" if postgres else "2026-11-20 10:00:00.000000"
    nan_json = "null" if postgres else "NaN"  # PostgreSQL's json type never held a bare NaN
    details = OLD_DETAILS_SQLITE.replace("NaN", nan_json)
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run("INSERT INTO robustlab_info (key, value) VALUES ('schema_version', '1')")
        cast = "::json" if postgres else ""
        run(
            "INSERT INTO models (fingerprint, name, adapter, spec, created_at) VALUES "
            f"('m-old', 'old-model', 'TorchModel', '{{\"name\": \"old-model\"}}'{cast}, '{when}')"
        )
        run(
            "INSERT INTO datasets (fingerprint, name, size, spec, created_at) VALUES "
            f"('d-old', 'old-data', 3, '{{\"name\": \"old-data\", \"size\": 3}}'{cast}, '{when}')"
        )
        run(
            "INSERT INTO runs (id, run_key, model_id, dataset_id, suite_name, suite_version, "
            "suite_spec, seed, shard_size, status, environment, created_at, updated_at) VALUES "
            f"('oldrun000001', 'key-old', 1, 1, 'quick', 1, '{{\"name\": \"quick\"}}'{cast}, 7, 3, "
            f"'complete', '{{\"python\": \"3.10\"}}'{cast}, '{when}', '{when}')"
        )
        run(
            "INSERT INTO units (run_id, probe_key, probe_spec, shard, start, stop, status, "
            "seconds, info, finished_at) VALUES "
            f"('oldrun000001', 'clean', '{{\"name\": \"clean\"}}'{cast}, 0, 0, 3, 'done', 0.25, "
            f'\'{{"label": "clean", "kind": "clean"}}\'{cast}, \'{when}\')'
        )
        for i, r in enumerate(OLD_RECORDS):
            run(
                "INSERT INTO records (unit_id, position, example_id, target, prediction, correct, "
                'confidence, loss, brier, perturbation, value, reference, "group", domain) '
                "VALUES (1, %(pos)s, %(id)s, %(y)s, %(p)s, %(c)s, %(conf)s, %(loss)s, %(brier)s, "
                "%(pert)s, %(value)s, %(ref)s, 'g', NULL)"
                if postgres
                else "INSERT INTO records (unit_id, position, example_id, target, prediction, "
                'correct, confidence, loss, brier, perturbation, value, reference, "group", '
                "domain) VALUES (1, :pos, :id, :y, :p, :c, :conf, :loss, :brier, :pert, :value, "
                ":ref, 'g', NULL)",
                dict(zip(("id", "y", "p", "c", "conf", "loss", "brier", "pert", "value", "ref"), r))
                | {"pos": i},
            )
        run(
            "INSERT INTO metrics (run_id, probe_key, metric, value, ci_low, ci_high, n, method, "
            f"higher_is_better, details) VALUES ('oldrun000001', 'clean', 'accuracy', "
            f"0.6666666666666666, 0.2, 0.9, 3, 'wilson', {'TRUE' if postgres else 1}, "
            f"'{details}'{cast})"
        )
        run(
            "INSERT INTO artifacts (unit_id, name, media_type, data, meta) VALUES "
            f"(1, 'ex-0', 'image/png', 'iVBORw0K', '{{\"severity\": 3}}'{cast})"
        )
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_url(request.param, tmp_path)


def _state(url: str) -> dict[str, Any]:
    """Everything an upgrade could change: tables, their columns, versions and row counts."""
    engine = _engine(url)
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        out: dict[str, Any] = {}
        for name in sorted(insp.get_table_names()):
            cols = [c["name"] for c in insp.get_columns(name)]
            rows = conn.execute(sa.text(f'SELECT * FROM "{name}" ORDER BY 1')).all()
            out[name] = (cols, [tuple(map(str, r)) for r in rows])
    engine.dispose()
    return out


def _revisions(store: Store) -> tuple[str, ...]:
    with store.engine.connect() as conn:
        return migrate.read_state(conn, store.url).revisions


# -- the migrations describe schema.py -----------------------------------------------------------


def test_revisions_are_named_after_the_schema_version() -> None:
    assert migrate.head() == migrate.HEAD == f"{SCHEMA_VERSION:04d}"
    assert set(migrate.LEGACY_REVISIONS.values()) <= {f"{v:04d}" for v in range(1, 3)}


def test_migrations_build_exactly_the_tables_of_schema_py(url: str) -> None:
    """One way to create tables: the migrations, and they agree with the Table definitions."""
    s = Store(url)
    with s.engine.connect() as conn:
        assert _diff(conn, t.metadata) == []
    assert _revisions(s) == (migrate.head(),)
    s.close()


def test_revision_0001_is_the_schema_1_release(url: str) -> None:
    engine = _engine(url)
    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.connect() as conn:
        diff = _diff(conn, OLD)
        version = conn.execute(sa.text("SELECT value FROM robustlab_info")).scalar_one()
    engine.dispose()
    assert diff == []
    assert version == "1"


# -- old stores open ---------------------------------------------------------------------------


def test_a_schema_1_store_opens_upgraded_with_every_row_intact(url: str) -> None:
    write_schema_1_store(url)
    s = Store(url)
    assert _revisions(s) == (migrate.head(),)
    with s.engine.connect() as conn:
        assert conn.execute(sa.select(t.info.c.key, t.info.c.value)).all() == [
            ("schema_version", str(SCHEMA_VERSION))
        ]
    (run,) = s.runs()
    assert run["id"] == "oldrun000001" and s.run("oldrun") == run
    assert (run["model_name"], run["dataset_name"], run["seed"]) == ("old-model", "old-data", 7)
    assert run["suite_spec"] == {"name": "quick"} and run["environment"] == {"python": "3.10"}
    assert run["created_at"].replace(tzinfo=None) == dt.datetime(2026, 11, 20, 10)
    (unit,) = s.units("oldrun000001")
    # schema 3 names the unit's axis from its kind
    assert unit["info"] == {"label": "clean", "kind": "clean", "axis": "clean"}
    assert unit["seconds"] == 0.25
    recs = s.load_records("oldrun000001", "clean")
    assert list(recs.example_id) == ["ex-0", "ex-1", "ex-2"]
    assert recs.correct.tolist() == [True, False, True]
    assert recs.loss.tolist() == [r[5] for r in OLD_RECORDS]  # floats exactly as stored
    np.testing.assert_array_equal(recs.perturbation, [0.03125, np.nan, 0.5])
    np.testing.assert_array_equal(recs.reference, [1, np.nan, 0])
    assert np.isnan(recs.queries).all() and np.isnan(recs.similarity).all()  # new columns: NULL
    (metric,) = s.metrics("oldrun000001")
    assert metric["value"] == 0.6666666666666666 and metric["higher_is_better"] is True
    bins = metric["details"]["bins"]
    assert bins[0] == 0.5 and (bins[1] is None if "postgresql" in url else math.isnan(bins[1]))
    assert [a["meta"] for a in s.artifacts("oldrun000001")] == [{"severity": 3}]

    # the upgraded store takes schema-2 records, and they round-trip
    new = Records.from_probabilities(
        np.array([[0.9, 0.1], [0.4, 0.6]]),
        [0, 0],
        ["n-0", "n-1"],
        queries=[120, np.nan],
        similarity=[0.875, 0.5],
    )
    s.write_unit(
        "oldrun000001",
        probe_key="square",
        probe_spec={"name": "square"},
        shard=0,
        start=0,
        stop=2,
        records=new,
        seconds=1.0,
    )
    back = s.load_records("oldrun000001", "square")
    assert back.rows() == new.rows()
    np.testing.assert_array_equal(back.queries, [120, np.nan])
    s.close()
    reopened = Store(url)  # already current: opened without another upgrade
    assert len(reopened.load_records("oldrun000001", "clean")) == 3
    reopened.close()


def test_a_schema_2_store_from_before_the_migrations_is_adopted(url: str) -> None:
    """Stores created by create_all with schema 2 (no Alembic table) are stamped as 0002, then
    upgraded."""
    engine = _engine(url)
    OLD.create_all(engine)  # schema 1 plus the two columns schema 2 added: schema 2's tables
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE records ADD COLUMN queries INTEGER")
        conn.exec_driver_sql("ALTER TABLE records ADD COLUMN similarity FLOAT")
        conn.execute(sa.insert(t.info).values(key="schema_version", value="2"))
    engine.dispose()
    s = Store(url)
    assert _revisions(s) == (migrate.head(),)
    assert s.count_runs() == 0
    with s.engine.connect() as conn:
        assert _diff(conn, t.metadata) == []
    s.close()


def test_downgrade_to_schema_1_then_reopen_upgrades_again(url: str) -> None:
    write_schema_1_store(url)
    Store(url).close()
    engine = _engine(url)
    with engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    with engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("records")}
        version = conn.execute(sa.text("SELECT value FROM robustlab_info")).scalar_one()
    engine.dispose()
    assert "queries" not in cols and "similarity" not in cols and version == "1"
    s = Store(url)
    assert len(s.load_records("oldrun000001", "clean")) == 3
    assert _revisions(s) == (migrate.head(),)
    s.close()


# -- stores that are refused, untouched ----------------------------------------------------------


def _set_revision(url: str, revision: str) -> None:
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :r"), {"r": revision}
        )
    engine.dispose()


def test_an_unknown_newer_revision_is_refused_untouched(url: str) -> None:
    Store(url).close()
    _set_revision(url, "0099")
    before = _state(url)
    with pytest.raises(StoreError) as info:
        Store(url)
    msg = str(info.value)
    assert "was written by a newer RobustLab" in msg
    assert "0099" in msg and f"knows up to {migrate.head()}" in msg
    assert "pip install -U robustlab" in msg
    assert _state(url) == before


def test_a_newer_schema_1_era_store_is_refused_before_any_change(url: str) -> None:
    write_schema_1_store(url)
    engine = _engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE robustlab_info SET value = '{SCHEMA_VERSION + 5}'")
    engine.dispose()
    before = _state(url)
    with pytest.raises(StoreError, match=f"schema {SCHEMA_VERSION + 5}, this version reads up to"):
        Store(url)
    assert _state(url) == before


@pytest.mark.parametrize(
    ("version", "expected"),
    [(None, "not a RobustLab store"), ("abc", "which is not a number"), ("0", "no RobustLab")],
)
def test_a_database_that_is_not_a_store_is_refused(
    url: str, version: str | None, expected: str
) -> None:
    engine = _engine(url)
    OLD.tables["models"].create(engine)
    OLD.tables["robustlab_info"].create(engine)
    if version is not None:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO robustlab_info (key, value) VALUES ('schema_version', :v)"),
                {"v": version},
            )
    engine.dispose()
    before = _state(url)
    with pytest.raises(StoreError, match=expected):
        Store(url)
    assert _state(url) == before


# -- two processes upgrading one old store ------------------------------------------------------


def _open(url: str, barrier: Any, results: Any) -> None:
    barrier.wait(timeout=60)
    try:
        s = Store(url)
        results.put(("ok", len(s.load_records("oldrun000001", "clean"))))
        s.close()
    except Exception as exc:
        results.put(("error", repr(exc)))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method keeps this test fast")
def test_two_processes_upgrade_one_old_store_once(url: str) -> None:
    write_schema_1_store(url)
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_open, args=(url, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcome = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert outcome == [("ok", 3), ("ok", 3)]
    state = _state(url)
    assert state[migrate.VERSION_TABLE][1] == [(migrate.head(),)]
    assert state["robustlab_info"][1] == [("schema_version", str(SCHEMA_VERSION))]


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method keeps this test fast")
def test_an_upgrade_waits_for_the_lock_of_another(url: str) -> None:
    """While one process holds the migration lock, another opening the store waits, then finds it
    upgraded: the lock, not luck, keeps two upgrades apart."""
    write_schema_1_store(url)
    engine = _engine(url)
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    child = ctx.Process(target=_open, args=(url, barrier, results))
    child.start()  # before any connection is open: SQLite's locks do not survive a fork
    with migrate.migration_lock(engine) as conn:
        barrier.wait(timeout=60)
        time.sleep(1.0)
        assert results.empty() and child.is_alive()  # blocked behind our lock
        assert migrate.read_state(conn, url).revisions == ()
        cfg = migrate.alembic_config()  # we upgrade under the lock, as Store would
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "0001")
        command.upgrade(cfg, "head")
    assert results.get(timeout=60) == ("ok", 3)
    child.join(timeout=60)
    assert child.exitcode == 0
    engine.dispose()
    assert _state(url)[migrate.VERSION_TABLE][1] == [(migrate.head(),)]


def test_a_read_only_old_store_says_it_needs_writing(tmp_path: Path) -> None:
    """Opened read-only, an old store cannot be upgraded: the message says so and why; once
    upgraded, the same read-only URL opens."""
    path = tmp_path / "old.db"
    write_schema_1_store(f"sqlite:///{path}")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    before = _state(f"sqlite:///{path}")
    with pytest.raises(StoreError) as info:
        Store(read_only)
    msg = str(info.value)
    assert f"Cannot bring store {read_only!r} to schema {SCHEMA_VERSION}" in msg
    assert "readonly" in msg and "nothing was changed" in msg and "writable copy" in msg
    assert _state(f"sqlite:///{path}") == before
    Store(str(path)).close()
    s = Store(read_only)
    assert s.count_runs() == 1
    s.close()
