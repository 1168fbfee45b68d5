"""Schema migrations of the results store (Alembic), applied when a store is opened.

Opening a store brings it to the newest schema: an empty database gets every table, a store
written by an older RobustLab is upgraded in place, and one written by a newer RobustLab is
refused before anything is changed. Two processes opening one old store at once upgrade it once:
the upgrade runs under a lock (a transaction-level advisory lock on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite).

A schema change is a new revision in ``migrations/versions`` named after the schema version it
produces (``0003`` for schema 3), which also bumps ``SCHEMA_VERSION`` in ``schema.py`` and sets
``robustlab_info.schema_version``. Write one with::

    from alembic import command
    from robustlab.store.migrate import alembic_config

    command.revision(alembic_config("sqlite:///dev.db"), "what changes", rev_id="0003",
                     autogenerate=True)

where ``dev.db`` is a store at the current head (open it with ``Store`` first).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from robustlab.errors import StoreError
from robustlab.store import schema as t
from robustlab.store._engine import is_memory, sqlite_lock_engine

if TYPE_CHECKING:  # Alembic is imported only when a store needs upgrading, to open stores fast
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = [
    "HEAD",
    "LEGACY_REVISIONS",
    "MIGRATIONS",
    "VERSION_TABLE",
    "StoreState",
    "alembic_config",
    "check_current",
    "check_readable",
    "head",
    "migration_lock",
    "read_state",
    "upgrade",
]

#: The Alembic environment of the store, shipped inside the package.
MIGRATIONS = Path(__file__).with_name("migrations")

#: Alembic's bookkeeping table; named for RobustLab so a database shared with another
#: Alembic-managed application keeps both apart.
VERSION_TABLE = "robustlab_alembic_version"

#: The revision that produces the current schema: revisions are named after the schema version.
HEAD = f"{t.SCHEMA_VERSION:04d}"

#: Stores written before the migrations existed carry only ``robustlab_info.schema_version``;
#: this is the revision whose tables they have.
LEGACY_REVISIONS = {1: "0001", 2: "0002"}

#: Every table a store has ever had; any of them in a database makes it a store (or a clash).
STORE_TABLES = frozenset(
    {
        "robustlab_info",
        "models",
        "datasets",
        "runs",
        "units",
        "records",
        "record_blocks",
        "metrics",
        "artifacts",
    }
)

# Key of the PostgreSQL advisory lock held while a store is upgraded (any fixed 64-bit number).
_PG_LOCK_KEY = 0x526F627573744C62  # "RobustLb"

_UPGRADE = "upgrade with pip install -U robustlab"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for the store's migrations, built in code (no alembic.ini).

    Args:
        url: Database URL for Alembic commands run outside :class:`~robustlab.store.Store`
            (``None`` when a connection is passed in ``config.attributes["connection"]``).
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser syntax
    return cfg


@functools.lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision among the migration scripts (equal to :data:`HEAD`)."""
    rev = _script().get_current_head()
    assert rev is not None, "the store's migrations have no revision"
    return rev


@functools.lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(r.revision for r in _script().walk_revisions())


@dataclass(frozen=True)
class StoreState:
    """What a database holds, read without changing it.

    Attributes:
        revisions: Alembic revisions recorded in the version table (empty when it has none).
        schema_version: ``robustlab_info.schema_version``, or None when absent.
        tables: The store tables present.
    """

    revisions: tuple[str, ...]
    schema_version: int | None
    tables: frozenset[str]

    @property
    def current(self) -> bool:
        return self.revisions == (HEAD,) and self.schema_version == t.SCHEMA_VERSION


def read_state(conn: Connection, url: str) -> StoreState:
    """The store's revisions, schema version and tables, as seen by ``conn``."""
    names = set(inspect(conn).get_table_names())
    revisions: tuple[str, ...] = ()
    if VERSION_TABLE in names:
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        revisions = tuple(sorted(rows))
    version = None
    if t.info.name in names:
        raw = conn.execute(
            text("SELECT value FROM robustlab_info WHERE key = 'schema_version'")
        ).scalar()
        if raw is not None:
            try:
                version = int(raw)
            except ValueError:
                raise StoreError(
                    f"Store {url!r} has schema version {raw!r}, which is not a number; it was "
                    "not written by RobustLab. Pass another store or an empty database."
                ) from None
    return StoreState(revisions, version, frozenset(names & STORE_TABLES))


