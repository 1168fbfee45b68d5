"""Planning: a scan is a list of units, one probe on one shard of the dataset."""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from typing import Any

from robustlab.errors import ConfigError
from robustlab.metrics.base import derive_seed
from robustlab.probes.base import Probe, make_probe

__all__ = ["Unit", "plan_units", "portable_spec", "rebuild_probe"]


@dataclass(frozen=True)
class Unit:
    """One piece of work: ``probe`` on examples ``start:stop`` with its probe's derived seed.

    A unit is data another process can rebuild: it pickles as the probe's JSON spec (rebuilt
    there with :func:`~robustlab.probes.make_probe`), the shard, its bounds and its seed; the
    model, dataset and reference model it runs on travel once per worker in a
    :class:`~robustlab.runner.jobs.Workload`.
    """

    probe: Probe
    shard: int
    start: int
    stop: int
    seed: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.probe.key, self.shard)

    def __reduce__(self) -> tuple[Any, ...]:
        module = type(self.probe).__module__
        args = (module, portable_spec(self.probe), self.shard, self.start, self.stop, self.seed)
        return (_rebuild_unit, args)


def portable_spec(probe: Probe) -> dict[str, Any]:
    """The probe's spec as it crosses a process boundary: through JSON, as the store keeps it."""
    return dict(json.loads(json.dumps(probe.spec)))


#: Probes rebuilt in this process, by their spec's JSON: each is built once, not once per unit.
_PROBES: dict[str, Probe] = {}


def rebuild_probe(module: str, spec: dict[str, Any]) -> Probe:
    """The probe ``spec`` describes; ``module`` (its class's module) is imported first, so a
    probe registered outside RobustLab's own packages is known."""
    text = json.dumps(spec, sort_keys=True)
    probe = _PROBES.get(text)
    if probe is None:
        if module not in sys.modules and module not in ("__main__", "__mp_main__"):
            importlib.import_module(module)
        probe = _PROBES[text] = make_probe(spec)
    return probe


def _rebuild_unit(
    module: str, spec: dict[str, Any], shard: int, start: int, stop: int, seed: int
) -> Unit:
    return Unit(rebuild_probe(module, spec), shard, start, stop, seed)


def plan_units(probes: list[Probe], size: int, shard_size: int, seed: int) -> list[Unit]:
    """Units for every probe and shard. A unit's seed is its probe's, ``derive_seed(seed,
    probe.seed_key)``, the same for every shard: probes key each example's random choices by
    that seed and the example's id (:mod:`robustlab.seeding`), so results depend neither on the
    shard size, nor on the order of the units, nor on resuming."""
    if not isinstance(shard_size, int) or shard_size < 1:
        raise ConfigError(f"The 'shard_size' parameter must be a positive int. Got {shard_size!r}.")
    units = []
    for probe in probes:
        for shard, start in enumerate(range(0, size, shard_size)):
            stop = min(start + shard_size, size)
            units.append(Unit(probe, shard, start, stop, derive_seed(seed, probe.seed_key)))
    return units
