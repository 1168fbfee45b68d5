"""The Metric contract: records in, an estimate with a confidence interval out."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from robustlab.errors import ConfigError
from robustlab.records import Records
from robustlab.registry import Registry

__all__ = [
    "METRICS",
    "Estimate",
    "Metric",
    "bootstrap_ci",
    "derive_seed",
    "get_metric",
    "mean_estimate",
]

METRICS: Registry[type[Metric]] = Registry("metric")


def derive_seed(*parts: object) -> int:
    """A 63-bit seed derived deterministically from any parts (run seed, probe key, ...)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass(frozen=True)
class Estimate:
    """A metric value with its confidence interval.

    Attributes:
        value: The point estimate.
        ci_low: Lower end of the interval.
        ci_high: Upper end of the interval.
        n: Number of examples it rests on.
        method: How the interval was computed (``clopper-pearson``, ``bootstrap``, ...).
        level: Confidence level of the interval.
        details: Optional JSON-serialisable breakdown stored with the value (per-group values,
            reliability-diagram bins, ...), shown in the report.
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    level: float = 0.95
    details: dict[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Resampled indices held at once by :func:`bootstrap_ci` (8 bytes each).
_BOOTSTRAP_ELEMENTS = 1_000_000


def bootstrap_ci(
    values: np.ndarray,
    statistic: Any = np.mean,
    *,
    level: float = 0.95,
    resamples: int | None = None,
    seed: int = 0,
    method: str = "bca",
) -> tuple[float, float]:
    """Bootstrap interval of ``statistic`` over the rows of ``values``.

    ``method="bca"`` (the default) is the bias-corrected and accelerated bootstrap
    (:func:`robustlab.metrics.intervals.bca_interval`, 2000 resamples by default), which covers
    for smooth statistics such as means, second-order accurate where the percentile bootstrap
    is first-order only (issue 19 measured 0.926 for the percentile interval of a mean
    confidence at n = 300; ``benchmarks/coverage.py`` measures BCa at 0.951). ``"percentile"``
    is the plain percentile bootstrap (1000 resamples by default), for statistics that are not
    smooth (a median).

    References:
        Efron & Tibshirani, An Introduction to the Bootstrap, 1993.
    """
    values = np.asarray(values)
    if method == "bca":
        from robustlab.metrics.intervals import BCA_RESAMPLES, bca_interval

        return bca_interval(
            values, statistic, level=level, resamples=resamples or BCA_RESAMPLES, seed=seed
        )
    if method != "percentile":
        raise ConfigError(
            f"The 'method' parameter of bootstrap_ci() must be 'bca' or 'percentile'. Got "
            f"{method!r} instead."
        )
    resamples = resamples or 1000
    n = len(values)
    rng = np.random.default_rng(seed)
    # Resamples drawn a block of rows at a time (the same stream as one (resamples, n) draw):
    # working memory stays bounded however many examples the records hold (issue 20).
    rows = max(1, _BOOTSTRAP_ELEMENTS // max(n, 1))
    parts = []
    for start in range(0, resamples, rows):
        idx = rng.integers(0, n, size=(min(rows, resamples - start), n))
        parts.append(
            np.array([statistic(values[i]) for i in idx])
            if statistic is not np.mean
            else values[idx].mean(axis=1)
        )
        del idx
    stats = np.concatenate(parts)
    alpha = (1 - level) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


@dataclass(frozen=True)
class Metric(ABC):
    """A summary of one probe's records. Subclasses are frozen dataclasses registered in
    :data:`METRICS`; their fields are their parameters."""

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    description: ClassVar[str]
    #: ``"id"``: in a shift scan the metric sees only the in-distribution examples, so accuracy,
    #: calibration and subgroups mean the same with or without a shift. ``"all"``: it sees every
    #: domain (the shift metrics, which compare domains).
    scope: ClassVar[str] = "id"
    #: The tasks (``robustlab.tasks``) whose records the metric reads.
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    #: The robustness axis the metric measures (``calibration``, ``subgroups``, ``shift``, ...),
    #: or ``None`` for a generic measurement such as accuracy, read under every probe's own axis.
    axis: ClassVar[str | None] = None

    def measures(self, records: Records) -> bool:
        """Whether the metric is defined for these records: of one of its tasks, and
        :meth:`applies` to them."""
        return records.task in self.tasks and self.applies(records)

    def applies(self, records: Records) -> bool:
        """Whether the metric is defined for these records (e.g. a perturbation was measured)."""
        return True

    @abstractmethod
    def _compute(self, records: Records, seed: int) -> Estimate: ...

    def compute(self, records: Records, *, seed: int = 0) -> Estimate:
        if len(records) == 0:
            raise ConfigError(
                f"Metric {self.name!r} got no records; a metric of nothing is undefined, not 0."
            )
        if records.task not in self.tasks:
            raise ConfigError(
                f"Metric {self.name!r} applies to {'/'.join(self.tasks)} records, not "
                f"{records.task!r} ones; pick a metric of the {records.task} task (its defaults: "
                f"{', '.join(_task_metrics(records.task)) or 'none'})."
            )
        if not self.applies(records):
            raise ConfigError(
                f"Metric {self.name!r} does not apply to these records (see {type(self).__name__}"
                f".applies); check metric.applies(records) before computing it."
            )
        return self._compute(records, seed)


def _task_metrics(task: str) -> tuple[str, ...]:
    from robustlab.tasks import get_task

    return get_task(task).metrics


def get_metric(name: str) -> Metric:
    return METRICS.get(name)()


def mean_estimate(values: np.ndarray, seed: int) -> Estimate:
    """The mean of per-example values with a BCa bootstrap interval."""
    low, high = bootstrap_ci(values, seed=seed)
    return Estimate(float(np.mean(values)), low, high, len(values), "bootstrap")