def check_readable(state: StoreState, url: str) -> None:
    """Refuse a store written by a newer RobustLab (or one that is not a store at all)."""
    if state.schema_version is not None and state.schema_version > t.SCHEMA_VERSION:
        raise StoreError(
            f"Store {url!r} was written by a newer RobustLab (schema {state.schema_version}, "
            f"this version reads up to {t.SCHEMA_VERSION}); {_UPGRADE}."
        )
    if state.revisions == (HEAD,):
        unknown = []
    else:
        unknown = [r for r in state.revisions if r not in _known()]
    if unknown or len(state.revisions) > 1:
        raise StoreError(
            f"Store {url!r} was written by a newer RobustLab (schema revision "
            f"{', '.join(unknown or state.revisions)}; this version knows up to {HEAD}); "
            f"{_UPGRADE}."
        )
    if not state.revisions and state.tables and state.schema_version is None:
        raise StoreError(
            f"Database {url!r} has tables named like a store's ({', '.join(sorted(state.tables))}) "
            "but no RobustLab schema version, so it is not a RobustLab store; pass an empty "
            "database or another store."
        )
    if not state.revisions and state.tables and state.schema_version not in LEGACY_REVISIONS:
        raise StoreError(
            f"Store {url!r} has schema version {state.schema_version}, which no RobustLab release "
            f"wrote; pass another store or an empty database."
        )


def check_current(engine: Engine, url: str) -> None:
    """Refuse, without changing anything, a database that is not a store at the newest schema:
    what a read-only open needs, since it may neither create tables nor upgrade them.

    Args:
        engine: An engine connected to the database.
        url: The store's URL as shown in messages (password masked).
    """
    with engine.connect() as conn:
        state = read_state(conn, url)
    check_readable(state, url)
    if state.current:
        return
    if not state.tables:
        raise StoreError(
            f"{url!r} holds no RobustLab store (none of its tables); check the path, or run "
            "`robustlab scan` or `robustlab demo` with this --store to create one."
        )
    raise StoreError(
        f"Store {url!r} has schema {state.schema_version}, older than this RobustLab's "
        f"{t.SCHEMA_VERSION}, and reading commands never upgrade a store; upgrade it once "
        f'(python -c "from robustlab.store import Store; Store({url!r})", or any scan into '
        "it), or read an upgraded copy."
    )


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction that no other process's migration runs beside; committed on exit."""
    backend = engine.dialect.name
    if backend == "sqlite" and not is_memory(engine.url):
        locked = sqlite_lock_engine(engine.url)
        try:
            with locked.begin() as conn:
                yield conn
        finally:
            locked.dispose()
    else:
        with engine.begin() as conn:
            if backend == "postgresql":  # released at commit; DDL is transactional there
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield conn


def upgrade(engine: Engine, url: str) -> None:
    """Bring the store behind ``engine`` to the newest schema, or refuse it (see module doc).

    Args:
        engine: An engine connected to the store.
        url: The store's URL as shown in messages (password masked).
    """
    with engine.connect() as conn:  # no lock for the common case: already current
        state = read_state(conn, url)
    check_readable(state, url)
    if state.current:
        return
    from alembic import command

    try:
        with migration_lock(engine) as conn:
            state = read_state(conn, url)  # another process may have upgraded it meanwhile
            check_readable(state, url)
            if state.current:
                return
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            if not state.revisions and state.tables:  # written before the migrations existed
                assert state.schema_version is not None
                command.stamp(cfg, LEGACY_REVISIONS[state.schema_version])
            command.upgrade(cfg, "head")
            state = read_state(conn, url)
            if not state.current:  # a revision that forgot to set robustlab_info
                raise StoreError(
                    f"Upgrading store {url!r} left it at revision {state.revisions} with schema "
                    f"version {state.schema_version}, not {HEAD} with {t.SCHEMA_VERSION}; "
                    "this is a bug in RobustLab's migrations, please report it."
                )
    except StoreError:
        raise
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0].strip()
        if "readonly" in reason or "read-only" in reason:
            fix = "make the file writable, or open a writable copy of it"
        elif "locked" in reason:
            fix = "another process kept the store busy; try again when it has finished"
        else:
            fix = "check that the database user may create and alter tables"
        raise StoreError(
            f"Cannot bring store {url!r} to schema {t.SCHEMA_VERSION}: {reason}; nothing was "
            f"changed; {fix}."
        ) from None
