"""Execution backends: where units run. ``local`` runs them in this process, ``process`` in a pool
of worker processes on this machine; both compute the same records. A backend only runs units:
the scan writes each finished unit to the store, in the calling process, as it arrives.

Errors are isolated per unit (:func:`~robustlab.runner.jobs.attempt_job`): a unit whose model or
probe raises comes back as a failed :class:`Finished` with the message, and the other units run
on, unless the workload says ``fail_fast``. A worker process that dies is not a unit's error:
the backend stops and the scan resumes from the store."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Iterator, Sequence
from multiprocessing import connection
from typing import Any, Protocol

from robustlab.errors import ConfigError, RobustLabError
from robustlab.probes.base import Probe
from robustlab.registry import Registry
from robustlab.runner.jobs import Finished, Workload, attempt_job, check_portable
from robustlab.runner.plan import Unit

__all__ = ["BACKENDS", "Backend", "LocalBackend", "ProcessBackend"]


class Backend(Protocol):
    """Runs units and yields them as they finish, in any order.

    ``prepare`` is called before the run is created, so anything that would stop the units
    from running elsewhere (an object that cannot be sent to a worker) fails before any work.
    """

    name: str

    def prepare(self, workload: Workload, probes: Sequence[Probe]) -> None: ...

    def execute(self, workload: Workload, units: Sequence[Unit]) -> Iterator[Finished]: ...


BACKENDS: Registry[type] = Registry("backend")


@BACKENDS.register("local")
class LocalBackend:
    """Sequential execution in the calling process: simplest, and exact for debugging."""

    name = "local"

    def prepare(self, workload: Workload, probes: Sequence[Probe]) -> None:
        """Nothing leaves this process, so anything goes."""

    def execute(self, workload: Workload, units: Sequence[Unit]) -> Iterator[Finished]:
        for unit in units:
            yield attempt_job(unit, workload)


START_METHODS = ("spawn", "forkserver")


@BACKENDS.register("process")
class ProcessBackend:
    """A pool of worker processes on this machine (``--backend process --workers N``).

    Each worker receives the workload (model, dataset, reference model) once and builds it, then
    is handed units one at a time and sends back their records; the calling process stores each
    one as it arrives, so an interrupted scan keeps every finished unit. Workers ignore Ctrl-C
    (the calling process handles it and terminates them) and exit if the calling process dies.

    Args:
        workers: Worker processes (default: the number of CPUs available to this process).
        threads: Torch threads per worker (default 1: the workers are the parallelism).
        start_method: ``forkserver`` (the default where available: workers fork from a server
            process that has imported torch and RobustLab once, so later pools start in a
            fraction of a second) or ``spawn`` (each worker starts a fresh interpreter); never
            ``fork``, which can deadlock a process that has used torch's thread pools.
    """

    name = "process"

    def __init__(
        self, workers: int | None = None, *, threads: int = 1, start_method: str | None = None
    ) -> None:
        if start_method is None:
            available = multiprocessing.get_all_start_methods()
            start_method = "forkserver" if "forkserver" in available else "spawn"
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise ConfigError(
                f"The 'workers' parameter of ProcessBackend must be a positive int. "
                f"Got {workers!r} instead."
            )
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ConfigError(
                f"The 'threads' parameter of ProcessBackend must be a positive int. "
                f"Got {threads!r} instead."
            )
        if start_method not in START_METHODS:
            raise ConfigError(
                f"The 'start_method' parameter of ProcessBackend must be one of "
                f"{list(START_METHODS)}. Got {start_method!r} instead."
            )
        self.workers = workers or _available_cpus()
        self.threads = threads
        self.start_method = start_method

    def __repr__(self) -> str:
        return (
            f"ProcessBackend(workers={self.workers}, threads={self.threads}, "
            f"start_method={self.start_method!r})"
        )

    def prepare(self, workload: Workload, probes: Sequence[Probe]) -> None:
        check_portable(workload, probes)

    def execute(self, workload: Workload, units: Sequence[Unit]) -> Iterator[Finished]:
        if not units:
            return
        ctx: Any = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":  # (no effect once this process's server runs)
            ctx.set_forkserver_preload(["robustlab.runner.backends"])
        payload = pickle.dumps(workload, protocol=pickle.HIGHEST_PROTOCOL)
        pool = [
            _Worker(ctx, i, payload, self.threads) for i in range(min(self.workers, len(units)))
        ]
        pending = list(range(len(units)))[::-1]  # unit indices not yet handed out (pop from end)
        remaining = len(units)
        try:
            with _sigint_ignored():  # workers start with Ctrl-C ignored; this process handles it
                for worker in pool:
                    worker.start()
            for worker in pool:
                worker.assign(pending, units)
            while remaining:
                busy = [w for w in pool if w.unit is not None]
                ready = set(connection.wait([w.conn for w in busy]))
                for worker in busy:
                    if worker.conn not in ready:
                        continue
                    try:
                        kind, index, data = worker.conn.recv()
                    except EOFError:  # the worker is gone
                        raise worker.died(units) from None
                    if kind != "done":  # "error" (its unit failed) or "failed" (its start-up)
                        raise _remote_error(data, None if index is None else units[index])
                    remaining -= 1
                    records, seconds, error = data
                    worker.assign(pending, units)
                    yield Finished(units[index], records, seconds, error)
        finally:
            for worker in pool:
                worker.stop(graceful=remaining == 0)


class _Worker:
    """One worker process and this end of its pipe: units go down it one at a time, results
    come back the same way (sent synchronously, so nothing is lost if the worker dies later)."""

    def __init__(self, ctx: Any, number: int, payload: bytes, threads: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_worker,
            args=(payload, threads, child),
            name=f"robustlab-worker-{number}",
            daemon=True,
        )
        self._child = child
        self.unit: int | None = None  # index of the unit it is running

    def start(self) -> None:
        self.process.start()
        self._child.close()  # the worker holds its end; EOF here then means it is gone

    def assign(self, pending: list[int], units: Sequence[Unit]) -> None:
        """Send the worker the next pending unit, or the stop sign when none is left."""
        index = pending.pop() if pending else None
        self.unit = None
        try:
            self.conn.send(None if index is None else (index, units[index]))
        except OSError:  # a broken pipe: the worker is gone
            raise self.died(units) from None
        self.unit = index

    def died(self, units: Sequence[Unit]) -> RobustLabError:
        self.process.join(timeout=5)
        code = self.process.exitcode
        how = (
            "still running"
            if code is None
            else f"signal {-code}"
            if code < 0
            else f"exit code {code}"
        )
        what = (
            ""
            if self.unit is None
            else f" while running {units[self.unit].probe.key} shard {units[self.unit].shard}"
        )
        return RobustLabError(
            f"Worker process {self.process.pid} of the process backend died ({how}){what}. The "
            f"finished units are stored; re-run the same scan to resume (if it ran out of "
            f"memory, use fewer --workers or a smaller --shard-size)."
        )

    def stop(self, graceful: bool) -> None:
        proc = self.process
        if proc.pid is not None:
            if graceful:
                proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        self.conn.close()


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _sigint_ignored:
    """Ignore SIGINT while starting workers: they inherit the disposition, and Python then installs
    no KeyboardInterrupt handler in them."""

    def __enter__(self) -> None:
        self.before = None
        if threading.current_thread() is threading.main_thread():
            self.before = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        if self.before is not None:
            signal.signal(signal.SIGINT, self.before)


def _remote_error(data: tuple[Any, str, int], unit: Unit | None) -> BaseException:
    exc, text, pid = data
    if not isinstance(exc, BaseException):
        exc = RobustLabError(text.strip().splitlines()[-1] if text.strip() else "unknown error")
    where = "" if unit is None else f" while running {unit.probe.key} shard {unit.shard}"
    add_note = getattr(exc, "add_note", None)  # Python 3.11+
    if add_note is not None:
        add_note(f"Raised in worker process {pid}{where}:\n{text}")
    return exc


def _worker(payload: bytes, threads: int, conn: Any) -> None:
    """A worker process: build the workload once, then run the units it is sent until told to
    stop (``None``) or until the scan's process is gone (its end of the pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # already set (inter-op work started)
        torch.set_num_interop_threads(threads)
    pid = os.getpid()
    try:
        workload: Workload = pickle.loads(payload)
        workload.build()
    except BaseException as exc:
        conn.send(("failed", None, _portable_error(exc, pid)))
        return
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return  # nobody would store what this worker computes
        if item is None:
            return
        index, unit = item
        try:
            done = attempt_job(unit, workload)  # a unit's own error comes back as its result
        except BaseException as exc:
            conn.send(("error", index, _portable_error(exc, pid)))
            return
        conn.send(("done", index, (done.records, done.seconds, done.error)))


def _portable_error(exc: BaseException, pid: int) -> tuple[Any, str, int]:
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return (None, text, pid)
    return (exc, text, pid)
