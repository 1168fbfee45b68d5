"""Scan progress that tells the truth: inside units (per batch of the model), as a rich bar on a
terminal or as plain lines every few seconds in a log, with an overall ETA.

Probes and attacks call :func:`batch_done` after each batch they finish; the scan listens with
:func:`listening` while a unit runs in this process. Units run by other processes (the
``process`` and ``ray`` backends) advance when they finish.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = [
    "ScanProgress",
    "batch_done",
    "format_duration",
    "listening",
    "stage",
    "unit_began",
]

#: The scan progress listening in this thread (None: nothing shown), and the share of the
#: running unit the current stage covers (``(start, width)``; nested stages narrow it).
_LISTENER: contextvars.ContextVar[ScanProgress | None] = contextvars.ContextVar(
    "robustlab_progress_listener", default=None
)
_STAGE: contextvars.ContextVar[tuple[float, float]] = contextvars.ContextVar(
    "robustlab_progress_stage", default=(0.0, 1.0)
)


def unit_began(key: str) -> None:
    """A unit of probe ``key`` starts running in this process (called by ``run_job``)."""
    listener = _LISTENER.get()
    if listener is not None:
        _STAGE.set((0.0, 1.0))
        listener.start_unit(key)


def batch_done(done: int, total: int) -> None:
    """Report that ``done`` of ``total`` batches of the current loop are finished (a no-op when
    nothing listens). Cheap enough to call once per batch."""
    listener = _LISTENER.get()
    if listener is None or total <= 0:
        return
    start, width = _STAGE.get()
    listener.unit_fraction(start + width * min(max(done / total, 0.0), 1.0))


@contextmanager
def stage(index: int, count: int) -> Iterator[None]:
    """Map the batches reported inside the block to the ``index``-th of ``count`` equal parts
    of the current stage (an ensemble's attacks run one after another over the same unit)."""
    start, width = _STAGE.get()
    part = width / max(count, 1)
    token = _STAGE.set((start + part * index, part))
    try:
        yield
    finally:
        _STAGE.reset(token)


@contextmanager
def listening(progress: ScanProgress) -> Iterator[None]:
    """Send the units run in this thread inside the block, and their batches, to ``progress``."""
    token = _LISTENER.set(progress)
    stage_token = _STAGE.set((0.0, 1.0))
    try:
        yield
    finally:
        _STAGE.reset(stage_token)
        _LISTENER.reset(token)


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 10 min``."""
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class _Probe:
    label: str
    units: int
    done: int = 0
    seconds: float = 0.0  # measured seconds of its finished units


@dataclass
class ScanProgress:
    """What a scan has done and what it expects: units per probe, the fraction of the running
    unit, and an ETA from each probe's measured seconds per unit (the scan's mean for a probe
    with no finished unit yet).

    ``mode`` is ``"bar"`` (rich, on a terminal), ``"lines"`` (a plain line every ``every``
    seconds, for logs and pipes) or ``"off"``.
    """

    probes: dict[str, _Probe] = field(default_factory=dict)
    mode: str = "off"
    every: float = 30.0
    stream: TextIO | None = None
    started: float = field(default_factory=time.monotonic)
    current: str | None = None
    fraction: float = 0.0  # of the running unit
    unit_started: float = 0.0
    _bar: Any = None
    _tasks: dict[str, Any] = field(default_factory=dict)
    _overall: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _last_line: float = 0.0

    @classmethod
    def choose_mode(cls, enabled: bool, stream: TextIO | None = None) -> str:
        """``bar`` on a terminal, ``lines`` otherwise, ``off`` when disabled."""
        if not enabled:
            return "off"
        out = stream if stream is not None else sys.stderr
        isatty = getattr(out, "isatty", None)
        return "bar" if callable(isatty) and isatty() else "lines"

    def add(self, key: str, label: str, units: int) -> None:
        self.probes[key] = _Probe(label, units)

    # -- counts ---------------------------------------------------------------------------------
    @property
    def total_units(self) -> int:
        return sum(p.units for p in self.probes.values())

    @property
    def done_units(self) -> int:
        return sum(p.done for p in self.probes.values())

    def eta(self) -> float:
        """Seconds left: each probe's remaining units times its measured seconds per unit; for
        the running probe with no finished unit, its unit's elapsed time over the share done;
        for a probe not started, the mean of the probes measured so far (NaN before any)."""
        now = time.monotonic()
        elapsed = now - self.unit_started if self.current else 0.0
        done = [p for p in self.probes.values() if p.done]
        mean = sum(p.seconds for p in done) / sum(p.done for p in done) if done else float("nan")
        left = 0.0
        for key, p in self.probes.items():
            remaining = p.units - p.done
            if remaining <= 0:
                continue
            running = key == self.current
            if p.done:
                per_unit = p.seconds / p.done
            elif running and self.fraction > 0:
                per_unit = elapsed / self.fraction
            elif running:
                per_unit = max(mean, elapsed) if done else float("nan")
            else:
                per_unit = mean
            if running:
                left += max(per_unit * (remaining - self.fraction), per_unit * 0.01)
            else:
                left += per_unit * remaining
        return left

    # -- events ---------------------------------------------------------------------------------
    def start_unit(self, key: str) -> None:
        with self._lock:
            self.current, self.fraction, self.unit_started = key, 0.0, time.monotonic()
        self._refresh()

    def unit_fraction(self, fraction: float) -> None:
        with self._lock:
            self.fraction = max(self.fraction, min(fraction, 1.0))  # never goes back
        self._refresh()

    def finish_unit(self, key: str, seconds: float) -> None:
        with self._lock:
            p = self.probes[key]
            p.done += 1
            p.seconds += seconds
            if self.current == key:
                self.current, self.fraction = None, 0.0
        self._refresh()

    # -- display --------------------------------------------------------------------------------
    def line(self) -> str:
        """One plain progress line: units done/total (with the running unit's share), the
        probe running, elapsed time and ETA."""
        with self._lock:
            done = self.done_units + (self.fraction if self.current else 0.0)
            total = self.total_units
            running = self.probes[self.current].label if self.current else None
        share = 100.0 * done / total if total else 100.0
        text = f"progress: {done:.2f}/{total} units ({share:.0f}%)"
        if running:
            from robustlab._terminal import printable  # names come from users: no controls

            text += f" · running {printable(running)} ({100 * self.fraction:.0f}% of its unit)"
        text += f" · elapsed {format_duration(time.monotonic() - self.started)}"
        text += f" · ETA {format_duration(self.eta())}"
        return text

    def _refresh(self) -> None:
        if self.mode == "bar" and self._bar is not None:
            for key, task in self._tasks.items():
                p = self.probes[key]
                part = self.fraction if key == self.current else 0.0
                self._bar.update(task, completed=p.done + part)
            done = self.done_units + (self.fraction if self.current else 0.0)
            self._bar.update(
                self._overall, completed=done, eta=f"ETA {format_duration(self.eta())}"
            )

    def _print_line(self) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        print(self.line(), file=stream, flush=True)
        self._last_line = time.monotonic()

    def _ticker(self) -> None:
        while not self._stop.wait(self.every):
            self._print_line()

    @contextmanager
    def shown(self, title: str = "all probes") -> Iterator[ScanProgress]:
        """Show the progress while the block runs (bar or lines), and a last line at the end."""
        if self.mode == "off" or not self.probes:
            yield self
            return
        if self.mode == "lines":
            thread = threading.Thread(target=self._ticker, name="robustlab-progress", daemon=True)
            self._print_line()
            thread.start()
            try:
                yield self
            finally:
                self._stop.set()
                thread.join(timeout=5)
                self._print_line()
            return
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from robustlab._terminal import printable

        with Progress(
            TextColumn("{task.description:<36}", style="bold", markup=False),  # names: not markup
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.completed:.1f}/{task.total:.0f} units", markup=False),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}", markup=False),
            transient=False,
        ) as bar:
            self._bar = bar
            for key, p in self.probes.items():
                self._tasks[key] = bar.add_task(printable(p.label)[:36], total=p.units, eta="")
            self._overall = bar.add_task(printable(title)[:36], total=self.total_units, eta="")
            try:
                yield self
            finally:
                self._refresh()
                self._bar = None
