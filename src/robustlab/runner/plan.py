"""Planning: a scan is a list of units, one probe on one shard of the dataset."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.errors import ConfigError
from robustlab.metrics.base import derive_seed
from robustlab.probes.base import Probe

__all__ = ["Unit", "plan_units"]


@dataclass(frozen=True)
class Unit:
    """One piece of work: ``probe`` on examples ``start:stop`` with its own derived seed."""

    probe: Probe
    shard: int
    start: int
    stop: int
    seed: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.probe.key, self.shard)


def plan_units(probes: list[Probe], size: int, shard_size: int, seed: int) -> list[Unit]:
    """Units for every probe and shard. Seeds depend only on (seed, probe, shard), so a resumed
    or re-ordered scan computes exactly what an uninterrupted one does."""
    if not isinstance(shard_size, int) or shard_size < 1:
        raise ConfigError(f"The 'shard_size' parameter must be a positive int. Got {shard_size!r}.")
    units = []
    for probe in probes:
        for shard, start in enumerate(range(0, size, shard_size)):
            stop = min(start + shard_size, size)
            units.append(Unit(probe, shard, start, stop, derive_seed(seed, probe.seed_key, shard)))
    return units
