"""Engines for the store: URL checks, driver settings and one clear message per failure to open."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from robustlab.errors import StoreError

__all__ = [
    "CONNECT_TIMEOUT",
    "display_url",
    "has_password",
    "is_memory",
    "json_dumps",
    "json_loads",
    "make_engine",
    "mask_nested",
    "mask_passwords",
    "normalise_url",
    "sqlite_lock_engine",
]

#: Seconds to wait for a database server before giving up, unless the URL sets connect_timeout.
CONNECT_TIMEOUT = 10

#: Seconds a SQLite writer waits for another process's write to finish.
SQLITE_BUSY_SECONDS = 60

# drivers that take libpq's connect_timeout
_LIBPQ = ("postgresql+psycopg2", "postgresql+psycopg")

_FIX = "pass --store sqlite:///results.db or a reachable postgresql:// URL"

# A float JSON cannot spell (NaN, inf) is stored as {"$float": "nan"}: PostgreSQL's json type
# rejects the bare NaN token that Python writes, and strict JSON readers of SQLite files do too.
_FLOAT_TAG = "$float"


def normalise_url(url: str) -> str:
    """Accept a bare file path for SQLite (``results.db``) as well as a full URL, and the
    ``postgres://`` spelling of PostgreSQL URLs."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def _with_driver(url: URL) -> URL:
    """A bare ``postgresql://`` URL gets the driver that is installed: SQLAlchemy's default
    differs between versions (psycopg2 in 2.0, psycopg 3 in 2.1) and only one may be present."""
    if url.drivername != "postgresql":
        return url
    for module in ("psycopg2", "psycopg"):
        if importlib.util.find_spec(module) is not None:
            return url.set(drivername=f"postgresql+{module}")
    raise ModuleNotFoundError(name="psycopg2")


# user:password@ after a scheme (greedy: a password may hold an unescaped '@'), and a password
# given as a query parameter (?password=..., which libpq and SQLAlchemy also accept)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^\s]*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd)=)[^&\s]*", re.IGNORECASE)


def mask_passwords(text: str) -> str:
    """``text`` with the password of every database URL in it replaced by ``***``: for command
    lines and messages that are stored, logged or shown."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def mask_nested(value: Any) -> Any:
    """:func:`mask_passwords` applied to every string inside dicts and lists (run metadata
    recorded before command lines were masked)."""
    if isinstance(value, str):
        return mask_passwords(value)
    if isinstance(value, dict):
        return {k: mask_nested(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_nested(v) for v in value]
    return value


def has_password(url: str) -> bool:
    """Whether a database URL carries a password."""
    return mask_passwords(url) != url


def display_url(url: str) -> str:
    """The URL with any password masked, for messages, listings and reports."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return mask_passwords(url)
    shown = parsed.render_as_string(hide_password=True) if parsed.password else url
    return mask_passwords(shown)


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return {_FLOAT_TAG: repr(obj)}
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def json_dumps(obj: Any) -> str:
    """Standard JSON on every backend; non-finite floats are tagged so they read back as floats."""
    try:
        return json.dumps(obj, allow_nan=False)
    except ValueError:  # a NaN or infinity somewhere: rare, so only then walk the object
        return json.dumps(_finite(obj), allow_nan=False)


def _untag(d: dict[str, Any]) -> Any:
    if len(d) == 1 and isinstance(d.get(_FLOAT_TAG), str):
        return float(d[_FLOAT_TAG])
    return d


def json_loads(text: str) -> Any:
    # bare NaN tokens are still read: stores written before the tag existed contain them
    return json.loads(text, object_hook=_untag)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_read_only_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # no journal_mode: switching a file to WAL is a write
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def _sqlite_read_only_url(url: URL) -> URL:
    """The same file opened by SQLite itself as read-only (``mode=ro``): nothing can write it."""
    query = dict(url.query)
    if query.get("uri") == "true":  # already a SQLite URI: keep its file name and options
        name = str(url.database)
        path = Path(name.removeprefix("file:").partition("?")[0])
    else:
        path = Path(str(url.database)).resolve()
        name = "file:" + quote(path.as_posix())
    query.update(mode="ro", uri="true")
    wal = path.with_name(path.name + "-wal")
    if not os.access(path.parent, os.W_OK) and not (wal.exists() and wal.stat().st_size):
        # read-only media: SQLite could not create the -shm file it reads a WAL store with;
        # immutable tells it that nothing changes the file, so it needs none (unless a -wal
        # file holds commits, which immutable would skip)
        query["immutable"] = "1"
    return url.set(database=name, query=query)


