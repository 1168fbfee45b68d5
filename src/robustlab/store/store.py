"""The results store: every finished unit is written in its own transaction."""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, String, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from robustlab.errors import StoreError
from robustlab.records import Records
from robustlab.store import migrate
from robustlab.store import schema as t
from robustlab.store._blocks import ENCODING, concat_blocks, decode_block, encode_block
from robustlab.store._engine import (
    display_url,
    is_memory,
    make_engine,
    mask_passwords,
    normalise_url,
    sqlite_lock_engine,
)

__all__ = ["DEFAULT_STORE", "RETRY_DELAYS", "Store", "StoreLost", "insert_records", "open_store"]

_T = TypeVar("_T")

#: Seconds waited before each new attempt at a write whose connection to the database server was
#: lost (a restart, a failover, a dropped connection); after the last the scan stops.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)

DEFAULT_STORE = "sqlite:///robustlab.db"

# INSERT ... ON CONFLICT DO NOTHING, where the database has it
_INSERT_IGNORING: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


#: The run-metadata (``environment``) key holding the dataset name the run was scanned under.
RUN_DATASET_NAME = "dataset_name"


def _with_dataset_name(
    conn: Any, dataset_id: int, environment: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``environment`` with the dataset's current name: datasets with the same content share one
    row whose name follows the latest scan, so each run keeps the name it was given in its own
    metadata (issue 19, item 17)."""
    name = conn.execute(select(t.datasets.c.name).where(t.datasets.c.id == dataset_id)).scalar()
    if name is not None and RUN_DATASET_NAME not in environment:
        return {**environment, RUN_DATASET_NAME: name}
    return environment


def _insert_run(
    conn: Any,
    *,
    run_key: str,
    model_id: int,
    dataset_id: int,
    suite_spec: Mapping[str, Any],
    seed: int,
    shard_size: int,
    environment: Mapping[str, Any],
) -> str:
    """Insert a new running run on ``conn`` and return its id (it keeps its dataset's name)."""
    run_id = uuid.uuid4().hex[:12]
    now = _now()
    conn.execute(
        insert(t.runs).values(
            id=run_id,
            run_key=run_key,
            model_id=model_id,
            dataset_id=dataset_id,
            suite_name=suite_spec["name"],
            suite_version=suite_spec["version"],
            suite_spec=dict(suite_spec),
            seed=seed,
            shard_size=shard_size,
            status="running",
            environment=dict(_with_dataset_name(conn, dataset_id, environment)),
            created_at=now,
            updated_at=now,
        )
    )
    return run_id


def _own_dataset_name(run: dict[str, Any]) -> dict[str, Any]:
    """``run`` with the dataset name it was scanned under, not the shared row's latest name."""
    env = dict(run.get("environment") or {})
    name = env.pop(RUN_DATASET_NAME, None)
    run["environment"] = env  # the name is shown as the dataset's, not as a free-form note
    if isinstance(name, str) and name != run.get("dataset_name"):
        run["dataset_name"] = name
        run["dataset_spec"] = {**dict(run.get("dataset_spec") or {}), "name": name}
    return run


class StoreLost(StoreError):
    """The connection to the store's database server was lost and did not come back."""


def _connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is a lost connection (worth retrying) rather than a refused statement."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    low = str(exc.orig).lower()
    return any(
        s in low
        for s in (
            "server closed the connection",
            "connection refused",
            "terminating connection",
            "could not connect",
            "connection already closed",
            "connection is closed",
            "no connection to the server",
            "the database system is shutting down",
            "the database system is starting up",
            "timeout expired",
            "ssl syscall",
            "eof detected",
        )
    )


def _resume_command() -> str:
    """How to resume: this process's command line when it is ``robustlab``, password masked."""
    argv = [a for a in sys.argv if a]
    if argv and ("robustlab" in argv[0] or argv[:2] == ["-m", "robustlab"]):
        return "re-run `" + mask_passwords(" ".join(["robustlab", *argv[1:]])) + "`"
    return (
        "re-run the same scan (same model, data, suite, seed and shard size; resume is the default)"
    )


def _limit_problems(table: Any, values: Mapping[str, Any]) -> list[str]:
    """The values too long for their bounded text column of ``table``: PostgreSQL refuses them
    and SQLite would keep them, so both refuse them here, before anything is written."""
    problems = []
    for key, value in values.items():
        column = table.c.get(key)
        kind = None if column is None else column.type
        length = kind.length if isinstance(kind, String) else None
        if length and isinstance(value, str) and len(value) > length:
            problems.append(f"{table.name}.{key} is {len(value)} characters (at most {length})")
    return problems


class Store:
    """A SQLAlchemy-backed store: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by URL.

    Opening a store creates its tables in an empty database, upgrades one written by an older
    RobustLab (see :mod:`robustlab.store.migrate`), and refuses one written by a newer one.

    Args:
        url: ``sqlite:///path.db`` (the default ``./robustlab.db``), a bare ``.db`` path, or
            ``postgresql://user:pass@host/db``.
        create: Whether a SQLite file that does not exist yet may be created (``False`` for
            commands that only read, so a mistyped path is an error rather than a new store).
        read_only: Open the database read-only (SQLite ``mode=ro``, read-only PostgreSQL
            transactions) and never create, upgrade or otherwise write it: for commands that
            only read, and for stores on read-only media. Refuses a database that is not a
            current RobustLab store instead of changing it.

    Attributes:
        url: The store's URL with any password masked: safe to print and to put in reports.
        engine: The SQLAlchemy engine.
    """

    def __init__(
        self, url: str = DEFAULT_STORE, *, create: bool = True, read_only: bool = False
    ) -> None:
        full = normalise_url(str(url))
        self.url = display_url(full)
        self.read_only = read_only
        self.engine = make_engine(full, create=create, read_only=read_only)
        try:
            if read_only:
                migrate.check_current(self.engine, self.url)
            else:
                migrate.upgrade(self.engine, self.url)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    # -- reliability ---------------------------------------------------------------------------
    def _check_lengths(self, table: Any, values: Mapping[str, Any]) -> None:
        problems = _limit_problems(table, values)
        if problems:
            what = {"models": "model", "datasets": "dataset", "runs": "suite"}.get(
                table.name, table.name
            )
            raise StoreError(
                f"Cannot store this {what} in {self.url!r}: {'; '.join(problems)}. Every store "
                f"backend keeps names up to that length; give the {what} a shorter name."
            )

    def _retrying(self, what: str, run_id: str | None, write: Callable[[], _T]) -> _T:
        """``write()``, tried again after :data:`RETRY_DELAYS` while the connection to the
        database server is lost; then a :class:`StoreLost` naming the server and how to resume.

        Each attempt is one transaction, so a lost attempt left nothing behind; the pool's pre-ping
        replaces the dead connections.
        """
        for delay in (*RETRY_DELAYS, None):
            try:
                return write()
            except (OperationalError, DBAPIError) as exc:
                if not _connection_lost(exc):
                    raise
                reason = (str(exc.orig).strip().splitlines() or [type(exc).__name__])[0]
                if delay is None:
                    waited = sum(RETRY_DELAYS)
                    run = f" of run {run_id}" if run_id else ""
                    raise StoreLost(
                        f"Lost the connection to the store's database server {self.url!r} while "
                        f"writing {what}{run} ({reason}); {len(RETRY_DELAYS) + 1} attempts over "
                        f"{waited:.0f} s failed. The units finished so far are safe in the "
                        f"store. Check that the server is running and reachable, then "
                        f"{_resume_command()}: it continues the run without redoing them."
                    ) from None
                time.sleep(delay)
                self.engine.dispose()  # drop every pooled connection to the lost server
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def _run_claim(self, run_key: str) -> Iterator[Connection]:
        """A transaction during which no other process claims a run with this key: an advisory
        lock on the key (PostgreSQL), the write lock of the file (SQLite)."""
        backend = self.engine.dialect.name
        if backend == "sqlite" and not is_memory(self.engine.url):
            locked = sqlite_lock_engine(self.engine.url)
            try:
                with locked.begin() as conn:
                    yield conn
            finally:
                locked.dispose()
            return
        with self.engine.begin() as conn:
            if backend == "postgresql":  # released at commit
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 20261204))"),
                    {"key": run_key},
                )
            yield conn

    def claim_run(
        self,
        *,
        run_key: str,
        resume: bool,
        model_id: int,
        dataset_id: int,
        suite_spec: Mapping[str, Any],
        seed: int,
        shard_size: int,
        environment: Mapping[str, Any],
    ) -> tuple[str, bool]:
        """The run a scan with this key writes into, and whether it was created: the newest run
        with the key when ``resume`` is set, else a new one. Atomic across processes: scans of the
        same key started at once share one run (each unit is stored once, by whichever process
        finishes it first) instead of each creating its own."""
        self._check_lengths(t.runs, {"suite_name": suite_spec["name"]})
        with self._run_claim(run_key) as conn:
            if resume:
                found = conn.execute(
                    select(t.runs.c.id)
                    .where(t.runs.c.run_key == run_key)
                    .order_by(t.runs.c.created_at.desc())
                    .limit(1)
                ).first()
                if found is not None:
                    # a resumed run takes the name its data is scanned under now (names are
                    # metadata: renaming the data and re-scanning renames the run)
                    kept = conn.execute(
                        select(t.runs.c.environment).where(t.runs.c.id == found[0])
                    ).scalar()
                    env = {k: v for k, v in dict(kept or {}).items() if k != RUN_DATASET_NAME}
                    conn.execute(
                        update(t.runs)
                        .where(t.runs.c.id == found[0])
                        .values(
                            status="running",
                            updated_at=_now(),
                            environment=dict(_with_dataset_name(conn, dataset_id, env)),
                        )
                    )
                    return str(found[0]), False
            run_id = _insert_run(
                conn,
                run_key=run_key,
                model_id=model_id,
                dataset_id=dataset_id,
                suite_spec=suite_spec,
                seed=seed,
                shard_size=shard_size,
                environment=environment,
            )
            return run_id, True

    # -- models and datasets -------------------------------------------------------------------
    def _upsert(self, table: Any, fingerprint: str, values: Mapping[str, Any]) -> int:
        """The id of the row with this fingerprint, inserted if absent; safe when two processes
        insert the same fingerprint at once (the second's insert does nothing, it reads the row).

        Names are metadata, not identity: a row that exists takes ``values`` (the name, the class
        names in the spec, ...) of the latest scan, so renaming a model or a dataset and scanning
        it again renames it in every run that uses it.
        """
        self._check_lengths(table, values)
        find = select(table.c.id).where(table.c.fingerprint == fingerprint)
        with self.engine.begin() as conn:
            found = conn.execute(find).scalar()
            if found is not None:
                current = conn.execute(
                    select(*(table.c[k] for k in values)).where(table.c.id == found)
                ).one()
                if dict(current._mapping) != dict(values):
                    conn.execute(update(table).where(table.c.id == found).values(**values))
            else:
                build = _INSERT_IGNORING.get(conn.dialect.name)
                row = {"fingerprint": fingerprint, "created_at": _now(), **values}
                if build is None:  # no ON CONFLICT in this database: a race is an error
                    conn.execute(insert(table).values(row))
                else:
                    conn.execute(build(table).values(row).on_conflict_do_nothing())
                found = conn.execute(find).scalar_one()
            return int(found)

    def add_model(self, fingerprint: str, spec: Mapping[str, Any]) -> int:
        return self._upsert(
            t.models,
            fingerprint,
            {"name": spec["name"], "adapter": spec["adapter"], "spec": dict(spec)},
        )

    def add_dataset(self, fingerprint: str, spec: Mapping[str, Any]) -> int:
        return self._upsert(
            t.datasets,
            fingerprint,
            {"name": spec["name"], "size": spec["size"], "spec": dict(spec)},
        )

    # -- runs ----------------------------------------------------------------------------------
    def find_resumable(self, run_key: str) -> str | None:
        """The newest run with this identity (same model, data, suite, seed, sharding)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.runs.c.id)
                .where(t.runs.c.run_key == run_key)
                .order_by(t.runs.c.created_at.desc())
                .limit(1)
            ).first()
        return None if row is None else str(row[0])

    def create_run(
        self,
        *,
        run_key: str,
        model_id: int,
        dataset_id: int,
        suite_spec: Mapping[str, Any],
        seed: int,
        shard_size: int,
        environment: Mapping[str, Any],
    ) -> str:
        with self.engine.begin() as conn:
            return _insert_run(
                conn,
                run_key=run_key,
                model_id=model_id,
                dataset_id=dataset_id,
                suite_spec=suite_spec,
                seed=seed,
                shard_size=shard_size,
                environment=environment,
            )

    def set_status(self, run_id: str, status: str) -> None:
        def write() -> Any:
            with self.engine.begin() as conn:
                return conn.execute(
                    update(t.runs)
                    .where(t.runs.c.id == run_id)
                    .values(status=status, updated_at=_now())
                )

        res = self._retrying(f"status {status!r}", run_id, write)
        if res.rowcount == 0:
            raise StoreError(
                f"No run {run_id!r} in store {self.url!r}; `robustlab runs` lists them."
            )

    def update_environment(self, run_id: str, entries: Mapping[str, Any]) -> None:
        """Merge ``entries`` into the run's ``environment`` (its free-form JSON notes: the owning
        process and its heartbeat, the summaries left undefined, ...); a ``None`` value removes
        that key."""
        self._retrying("the run's notes", run_id, lambda: self._update_environment(run_id, entries))

    def _update_environment(self, run_id: str, entries: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            found = conn.execute(
                select(t.runs.c.environment).where(t.runs.c.id == run_id).with_for_update()
            ).first()
            if found is None:
                raise StoreError(
                    f"No run {run_id!r} in store {self.url!r}; `robustlab runs` lists them."
                )
            env = {**dict(found[0] or {}), **entries}
            env = {k: v for k, v in env.items() if v is not None}
            conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(environment=env))

    def resolve_run(self, run_id: str) -> str:
        """Full run id from an id or a unique prefix of one."""
        # autoescape: '%' or '_' typed in an id are characters, not LIKE wildcards
        query = select(t.runs.c.id).where(t.runs.c.id.startswith(run_id, autoescape=True))
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(query)] if run_id else []
        if len(ids) == 1:
            return str(ids[0])
        if not ids:
            hint = (
                "`robustlab runs` lists them"
                if self.count_runs()
                else "the store is empty; run a scan first"
            )
            raise StoreError(f"No run {run_id!r} in store {self.url!r}; {hint}.")
        raise StoreError(
            f"Run id prefix {run_id!r} is ambiguous ({', '.join(ids[:5])}); give more characters."
        )

    def count_runs(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.runs)).scalar_one())

    def runs(self, *, suite: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        """All runs (of one suite, or the one with this full id), newest first, with their model
        and dataset names."""
        q = (
            select(
                t.runs,
                t.models.c.name.label("model_name"),
                t.models.c.fingerprint.label("model_fingerprint"),
                t.models.c.spec.label("model_spec"),
                t.datasets.c.name.label("dataset_name"),
                t.datasets.c.fingerprint.label("dataset_fingerprint"),
                t.datasets.c.spec.label("dataset_spec"),
            )
            .join(t.models, t.models.c.id == t.runs.c.model_id)
            .join(t.datasets, t.datasets.c.id == t.runs.c.dataset_id)
            .order_by(t.runs.c.created_at.desc())
        )
        if suite is not None:
            q = q.where(t.runs.c.suite_name == suite)
        if run_id is not None:
            q = q.where(t.runs.c.id == run_id)
        with self.engine.connect() as conn:
            return [_own_dataset_name(dict(r._mapping)) for r in conn.execute(q)]

    def run(self, run_id: str) -> dict[str, Any]:
        """One run by its id or a unique prefix of it."""
        return self.runs(run_id=self.resolve_run(run_id))[0]

    # -- units and records ---------------------------------------------------------------------
    def finished_units(self, run_id: str) -> dict[tuple[str, int], dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.units).where(t.units.c.run_id == run_id))
            return {(r.probe_key, r.shard): dict(r._mapping) for r in rows}

    def discard_failed_units(self, run_id: str) -> int:
        """Delete a run's units stored as ``failed`` (they hold no records), so that resuming
        the run tries them again; returns how many there were."""
        with self.engine.begin() as conn:
            res = conn.execute(
                delete(t.units).where(t.units.c.run_id == run_id, t.units.c.status == "failed")
            )
        return int(res.rowcount or 0)

    def write_unit(
        self,
        run_id: str,
        *,
        probe_key: str,
        probe_spec: Mapping[str, Any],
        shard: int,
        start: int,
        stop: int,
        records: Records | None,
        seconds: float,
        status: str = "done",
        info: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write one finished unit and its records atomically; False if it was already stored.

        A lost connection to the database server is retried (see :meth:`_retrying`)."""
        self._check_lengths(t.units, {"probe_key": probe_key})
        return self._retrying(
            f"unit {probe_key!r} shard {shard}",
            run_id,
            lambda: self._write_unit(
                run_id,
                probe_key=probe_key,
                probe_spec=probe_spec,
                shard=shard,
                start=start,
                stop=stop,
                records=records,
                seconds=seconds,
                status=status,
                info=info,
            ),
        )

    def _write_unit(
        self,
        run_id: str,
        *,
        probe_key: str,
        probe_spec: Mapping[str, Any],
        shard: int,
        start: int,
        stop: int,
        records: Records | None,
        seconds: float,
        status: str,
        info: Mapping[str, Any] | None,
    ) -> bool:
        try:
            with self.engine.begin() as conn:
                res = conn.execute(
                    insert(t.units).values(
                        run_id=run_id,
                        probe_key=probe_key,
                        probe_spec=dict(probe_spec),
                        shard=shard,
                        start=start,
                        stop=stop,
                        status=status,
                        seconds=seconds,
                        info=dict(info or {}),
                        finished_at=_now(),
                    )
                )
                unit_id = _primary_key(res)
                if records is not None and len(records):
                    insert_records(conn, unit_id, records)
                if records is not None and records.artifacts:
                    conn.execute(
                        insert(t.artifacts),
                        [
                            {
                                "unit_id": unit_id,
                                "name": a["name"],
                                "media_type": a["media_type"],
                                "data": a["data"],
                                "meta": a.get("meta", {}),
                            }
                            for a in records.artifacts
                        ],
                    )
                conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(updated_at=_now()))
        except IntegrityError as exc:
            if (probe_key, shard) in self.finished_units(run_id):
                return False
            # any other constraint (unknown run, NULL in a record) is a failure, not "already stored"
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise StoreError(
                f"Cannot write unit {probe_key!r} shard {shard} of run {run_id!r} to store "
                f"{self.url!r}: {reason}; check that the run exists in this store."
            ) from None
        return True

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """Images and other media stored with a run's units, with their probe key."""
        q = (
            select(t.artifacts, t.units.c.probe_key)
            .join(t.units, t.units.c.id == t.artifacts.c.unit_id)
            .where(t.units.c.run_id == run_id)
            .order_by(t.artifacts.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def units(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.units).where(t.units.c.run_id == run_id).order_by(t.units.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def load_records(self, run_id: str, probe_key: str) -> Records:
        """All records of one probe of a run, in shard then position order."""
        q = (
            select(t.record_blocks.c.data, t.record_blocks.c.encoding)
            .join(t.units, t.units.c.id == t.record_blocks.c.unit_id)
            .where(t.units.c.run_id == run_id, t.units.c.probe_key == probe_key)
            .order_by(t.units.c.shard)
        )
        with self.engine.connect() as conn:
            blocks = conn.execute(q).all()
        if not blocks:
            raise StoreError(f"Run {run_id!r} has no records for probe {probe_key!r}.")
        parts = [decode_block(b.data, b.encoding) for b in blocks]
        del blocks
        return concat_blocks(parts)  # column by column: memory for the records once

    def unit_records(self, unit_id: int) -> Records | None:
        """The records of one stored unit (by its id), or None when it has none."""
        q = select(t.record_blocks.c.data, t.record_blocks.c.encoding).where(
            t.record_blocks.c.unit_id == unit_id
        )
        with self.engine.connect() as conn:
            block = conn.execute(q).first()
        return None if block is None else decode_block(block.data, block.encoding)

    def count_records(self, run_id: str | None = None) -> int:
        """How many records the store holds (of one run, or of all)."""
        q = select(func.coalesce(func.sum(t.record_blocks.c.n), 0))
        if run_id is not None:
            q = q.join(t.units, t.units.c.id == t.record_blocks.c.unit_id).where(
                t.units.c.run_id == run_id
            )
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    # -- metrics -------------------------------------------------------------------------------
    def write_metrics(self, run_id: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace the run's metrics table with ``rows``."""
        rows = [{"details": None, **r, "run_id": run_id} for r in rows]
        with self.engine.begin() as conn:
            # the run's row lock orders two processes finishing the same run (PostgreSQL; a
            # SQLite writer holds the whole file anyway): the second replaces the first's rows
            # instead of colliding with them. NO KEY: units of the run may still be written.
            locked = conn.execute(
                select(t.runs.c.id).where(t.runs.c.id == run_id).with_for_update(key_share=True)
            ).first()
            if locked is None:
                raise StoreError(
                    f"Cannot write metrics of run {run_id!r}: no such run in store {self.url!r}."
                )
            conn.execute(delete(t.metrics).where(t.metrics.c.run_id == run_id))
            if rows:
                conn.execute(insert(t.metrics), rows)

    def metrics(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.metrics).where(t.metrics.c.run_id == run_id).order_by(t.metrics.c.id)
            )
            return [
                {k: v for k, v in r._mapping.items() if k not in ("id", "run_id")} for r in rows
            ]

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def open_store(
    store: str | Store | None = None, *, create: bool = True, read_only: bool = False
) -> Store:
    """A Store from a URL or path (``None`` opens the default ``./robustlab.db``).

    Args:
        store: A URL, a SQLite path, an open Store (returned as is) or None.
        create: Whether a SQLite file that does not exist yet may be created.
        read_only: Open it read-only, never creating or upgrading it (see :class:`Store`).
    """
    if isinstance(store, Store):
        return store
    return Store(store or DEFAULT_STORE, create=create, read_only=read_only)


def insert_records(conn: Any, unit_id: int, records: Records) -> None:
    """Write ``records`` as the record block of unit ``unit_id``, inside ``conn``'s transaction."""
    conn.execute(
        insert(t.record_blocks).values(
            unit_id=unit_id,
            task=records.task,
            n=len(records),
            encoding=ENCODING,
            data=encode_block(records),
        )
    )


def _primary_key(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer primary key
        raise StoreError("The database did not return the id of the inserted row.")
    return int(key[0])
