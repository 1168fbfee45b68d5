"""The Summary contract: one number across several probes of a run (mCE, worst case, ...)."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.analysis.axes import AXES, LEGACY_KIND_AXES
from robustlab.errors import ConfigError
from robustlab.metrics.base import Estimate
from robustlab.registry import Registry

__all__ = [
    "SUMMARIES",
    "UNDEFINED_SUMMARIES",
    "ProbeErrors",
    "Summary",
    "UndefinedSummary",
    "evaluate_summary",
    "of_axis",
]

SUMMARIES: Registry[type[Summary]] = Registry("summary")

_AXIS_IDS = frozenset(a.name for a in AXES)

#: Key of a run's ``environment`` holding its undefined summaries, ``{name: reason}``.
UNDEFINED_SUMMARIES = "undefined_summaries"


class UndefinedSummary(ConfigError):
    """A summary has no value for this run (e.g. mCE against a baseline that makes no errors
    under a corruption). A scan records it as undefined, with this message as the reason, and
    still stores every other metric."""


@dataclass(frozen=True)
class ProbeErrors:
    """Per-example errors of one probe, aligned with the other probes' examples.

    Attributes:
        key: The probe's key.
        axis: The probe's axis (``clean``, ``corruptions``, ``adversarial``, ...; ``None`` when
            unknown). A legacy probe kind (``corruption``, ``attack``, ...) given here is read
            as its axis, with a deprecation warning.
        spec: The probe's stored spec.
        errors: Bool ``(n,)``: the example is misclassified under this probe.
        values: The probe's per-example measurement (e.g. flip rate), NaN where none.
    """

    key: str
    axis: str | None
    spec: Mapping[str, Any]
    errors: np.ndarray
    values: np.ndarray | None = None

    def __post_init__(self) -> None:
        legacy = LEGACY_KIND_AXES.get(str(self.axis))
        if legacy is not None and self.axis not in _AXIS_IDS:
            warnings.warn(
                f"ProbeErrors takes the probe's axis, not its kind: read {self.axis!r} as "
                f"{legacy!r}. Pass the axis (Probe.resolved_axis()).",
                DeprecationWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "axis", legacy)

    def column(self, uses: str) -> np.ndarray:
        """The per-example array a summary averages: ``errors`` or ``values``."""
        if uses == "values":
            if self.values is None:
                raise ConfigError(f"Probe {self.key} records no per-example values.")
            return self.values.astype(np.float64)
        return self.errors.astype(np.float64)


@dataclass(frozen=True)
class Summary(ABC):
    """A statistic over several probes' error rates, vectorised over bootstrap resamples.

    ``statistic`` receives each probe's error *rate* as an array ``(B,)`` (one entry per resample;
    ``B = 1`` for the point estimate), and the baseline run's rates when one is given.
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    description: ClassVar[str]
    #: The robustness axis the summary belongs to; by default it reads that axis's probes.
    axis: ClassVar[str]
    #: The tasks (``robustlab.tasks``) whose probes it summarises.
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    needs_baseline: ClassVar[bool] = False
    #: Which per-example array the statistic's rates are means of: ``errors`` or ``values``.
    uses: ClassVar[str] = "errors"

    def probes(self, probes: list[ProbeErrors]) -> list[ProbeErrors]:
        """The probes this summary uses (an empty list: it does not apply to this suite); by
        default those of its :attr:`axis`."""
        return of_axis(probes, self.axis)

    @abstractmethod
    def statistic(
        self,
        rates: Mapping[str, np.ndarray],
        probes: list[ProbeErrors],
        baseline: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray: ...

    def joint(self, probes: list[ProbeErrors]) -> np.ndarray | None:
        """Optional per-example error indicator combining several probes (a per-example worst
        case); its rate is then passed to :meth:`statistic` under the key ``"joint"``."""
        return None


def of_axis(probes: list[ProbeErrors], axis: str) -> list[ProbeErrors]:
    """The probes of one axis, in order."""
    return [p for p in probes if p.axis == axis]


def _resampled_rates(
    errors: Mapping[str, np.ndarray], resamples: int, seed: int, elements: int = 200_000
) -> dict[str, np.ndarray]:
    """Error rates of every probe under the same bootstrap resamples of examples (paired).

    Resamples are drawn ``elements // n`` rows at a time (the same random stream as one draw),
    so working memory does not grow with the number of examples (issue 20)."""
    n = len(next(iter(errors.values())))
    chunk = max(1, elements // max(n, 1))
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {k: [] for k in errors}
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, resamples - start), n))
        for k, e in errors.items():
            out[k].append(e[idx].mean(axis=1))
    return {k: np.concatenate(v) for k, v in out.items()}


def evaluate_summary(
    summary: Summary,
    probes: list[ProbeErrors],
    baseline: list[ProbeErrors] | None = None,
    *,
    seed: int = 0,
    resamples: int = 1000,
    level: float = 0.95,
) -> Estimate | None:
    """Point estimate and paired-bootstrap interval of ``summary`` (``None`` if it does not apply).

    The model's and the baseline's examples are resampled together, so the interval of a ratio
    such as mCE accounts for both numerator and denominator varying.
    """
    used = summary.probes(probes)
    if not used:
        return None
    if summary.needs_baseline and baseline is None:
        return None
    errors = {p.key: p.column(summary.uses) for p in used}
    base_errors: dict[str, np.ndarray] = {}
    if baseline is not None and summary.needs_baseline:
        by_key = {p.key: p for p in baseline}
        needed = [p.key for p in used]
        missing = [k for k in needed if k not in by_key]
        if missing:
            raise UndefinedSummary(
                f"The baseline run lacks probe(s) {', '.join(missing[:5])} needed for "
                f"{summary.name!r}; scan the baseline with the same suite."
            )
        base_errors = {f"base:{k}": by_key[k].column(summary.uses) for k in needed}
    joint = summary.joint(used)
    if joint is not None:
        errors = {"joint": joint.astype(np.float64)}
    alpha = (1 - level) / 2

    def stat(rates: dict[str, np.ndarray]) -> np.ndarray:
        base = {k[5:]: v for k, v in rates.items() if k.startswith("base:")} or None
        own = {k: v for k, v in rates.items() if not k.startswith("base:")}
        return summary.statistic(own, used, base)

    all_errors = {**errors, **base_errors}
    point = float(stat({k: np.array([v.mean()]) for k, v in all_errors.items()})[0])
    if not np.isfinite(point):
        return None
    boot = stat(_resampled_rates(all_errors, resamples, seed))
    undefined = float(np.mean(~np.isfinite(boot)))
    boot = boot[np.isfinite(boot)]
    low, high = (
        (float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha)))
        if len(boot)
        else (point, point)
    )
    n = len(next(iter(errors.values())))
    # Resamples where a ratio's denominator vanishes are left out and counted: many of them mean
    # the interval (and the statistic) rest on a baseline that barely differs from clean.
    details = {"undefined_resamples": undefined} if undefined else None
    return Estimate(point, min(low, point), max(high, point), n, "paired-bootstrap", level, details)
