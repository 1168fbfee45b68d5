"""Who owns a running scan: its process and heartbeat, so a dead run is not shown as running.

A scan records ``environment["owner"] = {"pid", "host", "started", "heartbeat"}`` when it
starts or resumes a run, and refreshes the heartbeat as units and metrics finish. A run stored
as ``running`` is *stale* when its owner process is gone from this host, or when its heartbeat
is older than :func:`stale_after` seconds (a scan on another machine, or a process that hangs):
``robustlab runs`` shows it as interrupted. SIGTERM stops a scan as Ctrl-C does (the run is
marked interrupted, the process backend's workers are stopped).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from robustlab.errors import ConfigError

__all__ = [
    "OWNER",
    "Heartbeat",
    "Terminated",
    "liveness",
    "owner_note",
    "sigterm_interrupts",
    "stale_after",
]

#: Key of a run's ``environment`` naming the process that runs it.
OWNER = "owner"

#: Seconds without a heartbeat after which a run stored as running counts as interrupted
#: (``ROBUSTLAB_STALE_AFTER`` overrides it); a scan refreshes it at least once per unit.
DEFAULT_STALE_AFTER = 3600.0

#: Least seconds between two heartbeats written to the store.
BEAT_EVERY = 5.0


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the scan's main thread so that it stops as Ctrl-C stops it."""


def stale_after() -> float:
    """The heartbeat age (seconds) past which a running run is shown as interrupted."""
    raw = os.environ.get("ROBUSTLAB_STALE_AFTER")
    if raw is None or not raw.strip():
        return DEFAULT_STALE_AFTER
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ConfigError(
            f"The ROBUSTLAB_STALE_AFTER environment variable must be a positive number of "
            f"seconds. Got {raw!r} instead."
        )
    return value


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, Linux), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def owner_note() -> dict[str, Any]:
    """This process as a run's owner, with a fresh heartbeat."""
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "started": _start_ticks(pid),
        "heartbeat": _now().isoformat(timespec="seconds"),
    }


class Heartbeat:
    """Records this process as the owner of ``run_id`` and refreshes its heartbeat, at most every
    :data:`BEAT_EVERY` seconds unless forced."""

    def __init__(self, db: Any, run_id: str) -> None:
        self.db, self.run_id = db, run_id
        self.last = 0.0
        self.beat(force=True)

    def beat(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.last < BEAT_EVERY:
            return
        self.db.update_environment(self.run_id, {OWNER: owner_note()})
        self.last = time.monotonic()


def _alive(pid: int, started: Any) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    except OSError:
        return True
    now = _start_ticks(pid)
    return started is None or now is None or now == started


def liveness(run: Mapping[str, Any], now: dt.datetime | None = None) -> tuple[str, str]:
    """The status to show for a stored run, and why it differs from the stored one ("" if not).

    A ``running`` run whose owner process is gone from this host, or whose heartbeat is older
    than :func:`stale_after`, is shown as ``interrupted``. Runs stored before owners were
    recorded keep their stored status.
    """
    status = str(run["status"])
    owner = (run.get("environment") or {}).get(OWNER)
    if status != "running" or not isinstance(owner, Mapping):
        return status, ""
    pid, host = owner.get("pid"), owner.get("host")
    if (
        isinstance(pid, int)
        and host == socket.gethostname()
        and not _alive(pid, owner.get("started"))
    ):
        return "interrupted", f"its process {pid} on {host} is gone"
    try:
        beat = dt.datetime.fromisoformat(str(owner.get("heartbeat")))
    except ValueError:
        return status, ""
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=dt.timezone.utc)
    age = ((now or _now()) - beat).total_seconds()
    if age > stale_after():
        return "interrupted", f"no heartbeat for {age / 60:.0f} min (process {pid} on {host})"
    return status, ""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main
    thread, so a terminated scan marks its run interrupted and stops its workers."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) == signal.SIG_IGN  # the caller chose to ignore it
    ):
        yield
        return
    before = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)
