"""Bad input to the store: every failure is one StoreError naming the problem and the fix, on
SQLite and on a real PostgreSQL server, and the CLI prints it as one line."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _postgres import BACKENDS, postgres_server, store_url
from helpers_core import random_records
from robustlab.cli import main
from robustlab.errors import StoreError
from robustlab.store import Store, _engine, open_store


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_url(request.param, tmp_path)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, " ".join(out.err.split())


def _message(url: str, **kwargs: bool) -> str:
    started = time.perf_counter()
    with pytest.raises(StoreError) as info:
        Store(url, **kwargs)
    assert time.perf_counter() - started < 15, "a store that cannot be opened must fail fast"
    return str(info.value)


# -- SQLite paths ------------------------------------------------------------------------------


def test_a_folder_is_not_a_store(tmp_path: Path) -> None:
    msg = _message(str(tmp_path))
    assert f"{str(tmp_path)!r} is a folder, not a database file" in msg
    assert f"--store {tmp_path / 'robustlab.db'}" in msg


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("these are my notes, not a database\n" * 50)
    msg = _message(str(junk))
    assert msg.startswith(f"Cannot open store 'sqlite:///{junk}': file is not a database;")
    assert "pass the path of a RobustLab store (a SQLite file) or of a file to create" in msg
    assert junk.read_text().startswith("these are my notes")  # left as it was


def test_a_missing_file_is_not_created_when_only_reading(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    msg = _message(str(path), create=False)
    assert msg.startswith("No store at 'sqlite:///") and "does not exist" in msg
    assert "robustlab scan" in msg
    assert not path.exists()
    Store(str(path)).close()  # creating is the default
    open_store(str(path), create=False).close()  # and then it exists


# -- PostgreSQL servers that cannot be used ------------------------------------------------------


def test_a_postgres_server_that_is_not_running_fails_at_once() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    msg = _message(f"postgresql://robustlab:secret@127.0.0.1:{port}/results")
    assert msg.startswith(
        f"Cannot open store 'postgresql://robustlab:***@127.0.0.1:{port}/results'"
    )
    assert "Connection refused" in msg
    assert "check the host and port in the URL and that the database server is running" in msg
    assert "secret" not in msg


def test_a_postgres_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that accepts the connection and then says nothing: the default connect timeout
    ends the wait, instead of hanging the scan."""
    monkeypatch.setattr(_engine, "CONNECT_TIMEOUT", 2)  # the shortest libpq takes; default 10
    outcome: list[BaseException] = []

    def open_it(url: str) -> None:
        try:
            Store(url)
        except BaseException as exc:
            outcome.append(exc)

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # the kernel completes the handshake; nobody ever replies
        port = silent.getsockname()[1]
        opener = threading.Thread(
            target=open_it, args=(f"postgresql://u:secret@127.0.0.1:{port}/results",), daemon=True
        )
        opener.start()
        opener.join(timeout=10)
        assert not opener.is_alive(), "opening a silent server must not hang"
    (error,) = outcome
    assert isinstance(error, StoreError)
    assert "timeout expired" in str(error) and "database server is running" in str(error)


def test_wrong_password_and_missing_database_and_unknown_user() -> None:
    server = postgres_server()
    msg = _message(server.url("postgres", password="not-the-password"))
    assert 'password authentication failed for user "robustlab"' in msg
    assert "check the user name and password in the URL" in msg
    assert "not-the-password" not in msg and ":***@" in msg
    msg = _message(server.url("no_such_db"))
    assert 'database "no_such_db" does not exist' in msg
    assert "createdb no_such_db" in msg
    msg = _message(server.url("postgres", username="nobody_here"))
    assert "nobody_here" in msg and "check the user name" in msg


def test_a_postgres_url_keeps_its_password_out_of_listings(url: str) -> None:
    s = Store(url)
    password = s.engine.url.password
    if password:
        assert str(password) not in s.url and str(password) not in repr(s)
    s.close()


def test_postgres_spelling_of_the_scheme_is_accepted() -> None:
    server = postgres_server()
    url = server.create_database()
    try:
        s = Store(url.replace("postgresql://", "postgres://", 1))
        assert s.engine.dialect.name == "postgresql"
        s.close()
    finally:
        server.drop_database(url)


# -- runs that are not there ---------------------------------------------------------------------


def test_unknown_run_ids_are_store_errors(url: str) -> None:
    s = Store(url)
    with pytest.raises(StoreError, match="the store is empty; run a scan first"):
        s.run("abc")
    with pytest.raises(StoreError, match=r"No run 'nope' in store .*`robustlab runs` lists them"):
        s.set_status("nope", "complete")
    with pytest.raises(StoreError, match="Cannot write metrics of run 'nope': no such run"):
        s.write_metrics("nope", [])
    with pytest.raises(StoreError, match="check that the run exists"):
        s.write_unit(
            "nope",
            probe_key="clean",
            probe_spec={},
            shard=0,
            start=0,
            stop=3,
            records=random_records(3),
            seconds=0.0,
        )
    s.close()


# -- the same through the command line ----------------------------------------------------------


def test_cli_lists_an_empty_store_and_says_how_to_fill_it(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Store(url).close()  # an empty store (reading commands do not create one)
    code, out, _ = run_cli(["runs", "--store", url], capsys)
    assert code == 0
    assert "No runs in" in out and "robustlab demo" in out and "robustlab scan" in out
    code, _, err = run_cli(["report", "abc", "--store", url], capsys)
    assert code == 2
    assert "error: No run 'abc' in store" in err and "the store is empty" in err


def test_cli_turns_store_errors_into_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for store, expected in [
        (f"postgresql://u:pw@127.0.0.1:{port}/db", "Connection refused"),
        (str(tmp_path), "is a folder, not a database file"),
    ]:
        code, _, err = run_cli(["runs", "--store", store], capsys)
        assert code == 2
        assert err.startswith("error: Cannot open store") and expected in err
        assert "Traceback" not in err
