"""Execution backends: where units run. ``local`` runs them in this process, ``process`` in a pool
of worker processes on this machine; both compute the same records. A backend only runs units:
the scan writes each finished unit to the store, in the calling process, as it arrives."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import traceback
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from robustlab.errors import ConfigError, RobustLabError
from robustlab.probes.base import Probe
from robustlab.registry import Registry
from robustlab.runner.jobs import Finished, Workload, check_portable, run_job
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
            yield Finished(unit, *run_job(unit, workload))


START_METHODS = ("spawn", "forkserver")


@BACKENDS.register("process")
class ProcessBackend:
    """A pool of worker processes on this machine (``--backend process --workers N``).

    Each worker receives the workload (model, dataset, reference model) once and builds it, then
    takes units from a shared queue and sends back their records; the calling process stores each
    one as it arrives, so an interrupted scan keeps every finished unit. Workers ignore Ctrl-C
    (the calling process handles it and terminates them) and exit if the calling process dies.

    Args:
        workers: Worker processes (default: the number of CPUs available to this process).
        threads: Torch threads per worker (default 1: the workers are the parallelism).
        start_method: ``spawn`` (default) or ``forkserver``; never ``fork``, which can deadlock
            a process that has used torch's thread pools.
    """

    name = "process"

    def __init__(
        self, workers: int | None = None, *, threads: int = 1, start_method: str = "spawn"
    ) -> None:
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
        return f"ProcessBackend(workers={self.workers}, threads={self.threads})"

    def prepare(self, workload: Workload, probes: Sequence[Probe]) -> None:
        check_portable(workload, probes)

    def execute(self, workload: Workload, units: Sequence[Unit]) -> Iterator[Finished]:
        if not units:
            return
        ctx: Any = multiprocessing.get_context(self.start_method)
        payload = pickle.dumps(workload, protocol=pickle.HIGHEST_PROTOCOL)
        tasks: Any = ctx.Queue()
        results: Any = ctx.Queue()
        count = min(self.workers, len(units))
        # Units are handed out a few at a time (never more than a pipe holds), so that stopping
        # early never leaves this process blocked writing units nobody will read.
        unsent = list(range(len(units)))[::-1]

        def feed(n: int) -> None:
            for _ in range(min(n, len(unsent))):
                index = unsent.pop()
                tasks.put((index, units[index]))
                if not unsent:  # then one stop sign per worker
                    for _ in range(count):
                        tasks.put(None)

        procs = [
            ctx.Process(
                target=_worker,
                args=(payload, self.threads, tasks, results),
                name=f"robustlab-worker-{i}",
                daemon=True,
            )
            for i in range(count)
        ]
        running: dict[int, int] = {}  # worker pid -> index of the unit it runs
        remaining = len(units)
        try:
            feed(2 * count)
            with _sigint_ignored():  # workers start with Ctrl-C ignored; this process handles it
                for proc in procs:
                    proc.start()
            while remaining:
                try:
                    kind, index, data = results.get(timeout=0.5)
                except queue.Empty:
                    _check_alive(procs, running, units)
                    continue
                if kind == "started":
                    running[data] = index
                elif kind == "done":
                    remaining -= 1
                    records, seconds, pid = data
                    running.pop(pid, None)
                    feed(1)
                    yield Finished(units[index], records, seconds)
                else:  # "error" (a unit failed) or "failed" (the workload could not be built)
                    raise _remote_error(data, None if index is None else units[index])
        finally:
            _stop(procs, tasks, results, graceful=remaining == 0)


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


def _check_alive(procs: list[Any], running: dict[int, int], units: Sequence[Unit]) -> None:
    for proc in procs:
        code = proc.exitcode
        if code is not None and code != 0:
            index = running.get(proc.pid)
            what = (
                f" while running {units[index].probe.key} shard {units[index].shard}"
                if index is not None
                else ""
            )
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            raise RobustLabError(
                f"Worker process {proc.pid} of the process backend died ({how}){what}. The "
                f"finished units are stored; re-run the same scan to resume (if it runs out of "
                f"memory, use fewer --workers or a smaller --shard-size)."
            )
    if all(proc.exitcode is not None for proc in procs):
        raise RobustLabError("Every worker process of the process backend exited early.")


def _remote_error(data: tuple[Any, str, int], unit: Unit | None) -> BaseException:
    exc, text, pid = data
    if not isinstance(exc, BaseException):
        exc = RobustLabError(text.strip().splitlines()[-1] if text.strip() else "unknown error")
    where = "" if unit is None else f" while running {unit.probe.key} shard {unit.shard}"
    add_note = getattr(exc, "add_note", None)  # Python 3.11+
    if add_note is not None:
        add_note(f"Raised in worker process {pid}{where}:\n{text}")
    return exc


def _stop(procs: list[Any], tasks: Any, results: Any, graceful: bool) -> None:
    for proc in procs:
        if proc.pid is None:
            continue
        if graceful:
            proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    for q in (tasks, results):
        q.cancel_join_thread()
        q.close()


def _worker(payload: bytes, threads: int, tasks: Any, results: Any) -> None:
    """A worker process: build the workload once, then run units until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # already set (inter-op work started)
        torch.set_num_interop_threads(threads)
    pid = os.getpid()
    parent = multiprocessing.parent_process()
    try:
        workload: Workload = pickle.loads(payload)
        workload.build()
    except BaseException as exc:
        results.put(("failed", None, _portable_error(exc, pid)))
        return
    while True:
        try:
            item = tasks.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return  # the scan is gone: nobody would store what this worker computes
            continue
        if item is None:
            return
        index, unit = item
        results.put(("started", index, pid))
        try:
            records, seconds = run_job(unit, workload)
        except BaseException as exc:
            results.put(("error", index, _portable_error(exc, pid)))
            return
        results.put(("done", index, (records, seconds, pid)))


def _portable_error(exc: BaseException, pid: int) -> tuple[Any, str, int]:
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return (None, text, pid)
    return (exc, text, pid)
