"""A scan's duration before it starts (``--estimate``): a few timed batches of every probe,
scaled to the data's size. Nothing is stored."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustlab._progress import format_duration
from robustlab.data.domains import DomainsDataset
from robustlab.data.loading import as_dataset
from robustlab.models.loading import as_model
from robustlab.probes.base import NotApplicable
from robustlab.runner.budget import sample_examples
from robustlab.runner.jobs import seeded
from robustlab.runner.plan import plan_units
from robustlab.runner.preflight import check_bounds, preflight
from robustlab.suites import Suite, load_suite
from robustlab.validation import check_int

__all__ = ["ProbeEstimate", "ScanEstimate", "estimate_scan"]


@dataclass(frozen=True)
class ProbeEstimate:
    """One probe's measured cost: batches of ``sizes`` examples took ``times`` seconds. A line
    ``seconds = fixed + per_example * n`` through them (a probe's per-call cost, such as an
    attack's start-up, spread over the unit's examples) scales it to ``examples`` examples in
    ``units`` units."""

    key: str
    label: str
    examples: int
    units: int
    sizes: tuple[int, ...]
    times: tuple[float, ...]

    @property
    def timed(self) -> int:
        return sum(self.sizes)

    @property
    def timed_seconds(self) -> float:
        return sum(self.times)

    def _fit(self) -> tuple[float, float]:
        if len(self.sizes) < 2 or self.sizes[-1] == self.sizes[0]:
            return 0.0, self.timed_seconds / max(self.timed, 1)
        slope = (self.times[-1] - self.times[0]) / (self.sizes[-1] - self.sizes[0])
        slope = max(slope, 0.0)
        fixed = max(self.times[0] - slope * self.sizes[0], 0.0)
        if slope == 0.0:  # timing noise: fall back to the mean cost per example
            return 0.0, self.timed_seconds / max(self.timed, 1)
        return fixed, slope

    @property
    def seconds_per_example(self) -> float:
        """Marginal seconds per example (the fitted slope)."""
        return self._fit()[1]

    @property
    def seconds(self) -> float:
        fixed, slope = self._fit()
        return fixed * self.units + slope * self.examples


@dataclass(frozen=True)
class ScanEstimate:
    """The expected duration of a scan, per probe and overall (:func:`estimate_scan`)."""

    model: str
    dataset: str
    suite: str
    examples: int
    probes: list[ProbeEstimate]
    skipped: dict[str, str] = field(default_factory=dict)
    threads: int | None = None

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.probes)

    @property
    def timing_seconds(self) -> float:
        """What measuring took."""
        return sum(p.timed_seconds for p in self.probes)

    def per_examples(self, n: int = 1000) -> float:
        """Expected seconds per ``n`` examples."""
        return self.seconds * n / max(self.examples, 1)

    def __str__(self) -> str:
        lines = [
            f"Estimate: {self.model} on {self.dataset} ({self.examples} examples), suite "
            f"{self.suite}: about {format_duration(self.seconds)} "
            f"({format_duration(self.per_examples())} per 1,000 examples)"
        ]
        for p in sorted(self.probes, key=lambda p: -p.seconds):
            lines.append(
                f"  {p.label:<36} {format_duration(p.seconds):>12}  "
                f"({1000 * p.seconds_per_example:.1f} ms/example, {p.timed} examples timed)"
            )
        lines += [f"  {k:<36} skipped: {why}" for k, why in self.skipped.items()]
        return "\n".join(lines)


def estimate_scan(
    model: Any,
    data: Any,
    suite: str | Suite | dict[str, Any] = "quick",
    *,
    batches: int = 2,
    batch_examples: int = 16,
    seed: int = 0,
    shift: Mapping[str, Any] | None = None,
    reference: Any = None,
    device: str | None = None,
    batch_size: int | None = None,
    name: str | None = None,
    max_examples: int | None = None,
    threads: int | None = None,
    shard_size: int = 256,
) -> ScanEstimate:
    """Time ``batches`` batches under every probe of ``suite`` (``batch_examples`` examples,
    then three times as many) and scale each probe's cost to the whole data and its units (a
    dry run: nothing is stored). The other arguments are :func:`robustlab.scan`'s.

    The batches are spread over the data (not its first rows, which in a class-sorted folder
    are one class), and the model runs once untimed first, so start-up costs are left out.
    Attacks cost more on examples the model gets right, so the estimate follows the sampled
    examples' accuracy; small timed batches make it err on the long side.
    """
    from robustlab.runner.scan import _check_train_mode, _configure_model, _threads

    batches = int(check_int("estimate()", "batches", batches) or 1)
    size = int(check_int("estimate()", "batch_examples", batch_examples) or 1)
    with _threads(threads):
        model = as_model(model)
        _configure_model(model, device, batch_size, name)
        _check_train_mode(model)
        dataset = sample_examples(as_dataset(data), max_examples, seed)
        if shift:
            dataset = DomainsDataset(
                dataset,
                {k: sample_examples(as_dataset(v), max_examples, seed) for k, v in shift.items()},
            )
        suite = load_suite(suite)
        preflight(model, dataset, suite=suite)
        oracle = None if reference is None else as_model(reference)
        n = len(dataset)
        units = len(plan_units(list(suite.probes[:1]), n, shard_size, seed)) if suite.probes else 0
        # a small and a three times larger batch, spread over the data (never its first rows
        # only: a class-sorted folder starts with one class)
        sizes = [size * (1 if i == 0 else 3) for i in range(batches)]
        picks = np.unique(np.linspace(0, n - 1, min(sum(sizes), n)).round().astype(np.int64))
        order = np.random.default_rng([seed, 7]).permutation(len(picks))
        cuts = np.cumsum(sizes)[:-1]
        parts = [np.sort(picks[p]) for p in np.split(order, cuts) if len(p)]
        warm = dataset.batch(parts[0])
        model.predict_scores(warm.inputs)  # untimed: first-call costs are not the scan's
        out, skipped = [], {}
        for probe in suite.probes:
            try:
                probe.applicable(model, dataset)
            except NotApplicable as reason:
                skipped[probe.key] = str(reason)
                continue
            times = []
            for i, idx in enumerate(parts):
                batch = dataset.batch(idx)
                check_bounds(batch.inputs, model, f"Dataset {dataset.name!r}")
                if oracle is not None:
                    batch.reference = oracle
                with seeded(seed + i):
                    began = time.perf_counter()
                    probe.run(model, batch, seed + i)
                    times.append(time.perf_counter() - began)
            sizes_run = tuple(len(p) for p in parts)
            out.append(ProbeEstimate(probe.key, probe.label, n, units, sizes_run, tuple(times)))
        import torch

        return ScanEstimate(
            model.name,
            dataset.name,
            f"{suite.name} v{suite.version}",
            n,
            out,
            skipped,
            torch.get_num_threads(),
        )