def _hint(url: URL, reason: str) -> str:
    """What to do about a failure to connect, from the driver's message."""
    low = reason.lower()
    if "file is not a database" in low:
        return "pass the path of a RobustLab store (a SQLite file) or of a file to create"
    if "unable to open database file" in low:
        return "check that the file can be created and written there"
    if "password authentication failed" in low or "no password supplied" in low:
        return "check the user name and password in the URL"
    if "database" in low and "does not exist" in low:
        return f"create it first (createdb {url.database}) or name an existing database in the URL"
    if "role" in low and "does not exist" in low:
        return "check the user name in the URL"
    if any(
        s in low
        for s in ("connection refused", "timeout expired", "could not translate", "no route")
    ):
        return "check the host and port in the URL and that the database server is running"
    if "invalid response" in low or "server closed the connection" in low:
        return "check the host and port in the URL: what answers there is not a PostgreSQL server"
    return _FIX


def _check_sqlite_path(url: URL, shown: str, create: bool) -> None:
    name = str(url.database)
    if url.query.get("uri") == "true":  # sqlite:///file:results.db?mode=ro&uri=true
        name = name.removeprefix("file:")
    path = Path(name)
    if path.is_dir():
        raise StoreError(
            f"Cannot open store {shown!r}: {str(path)!r} is a folder, not a database file; "
            f"pass a file inside it, e.g. --store {path / 'robustlab.db'}."
        )
    if not path.parent.exists():
        raise StoreError(
            f"Cannot open store {shown!r}: folder {str(path.parent)!r} does not exist; "
            f"create it or {_FIX}."
        )
    if not create and not path.exists():
        raise StoreError(
            f"No store at {shown!r}: the file {str(path)!r} does not exist; check the path, or run "
            "`robustlab scan` or `robustlab demo` to create it."
        )


def make_engine(url: str, *, create: bool = True, read_only: bool = False) -> Engine:
    """An engine for ``url`` whose first connection has succeeded, or a StoreError saying why not.

    Args:
        url: A full SQLAlchemy URL (normalised by :func:`normalise_url`).
        create: Whether a SQLite file that does not exist yet may be created.
        read_only: Open the database so that nothing can be written through the engine: SQLite
            files with ``mode=ro``, PostgreSQL sessions with read-only transactions.
    """
    create = create and not read_only
    shown = display_url(url)
    try:
        parsed = _with_driver(make_url(url))
        backend = parsed.get_backend_name()
        options: dict[str, Any] = {"json_serializer": json_dumps, "json_deserializer": json_loads}
        if backend == "sqlite":
            if not is_memory(parsed):
                _check_sqlite_path(parsed, shown, create)
            pragmas = _sqlite_pragmas
            if read_only and not is_memory(parsed):
                parsed, pragmas = _sqlite_read_only_url(parsed), _sqlite_read_only_pragmas
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **options)
            event.listen(engine, "connect", pragmas)
        else:
            connect_args: dict[str, Any] = {}
            if parsed.drivername in _LIBPQ and "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = CONNECT_TIMEOUT  # fail fast, never hang
            if read_only and parsed.drivername in _LIBPQ:
                connect_args["options"] = "-c default_transaction_read_only=on"
            engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **options)
        with engine.connect():
            pass
    except StoreError:
        raise
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(
            f"Cannot open store {shown!r}: not a valid database URL ({exc}); {_FIX}."
        ) from None
    except ModuleNotFoundError as exc:
        fix = (
            "pip install 'robustlab[postgres]'"
            if url.startswith("postgres")
            else f"pip install {exc.name}"
        )
        raise StoreError(
            f"Cannot open store {shown!r}: its database driver ({exc.name}) is not installed; "
            f"{fix}."
        ) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0].strip()
        raise StoreError(
            f"Cannot open store {shown!r}: {reason}; {_hint(parsed, reason)}."
        ) from None
    return engine


def sqlite_lock_engine(url: URL) -> Engine:
    """A one-connection engine whose transactions start with ``BEGIN IMMEDIATE``: the write lock
    is taken before the first read, so two processes upgrading one file run one after the other.
    """
    engine = create_engine(
        url,
        poolclass=NullPool,
        # the driver's own transaction handling would start transactions late, and not for DDL
        connect_args={"timeout": SQLITE_BUSY_SECONDS, "isolation_level": None},
        json_serializer=json_dumps,
        json_deserializer=json_loads,
    )
    event.listen(engine, "connect", _sqlite_pragmas)

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
