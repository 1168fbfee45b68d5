"""The Probe contract: one robustness measurement (a test of a suite) producing records."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.records import Records
from robustlab.registry import Registry
from robustlab.tasks import get_task

__all__ = ["PROBES", "NotApplicable", "Probe", "make_probe", "predict_records"]

PROBES: Registry[type[Probe]] = Registry("probe")


class NotApplicable(Exception):
    """Raised by :meth:`Probe.applicable` checks: the probe cannot measure this model (the reason
    is recorded in the run and shown in the report instead of failing the scan)."""


def predict_records(
    model: Model,
    inputs: Any,
    batch: Batch,
    *,
    perturbation: torch.Tensor | np.ndarray | None = None,
    value: torch.Tensor | np.ndarray | None = None,
) -> Records:
    """Run ``model`` on ``inputs`` and turn its predictions on ``batch``'s targets into records of
    the model's task (for classification: probabilities, argmax and the per-example losses).

    With a reference ("oracle") model on the batch (:attr:`Batch.reference`, set by the runner),
    the records also hold its predictions on exactly these inputs (clean, corrupted or
    adversarial)."""
    task = get_task(model.task)
    oracle = batch.reference
    return task.records(
        task.predict(model, inputs),
        batch.targets,
        batch.ids,
        meta=batch.meta,
        perturbation=_numpy(perturbation),
        value=_numpy(value),
        reference=None if oracle is None else task.reference_of(oracle, inputs),
    )


def _numpy(x: torch.Tensor | np.ndarray | None) -> np.ndarray | None:
    if x is None:
        return None
    return np.asarray(x.detach().cpu() if torch.is_tensor(x) else x, dtype=np.float64)


#: Computed for every probe, so calibration, subgroups, shift and reference agreement are
#: measured under every perturbation; each applies only where its data exists (groups, shifted
#: domains, a reference model).
EVERY_PROBE_METRICS = (
    "ece",
    "ece_debiased",
    "ece_equal_mass",
    "max_calibration_error",
    "overconfidence",
    "worst_group_accuracy",
    "group_accuracy_gap",
    "worst_class_accuracy",
    "class_accuracy_std",
    "macro_std",
    "ood_accuracy",
    "relative_drop",
    "atc_ood_accuracy",
    "reference_agreement",
)

#: How many of the dataset's first examples each image probe keeps as pictures for the report.
GALLERY_SIZE = 3

#: How many misclassified examples with the highest loss each image probe keeps per shard, as
#: pictures of the examples the model gets most wrong (the report shows the worst across shards).
WORST_PER_SHARD = 2


def gallery(
    batch: Batch, images: Any, probe: Probe, records: Records | None = None
) -> list[dict[str, Any]]:
    """PNG artifacts of the images the model saw under ``probe``.

    Keeps the dataset's first :data:`GALLERY_SIZE` examples that are in ``batch`` (so every probe
    pictures the same examples) and, given the probe's ``records`` of the batch, its
    :data:`WORST_PER_SHARD` misclassified examples with the highest loss, with their true and
    predicted labels (meta ``role`` is ``"gallery"`` or ``"worst"``).
    """
    from robustlab.data.images import png_artifact

    if not torch.is_tensor(images) or images.ndim != 4 or images.shape[1] not in (1, 3):
        return []
    out = [
        png_artifact(
            images[pos],
            f"gallery/{batch.ids[pos]}",
            role="gallery",
            example_id=batch.ids[pos],
            index=int(index),
            probe=probe.key,
            label=probe.label,
        )
        for pos, index in enumerate(batch.indices)
        if index < GALLERY_SIZE
    ]
    if records is None or WORST_PER_SHARD <= 0:
        return out
    assert len(records) == len(images), "records and images of a batch are aligned"
    wrong = np.flatnonzero(~records.correct)
    worst = wrong[np.argsort(-records.loss[wrong], kind="stable")][:WORST_PER_SHARD]
    out.extend(
        png_artifact(
            images[pos],
            f"worst/{batch.ids[pos]}",
            role="worst",
            example_id=batch.ids[pos],
            probe=probe.key,
            label=probe.label,
            target=int(records.target[pos]),
            prediction=int(records.prediction[pos]),
            confidence=float(records.confidence[pos]),
            loss=float(records.loss[pos]),
            domain=None if records.domain[pos] is None else str(records.domain[pos]),
        )
        for pos in worst.tolist()
    )
    return out


@dataclass(frozen=True)
class Probe(ABC):
    """A robustness test: measures the model on one view of the data (clean, corrupted,
    attacked, ...). Subclasses are frozen dataclasses whose fields are their parameters and are
    registered in :data:`PROBES`.

    Class attributes:
        name: Registry name, used in suites and on the command line.
        axis: The robustness axis its results count towards (``clean``, ``corruptions``,
            ``adversarial``, ...; see :mod:`robustlab.analysis.axes`). Probes whose axis depends
            on their parameters override :meth:`resolved_axis`.
        tasks: The tasks (``robustlab.tasks``) the probe applies to.
        kind: Deprecated family label, shown in tables only (the name unless set); select
            probes by ``axis``.
        modalities: Input modalities the probe handles.
        requires: Model capabilities needed (``gradients``, ``scores``).
        covers_batch: Whether the records hold exactly the batch's examples, in order.
        metrics: Metrics computed from its records unless the suite names others.
    """

    name: ClassVar[str]
    axis: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    kind: ClassVar[str]
    modalities: ClassVar[tuple[str, ...]] = ("image", "tabular", "text", "ranking")
    requires: ClassVar[frozenset[str]] = frozenset()
    #: False for probes whose records are not one per example of the batch (a transformation
    #: that applies to some texts only, CheckList's own template cases): summaries, which align
    #: examples across probes, leave them out.
    covers_batch: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = (
        "accuracy",
        "nll",
        "brier",
        "mean_confidence",
        *EVERY_PROBE_METRICS,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The deprecated family label defaults to the probe's name, so new probes need not set it.
        if getattr(cls, "kind", None) is None and "name" in cls.__dict__:
            cls.kind = cls.name

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Hook to reshape user parameters before they become fields (identity by default)."""
        return params

    @classmethod
    def example(cls) -> Probe:
        """A valid instance for contract tests and documentation (defaults unless overridden)."""
        return cls()

    @abstractmethod
    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        """Measure ``model`` on ``batch``; all randomness must come from ``seed``."""

    def applicable(self, model: Model, dataset: Dataset) -> None:
        """Raise :class:`NotApplicable` with a reason if this probe cannot measure ``model``."""
        if dataset.modality not in self.modalities:
            raise NotApplicable(
                f"{self.key} handles {'/'.join(self.modalities)} data, not {dataset.modality}"
            )
        missing = self.requires - model.capabilities
        if missing:
            raise NotApplicable(
                f"{self.key} needs {', '.join(sorted(missing))}, which the "
                f"{type(model).__name__} {model.name!r} does not offer"
            )

    def resolved_axis(self) -> str:
        """The axis of this probe instance (the class's ``axis`` unless its parameters decide)."""
        axis = getattr(type(self), "axis", None)
        if axis is not None:
            return str(axis)
        from robustlab.analysis.axes import LEGACY_KIND_AXES

        kind = str(getattr(type(self), "kind", self.name))
        warnings.warn(
            f"Probe {self.name!r} declares no axis; add `axis = ...` to {type(self).__name__} "
            f"(see robustlab.analysis.axes). Its kind {kind!r} stands in for one release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return LEGACY_KIND_AXES.get(kind, kind)

    @property
    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @property
    def spec(self) -> dict[str, Any]:
        """The stored, JSON-serialisable description: ``{"probe": name, **params}``."""
        return {"probe": self.name, **self.params}

    @property
    def label(self) -> str:
        """Short name for tables and charts (the key unless a probe gives a shorter one)."""
        return self.key

    @property
    def example_seeded(self) -> bool:
        """Whether :meth:`run` keys its random choices by example id
        (:class:`~robustlab.seeding.ExampleSeeds` of the seed it gets): it then gets the probe's
        seed, the same for every shard, so its records do not depend on the shard size. Other
        probes get a seed of their own per shard (derived from the probe's seed and the shard),
        so that examples at the same position of different shards draw differently."""
        return False

    @property
    def seed_key(self) -> str:
        """What the probe's unit seeds and metric intervals derive from: its key, unless a probe
        that replaced another keeps the old key here so a scan's numbers stay the same."""
        return self.key

    @property
    def key(self) -> str:
        """Canonical, human-readable identity, e.g. ``corruption(name=fog,severity=3)``."""
        params = self.params
        if not params:
            return self.name
        # A first field named like the probe (corruption=..., attack=...) is shown bare.
        items = [
            _fmt(v) if i == 0 and k == self.name else f"{k}={_fmt(v)}"
            for i, (k, v) in enumerate(params.items())
        ]
        return f"{self.name}({','.join(items)})"


def _fmt(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """Coerce YAML / command-line values to a field's declared type."""
    hint = annotation
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        hint = args[0] if len(args) == 1 else hint
    if typing.get_origin(hint) is typing.Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(f"The {where} must be one of {list(choices)}. Got {value!r} instead.")
        return value
    if hint is float and isinstance(value, str) and "/" in value:
        return _fraction(value, where)  # its own message: a zero denominator, a non-number
    try:
        if hint is bool and isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if hint is int and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if hint is float and not isinstance(value, bool):
            return float(_fraction(value, where))
        if hint is str:
            return str(value)
    except (TypeError, ValueError):
        name = getattr(hint, "__name__", str(hint))
        article = "an" if name[0] in "aeiou" else "a"
        raise ConfigError(f"The {where} must be {article} {name}. Got {value!r} instead.") from None
    return value


def _fraction(value: Any, where: str = "value") -> float:
    """Accept ``8/255`` style fractions, as the literature writes epsilons."""
    if isinstance(value, str) and "/" in value:
        from robustlab.validation import parse_fraction

        return parse_fraction(value, where)
    return float(value)


def make_probe(spec: str | Mapping[str, Any] | Probe, **overrides: Any) -> Probe:
    """Build a probe from ``"name"``, ``"name key=value ..."``, a mapping ``{"probe": name, ...}``
    or a probe instance. Unknown names and parameters raise with the available choices."""
    if isinstance(spec, Probe):
        return dataclasses.replace(spec, **overrides) if overrides else spec
    if isinstance(spec, str):
        name, *pairs = spec.split()
        params: dict[str, Any] = {}
        for pair in pairs:
            if "=" not in pair:
                raise ConfigError(
                    f"Probe parameters are key=value pairs. Got {pair!r} in {spec!r}."
                )
            k, v = pair.split("=", 1)
            params[k] = v
    elif isinstance(spec, Mapping):
        if "probe" not in spec:
            raise ConfigError(
                f"A probe entry needs a 'probe' key naming it, e.g. {{probe: clean}}. Got {dict(spec)}."
            )
        params = {k: v for k, v in spec.items() if k != "probe"}
        name = str(spec["probe"])
    else:
        raise ConfigError(f"Cannot build a probe from a {type(spec).__name__}: {spec!r}.")
    params.update(overrides)
    cls = PROBES.get(name)
    params = cls.normalise_params(params)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ConfigError(
            f"Probe {name!r} has no parameter {', '.join(map(repr, unknown))}. "
            f"Its parameters: {', '.join(fields) or 'none'}."
        )
    kwargs = {
        k: coerce(v, hints[k], f"{k!r} parameter of probe {name!r}") for k, v in params.items()
    }
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"Probe {name!r}: {exc}.") from None


def probe_from_json(text: str) -> Probe:
    return make_probe(json.loads(text))
