"""Suites: named, versioned, declarative lists of probes, from YAML files or Python."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from robustlab._yaml import load_yaml
from robustlab.errors import ConfigError
from robustlab.metrics import METRICS
from robustlab.probes import Probe, make_probe
from robustlab.registry import Registry

__all__ = ["SUITES", "Suite", "builtin_suites", "load_suite"]

#: Built-in suites: every ``suites/builtin/<name>.yaml`` file registers itself under ``<name>``.
SUITES: Registry[Path] = Registry("suite")

#: Largest suite file read, in bytes (the built-in ones are under 2 KB).
MAX_SUITE_BYTES = 1_000_000

#: Most probes one suite may hold once its grids are expanded.
MAX_SUITE_PROBES = 10_000


def _read_yaml(path: Path) -> Any:
    size = path.stat().st_size
    if size > MAX_SUITE_BYTES:
        raise ConfigError(
            f"Suite file {str(path)!r} is {size:,} bytes; suites are limited to "
            f"{MAX_SUITE_BYTES:,} bytes. Pass the suite file itself, or split it."
        )
    return load_yaml(path.read_text(), f"Suite file {str(path)!r}")


@dataclass(frozen=True)
class Suite:
    """A named, versioned list of probes.

    Attributes:
        name: Suite name; results are only compared within the same name and version.
        version: Bumped whenever the probes or their parameters change.
        probes: The probes, in order.
        metrics: Metrics to compute for every probe where they apply; ``None`` uses each probe's
            own defaults.
        description: One line for ``robustlab list`` and the report.
    """

    name: str
    version: int
    probes: tuple[Probe, ...]
    metrics: tuple[str, ...] | None = None
    description: str = ""
    source: str = field(default="python", compare=False)

    def __post_init__(self) -> None:
        if not self.probes:
            raise ConfigError(f"Suite {self.name!r} lists no probes; add at least one.")
        keys = [p.key for p in self.probes]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ConfigError(f"Suite {self.name!r} lists {', '.join(dupes)} more than once.")
        for m in self.metrics or ():
            METRICS.get(m)

    @property
    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "probes": [p.spec for p in self.probes],
            "metrics": list(self.metrics) if self.metrics is not None else None,
        }

    @property
    def fingerprint(self) -> str:
        blob = json.dumps(self.spec, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def metrics_for(self, probe: Probe) -> tuple[str, ...]:
        return self.metrics if self.metrics is not None else probe.metrics

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "python") -> Suite:
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"A suite must be a mapping with name, version and probes ({source})."
            )
        unknown = sorted(set(data) - {"name", "version", "description", "probes", "metrics"})
        if unknown:
            raise ConfigError(
                f"Suite {source}: unknown key(s) {', '.join(unknown)}; allowed: name, version, "
                f"description, probes, metrics."
            )
        for key in ("name", "probes"):
            if key not in data:
                raise ConfigError(f"Suite {source} has no {key!r}; add it.")
        version = data.get("version", 1)
        if not isinstance(version, int) or version < 1:
            raise ConfigError(f"Suite {source}: 'version' must be a positive int. Got {version!r}.")
        entries = data["probes"]
        if not isinstance(entries, Sequence) or isinstance(entries, str):
            raise ConfigError(f"Suite {source}: 'probes' must be a list.")
        probes: list[Probe] = []
        for entry in entries:
            probes.extend(_expand(entry))
            if len(probes) > MAX_SUITE_PROBES:
                raise ConfigError(
                    f"Suite {source} holds more than {MAX_SUITE_PROBES:,} probes, the most a "
                    "suite may hold; split it into several suites."
                )
        metrics = data.get("metrics")
        return cls(
            name=str(data["name"]),
            version=version,
            probes=tuple(probes),
            metrics=tuple(metrics) if metrics is not None else None,
            description=str(data.get("description", "")),
            source=source,
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> Suite:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"Suite file {str(p)!r} does not exist.")
        try:
            data = _read_yaml(p)
        except yaml.YAMLError as exc:
            raise ConfigError(f"Suite file {str(p)!r} is not valid YAML: {exc}") from None
        return cls.from_dict(data, source=str(p))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.spec, sort_keys=False)


def _expand(entry: Any) -> list[Probe]:
    """One suite entry -> probes. ``grid: {param: [values]}`` expands to the cartesian product."""
    if isinstance(entry, (str, Probe)):
        return [make_probe(entry)]
    if not isinstance(entry, Mapping):
        raise ConfigError(f"A suite probe entry must be a name or a mapping. Got {entry!r}.")
    base = dict(entry)
    grid = base.pop("grid", None)
    if grid is None:
        return [make_probe(base)]
    if not isinstance(grid, Mapping) or not all(
        isinstance(v, Sequence) and not isinstance(v, str) for v in grid.values()
    ):
        raise ConfigError(f"'grid' must map parameter names to lists of values. Got {grid!r}.")
    keys = list(grid)
    count = math.prod(len(v) for v in grid.values())
    if count > MAX_SUITE_PROBES:
        sizes = " x ".join(str(len(v)) for v in grid.values())
        raise ConfigError(
            f"'grid' of {base.get('probe', base.get('name', 'a probe'))!r} expands to {count:,} "
            f"probes ({sizes}); a suite may hold at most {MAX_SUITE_PROBES:,}. Use fewer values."
        )
    return [
        make_probe({**base, **dict(zip(keys, combo))})
        for combo in itertools.product(*(grid[k] for k in keys))
    ]


def builtin_suites() -> dict[str, Path]:
    folder = resources.files("robustlab.suites") / "builtin"
    return {Path(str(f)).stem: Path(str(f)) for f in folder.iterdir() if str(f).endswith(".yaml")}


for _name, _path in builtin_suites().items():
    SUITES.add(_name, _path)


def load_suite(suite: str | Path | Mapping[str, Any] | Suite) -> Suite:
    """A suite from a built-in name (``quick``), a YAML path, a mapping or a Suite."""
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, Mapping):
        return Suite.from_dict(suite)
    text = str(suite)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        return Suite.from_yaml(text)
    return Suite.from_yaml(SUITES.get(text))
