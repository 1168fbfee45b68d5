"""Execution backends: where units run. Local (in this process) now; others plug in here."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from robustlab.registry import Registry
from robustlab.runner.plan import Unit

__all__ = ["BACKENDS", "Backend", "LocalBackend"]

R = TypeVar("R")


class Backend(Protocol):
    """Runs ``work`` on each unit and yields the results as they finish (any order)."""

    name: str

    def execute(self, units: Sequence[Unit], work: Callable[[Unit], R]) -> Iterator[R]: ...


BACKENDS: Registry[type] = Registry("backend")


@BACKENDS.register("local")
class LocalBackend:
    """Sequential execution in the calling process: simplest, and exact for debugging."""

    name = "local"

    def execute(self, units: Sequence[Unit], work: Callable[[Unit], R]) -> Iterator[R]:
        for unit in units:
            yield work(unit)
