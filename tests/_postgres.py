"""A throwaway PostgreSQL server for the store tests, and store URLs on either backend.

The server is started once per test process (``initdb`` into a temporary folder, ``pg_ctl start``
on a free port of 127.0.0.1 with password authentication, as the ``postgres`` user when the tests
run as root) and stopped when the process exits. Every test gets a database of its own.

Environment:
    ROBUSTLAB_TEST_POSTGRES_URL: use this server instead (a ``postgresql://`` URL of a role that
        may create databases; the tests create and drop throwaway databases on it).
    ROBUSTLAB_REQUIRE_POSTGRES=1: fail, instead of skipping, when no server can be had (CI).
"""

from __future__ import annotations

import atexit
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

__all__ = ["BACKENDS", "PostgresServer", "postgres_server", "store_url"]

BACKENDS = ("sqlite", "postgresql")
ENV_URL = "ROBUSTLAB_TEST_POSTGRES_URL"
ENV_REQUIRE = "ROBUSTLAB_REQUIRE_POSTGRES"
INSTALL = "bash .ci/postgres.sh installs it"


class PostgresServer:
    """A server on which the tests may create databases, through ``admin_url``."""

    def __init__(self, admin_url: URL) -> None:
        self.admin_url = admin_url
        driver = "postgresql+psycopg2" if admin_url.drivername == "postgresql" else None
        self._admin = sa.create_engine(
            admin_url.set(drivername=driver) if driver else admin_url, isolation_level="AUTOCOMMIT"
        )

    def url(self, database: str, **changes: object) -> str:
        """A URL of ``database`` on this server (``changes``: other user, password, port...)."""
        changed = self.admin_url.set(database=database, **changes)  # type: ignore[arg-type]
        return changed.render_as_string(hide_password=False)

    def create_database(self) -> str:
        name = f"rl_{secrets.token_hex(6)}"
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with self._admin.connect() as conn:  # FORCE: a test may have left a connection open
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._admin.dispose()


def _bindir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb") or shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start() -> URL:
    """Start a throwaway cluster, stopped and deleted at exit; its superuser's URL."""
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        raise RuntimeError(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL}")
    folder = tempfile.mkdtemp(prefix="robustlab-pg-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    as_user: list[str] = []
    password = secrets.token_hex(8)
    pwfile = Path(folder, "pw")
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError(
                f"running as root and no 'postgres' user exists; {INSTALL}"
            ) from None
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root, and runuser is missing to start PostgreSQL")
        for path in (folder, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = str(Path(folder, "data"))
    initdb = [str(bindir / "initdb"), "-D", data, "-U", "robustlab", f"--pwfile={pwfile}"]
    settings = ["--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"]
    subprocess.run([*as_user, *initdb, *settings], check=True, capture_output=True, timeout=180)
    log = str(Path(folder, "server.log"))
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", data]
    for _attempt in range(3):  # a free port can be taken before the server binds it
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        started = subprocess.run(
            [*pg_ctl, "-l", log, "-w", "-t", "60", "-o", options, "start"],
            capture_output=True,
            timeout=120,
        )
        if started.returncode == 0:
            break
    else:
        tail = Path(log).read_text()[-2000:] if Path(log).exists() else started.stderr.decode()
        raise RuntimeError(f"pg_ctl start failed: {tail}")
    # registered after the folder's removal, so run before it (atexit is last in, first out)
    atexit.register(
        subprocess.run, [*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60
    )
    return URL.create("postgresql", "robustlab", password, "127.0.0.1", port, database="postgres")


_SERVER: list[PostgresServer] = []
_FAILED: list[str] = []


def postgres_server() -> PostgresServer:
    """The session's server, started on first use; skips the test (or fails, when
    ROBUSTLAB_REQUIRE_POSTGRES=1) if there is none."""
    if not _SERVER and not _FAILED:
        try:
            admin = make_url(os.environ[ENV_URL]) if os.environ.get(ENV_URL) else _start()
            server = PostgresServer(admin)
            atexit.register(server.close)
            with server._admin.connect():
                pass
            _SERVER.append(server)
        except Exception as exc:  # any failure to start is reported the same way
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            _FAILED.append(f"no PostgreSQL server for the store tests: {reason}")
    if _FAILED:
        if os.environ.get(ENV_REQUIRE) == "1":
            pytest.fail(f"{_FAILED[0]} ({ENV_REQUIRE}=1)", pytrace=False)
        pytest.skip(_FAILED[0])
    return _SERVER[0]


def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL of a new, empty store on ``backend`` (a fixture body: yields, then cleans up)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    server = postgres_server()
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)
