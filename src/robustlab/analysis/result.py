"""The typed, versioned result of the analysis layer, with a JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from robustlab.errors import ConfigError

__all__ = [
    "ANALYSIS_SCHEMA_VERSION",
    "Analysis",
    "AxisScore",
    "CertifiedGapPoint",
    "Comparison",
    "ConfirmationPoint",
    "ProbeComparison",
    "RobustnessCurve",
    "RunAnalysis",
    "SeedGroup",
    "SeedProbe",
    "SeverityCurve",
]

#: Version of the analysis result's layout; bump on any incompatible change.
ANALYSIS_SCHEMA_VERSION = 1

T = TypeVar("T")


class _Data:
    """Plain-data conversion shared by the result's dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls: type[T], data: typing.Mapping[str, Any]) -> T:
        return typing.cast(T, _build(cls, data, cls.__name__))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _build(hint: Any, value: Any, where: str) -> Any:
    """``value`` (plain JSON data) as the type ``hint``: dataclasses and tuples rebuilt."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
        origin = typing.get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, typing.Mapping):
            raise ConfigError(f"{where} must be a JSON object. Got {value!r} instead.")
        hints = typing.get_type_hints(hint)
        names = {f.name for f in dataclasses.fields(hint)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ConfigError(
                f"{where} has unknown field(s) {', '.join(unknown)}; it was written by another "
                "RobustLab version."
            )
        return hint(**{k: _build(hints[k], v, f"{where}.{k}") for k, v in value.items()})
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a JSON list. Got {value!r} instead.")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        return tuple(_build(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    return value


@dataclass(frozen=True)
class AxisScore(_Data):
    """A run's headline number on one robustness axis (see :mod:`robustlab.analysis.axes`)."""

    axis: str
    value: float
    ci_low: float
    ci_high: float
    higher_is_better: bool
    metric: str
    probe_key: str | None
    note: str


@dataclass(frozen=True)
class ConfirmationPoint(_Data):
    """A fixed-epsilon attack's robust accuracy, marked on a robustness curve."""

    epsilon: float
    accuracy: float
    label: str


@dataclass(frozen=True)
class RobustnessCurve(_Data):
    """Robust accuracy at each epsilon, from one minimal-perturbation probe."""

    probe: str
    label: str
    norm: str
    epsilons: tuple[float, ...]
    robust_accuracy: tuple[float, ...]
    confirmed: tuple[ConfirmationPoint, ...]


@dataclass(frozen=True)
class SeverityCurve(_Data):
    """Accuracy against severity for one perturbation (severity 0: the clean accuracy)."""

    perturbation: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class CertifiedGapPoint(_Data):
    """One certificate against the attacks at its budget: verified / certified accuracy (a lower
    bound on robust accuracy) <= the strongest attack's accuracy (an upper bound) <= clean."""

    norm: str
    epsilon: float
    probe_key: str
    label: str
    certified: float
    attack: float | None
    attack_probe: str | None
    clean: float | None
    consistent: bool


@dataclass(frozen=True)
class RunAnalysis(_Data):
    """What the analysis layer computes for one run.

    Attributes:
        run_id: The run.
        scorecard: Headline number per measured axis, then mCE when there is a baseline.
        robustness_curves: One per minimal-perturbation probe.
        severity_curves: One per perturbation applied at several severities.
        domain_drops: Source and Target Drop per shifted domain (a shift scan only), as
            :func:`robustlab.analysis.drops.domain_drops` returns them.
        certified_gap: One point per certificate (:func:`robustlab.analysis.certified.
            certified_gap`): certified, strongest attack and clean accuracy at one budget.
    """

    run_id: str
    scorecard: tuple[AxisScore, ...] = ()
    robustness_curves: tuple[RobustnessCurve, ...] = ()
    severity_curves: tuple[SeverityCurve, ...] = ()
    domain_drops: dict[str, Any] | None = None
    certified_gap: tuple[CertifiedGapPoint, ...] = ()


@dataclass(frozen=True)
class ProbeComparison(_Data):
    """Two runs on one probe: accuracy difference, McNemar's exact p-value and churn."""

    probe: str
    label: str
    accuracy_difference: float
    only_first_correct: int
    only_second_correct: int
    p_value: float
    churn: float


@dataclass(frozen=True)
class Comparison(_Data):
    """A paired comparison of two runs on the same data, per shared probe."""

    first: str
    second: str
    first_run: str
    second_run: str
    probes: tuple[ProbeComparison, ...]


@dataclass(frozen=True)
class SeedProbe(_Data):
    """Accuracy of several checkpoints of one model on one probe, and their prediction churn."""

    probe: str
    label: str
    mean: float
    std: float
    min: float
    max: float
    churn: float


@dataclass(frozen=True)
class SeedGroup(_Data):
    """Runs of several checkpoints of one model on the same data and suite."""

    model: str
    suite: str
    runs: tuple[str, ...]
    probes: tuple[SeedProbe, ...]


@dataclass(frozen=True)
class Analysis(_Data):
    """Every analysis of a set of stored runs: the report, the exports, the leaderboard and
    :class:`robustlab.ScanResult` read this instead of computing.

    Attributes:
        runs: One :class:`RunAnalysis` per run, in the order asked for.
        comparisons: Paired comparisons of the runs on the same data.
        seed_variance: Groups of checkpoints of one model.
        effective_robustness: Dataset fingerprint -> the ID-OOD fit over the store's models
            (:func:`robustlab.analysis.effective.effective_robustness`).
        effective_robustness_multi_id: The same fitted over several ID test sets.
        schema_version: Layout version (:data:`ANALYSIS_SCHEMA_VERSION`).
    """

    runs: tuple[RunAnalysis, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    seed_variance: tuple[SeedGroup, ...] = ()
    effective_robustness: dict[str, Any] = field(default_factory=dict)
    effective_robustness_multi_id: dict[str, Any] = field(default_factory=dict)
    schema_version: int = ANALYSIS_SCHEMA_VERSION

    def run(self, run_id: str) -> RunAnalysis:
        """The analysis of one run."""
        for r in self.runs:
            if r.run_id == run_id:
                return r
        raise ConfigError(
            f"Run {run_id!r} is not in this analysis; its runs: "
            f"{', '.join(r.run_id for r in self.runs) or 'none'}."
        )

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(
            {"schema": "robustlab.analysis", **self.to_dict()}, indent=indent, default=str
        )

    @classmethod
    def from_json(cls, text: str) -> Analysis:
        """Read :meth:`to_json`'s text; a newer or unknown layout raises :class:`ConfigError`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"The analysis is not JSON ({exc}).") from None
        if not isinstance(data, dict) or data.pop("schema", None) != "robustlab.analysis":
            raise ConfigError(
                "The document is not a RobustLab analysis (expected schema 'robustlab.analysis')."
            )
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ConfigError(f"The analysis has no valid schema_version. Got {version!r}.")
        if version > ANALYSIS_SCHEMA_VERSION:
            raise ConfigError(
                f"The analysis was written by a newer RobustLab (schema {version}; this version "
                f"reads up to {ANALYSIS_SCHEMA_VERSION}); upgrade with pip install -U robustlab."
            )
        return cls.from_dict(data)
