"""The ``ray`` backend: units run on a Ray cluster (``--backend ray [--address ...]``).

Each of ``workers`` Ray actors receives the pickled workload once (the model, the dataset and the
reference model are built once per actor), then runs units one at a time and returns their
records to the driver; the driver, the scan's own process, writes each unit to the store under
its idempotent key, as with the other backends. So workers need no access to the store, and a
unit's records are stored exactly once, by one writer, whatever Ray retries.

Fault tolerance: an actor whose process dies (killed, out of memory, a lost node) is restarted by
Ray and its unit retried, up to ``max_retries`` times; units are seeded per unit, so a retried
unit computes the same records. A unit whose model or probe raises is not a crash: it returns as
failed (see :func:`~robustlab.runner.jobs.attempt_job`) and is never retried by Ray. If the
driver dies, the finished units are in the store and re-running the scan resumes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from robustlab.errors import ConfigError, RobustLabError
from robustlab.probes.base import Probe
from robustlab.runner.backends import BACKENDS
from robustlab.runner.jobs import Finished, Workload, attempt_job, check_portable
from robustlab.runner.plan import Unit

__all__ = ["RayBackend"]

_INSTALL = "The ray backend needs Ray: pip install 'robustlab[ray]' (or pip install ray)."


def _ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise ConfigError(_INSTALL) from None
    return ray


def _check_reachable(address: str, timeout: float) -> None:
    """Fail within ``timeout`` seconds, naming the address, when nothing listens there (Ray
    itself may wait for minutes)."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(
            f"The Ray address {address!r} is not 'auto', HOST:PORT or ray://HOST:PORT; pass "
            f"--address auto to join the cluster started on this machine with `ray start --head`."
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ConfigError(
            f"Cannot reach the Ray cluster at {address!r} ({exc.strerror or exc}) within "
            f"{timeout:g} s. Check that the head node runs (`ray start --head`) and that the "
            f"address and port are right (ray://HOST:10001 for Ray Client, HOST:6379 on the "
            f"cluster itself), or omit --address to start a local Ray instance."
        ) from None


class _Actor:
    """One Ray worker: builds the workload once, then runs the units it is given."""

    def __init__(self, payload: bytes, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(threads)
        self.workload: Workload = pickle.loads(payload)
        self.workload.build()

    def run(self, index: int, unit: Unit) -> tuple[int, Any, float, str | None]:
        done = attempt_job(unit, self.workload)
        return index, done.records, done.seconds, done.error

    def pid(self) -> int:
        return os.getpid()


@BACKENDS.register("ray")
class RayBackend:
    """Units as tasks of Ray actors (``--backend ray --workers N [--address ...]``).

    Args:
        workers: Actors (default: the cluster's CPUs divided by ``num_cpus``).
        address: ``None`` (join a running Ray instance of this process, else start a local
            one), ``auto`` (the cluster started on this machine with ``ray start --head``),
            ``HOST:PORT`` or ``ray://HOST:PORT`` (Ray Client).
        num_cpus: CPUs each actor requests (and torch threads it uses).
        num_gpus: GPUs each actor requests (e.g. 1, or 0.5 to share a GPU between two actors).
        max_retries: Restarts of an actor whose process died, each retrying its unit.
        connect_timeout: Seconds to wait for an explicit ``HOST:PORT`` address to answer.
    """

    name = "ray"

    def __init__(
        self,
        workers: int | None = None,
        *,
        address: str | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        max_retries: int = 3,
        connect_timeout: float = 5.0,
    ) -> None:
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise ConfigError(
                f"The 'workers' parameter of RayBackend must be a positive int. "
                f"Got {workers!r} instead."
            )
        for key, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(
                    f"The {key!r} parameter of RayBackend must be a number >= 0. "
                    f"Got {value!r} instead."
                )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(
                f"The 'max_retries' parameter of RayBackend must be an int >= 0. "
                f"Got {max_retries!r} instead."
            )
        self.workers = workers
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.max_retries = max_retries
        self.connect_timeout = connect_timeout

    def __repr__(self) -> str:
        return (
            f"RayBackend(workers={self.workers}, address={self.address!r}, "
            f"num_cpus={self.num_cpus}, num_gpus={self.num_gpus})"
        )

    def connect(self) -> Any:
        """Join (or start) the Ray cluster; returns the ``ray`` module."""
        ray = _ray()
        if self.address not in (None, "auto"):
            _check_reachable(str(self.address), self.connect_timeout)
        if ray.is_initialized():
            return ray
        try:
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                ignore_reinit_error=True,
            )
        except ConnectionError as exc:
            raise ConfigError(
                f"Cannot join the Ray cluster at {self.address!r}: {exc}. Start one with "
                f"`ray start --head`, or omit --address to start a local Ray instance."
            ) from None
        return ray

    def prepare(self, workload: Workload, probes: Sequence[Probe]) -> None:
        check_portable(workload, probes)
        self.connect()

    def execute(self, workload: Workload, units: Sequence[Unit]) -> Iterator[Finished]:
        if not units:
            return
        ray = self.connect()
        workers = self.workers
        if workers is None:
            cpus = float(ray.cluster_resources().get("CPU", 1))
            workers = max(1, int(cpus // max(self.num_cpus, 1e-9)))
        threads = max(1, int(self.num_cpus))
        actor_cls = ray.remote(
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus,
            max_restarts=self.max_retries,
            max_task_retries=self.max_retries,
        )(_Actor)
        payload = ray.put(pickle.dumps(workload, protocol=pickle.HIGHEST_PROTOCOL))
        actors = [actor_cls.remote(payload, threads) for _ in range(min(workers, len(units)))]
        pending = list(range(len(units)))[::-1]
        running: dict[Any, tuple[Any, int]] = {}  # object ref -> (actor, unit index)

        def assign(actor: Any) -> None:
            if pending:
                index = pending.pop()
                running[actor.run.remote(index, units[index])] = (actor, index)

        try:
            for actor in actors:
                assign(actor)
            while running:
                ready, _ = ray.wait(list(running), num_returns=1)
                ref = ready[0]
                actor, index = running.pop(ref)
                try:
                    _, records, seconds, error = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    unit = units[index]
                    raise RobustLabError(
                        f"A Ray worker died {self.max_retries + 1} times while running "
                        f"{unit.probe.key} shard {unit.shard} ({type(exc).__name__}). The "
                        f"finished units are stored; re-run the same scan to resume (if it ran "
                        f"out of memory, use fewer --workers or a smaller --shard-size)."
                    ) from None
                except ray.exceptions.RayTaskError as exc:  # fail_fast: the unit's own error
                    cause = exc.as_instanceof_cause()
                    raise cause from None
                assign(actor)
                yield Finished(units[index], records, seconds, error)
        finally:
            for ref in running:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            for actor in actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
