"""The Perturbation contract every modality implements, its one registry, and perturbation_of().

A perturbation is a frozen dataclass: its class declares ``name``, ``modality`` and ``axis``, its
fields are its parameters (validated in ``__post_init__``), and :meth:`Perturbation.apply` turns a
batch of inputs and a seed into a :class:`Perturbed` result (the perturbed inputs, each example's
perturbation size, and its edits where the modality has them)::

    from robustlab.perturbations import PERTURBATIONS
    fog = PERTURBATIONS.build("fog", severity=3)
    out = fog.apply(images, seed=0)        # out.inputs, out.size (N,), out.edits (None)

Image corruptions and text transformations register one class each from their plugin files
(``perturbations/image/*.py``, ``perturbations/text/*.py``). A new perturbation is one class in
one file, registered once::

    @register
    @dataclass(frozen=True)
    class ColumnNoise(Perturbation[np.ndarray]):
        scale: float = 0.1
        name = "column_noise"
        modality = "tabular"
        axis = "tabular"
        kind = "tabular_perturbation"
        description = "Gaussian noise scaled to each column's standard deviation"
        size_unit = "L2 distance in standard deviations"

        def apply(self, inputs: np.ndarray, seed: int = 0) -> Perturbed[np.ndarray]:
            noise = np.random.default_rng(seed).standard_normal(inputs.shape) * self.scale
            out = inputs + noise * inputs.std(axis=0)
            size = np.linalg.norm(noise, axis=1)
            return Perturbed(out, size, None, size > 0)

The contract tests (``tests/perturbations/test_contract.py``) test it from then on, once its
modality has example inputs there; the ``perturbation`` probe runs it once its modality has a
:class:`~robustlab.probes.perturbation.Runner`.
"""

from __future__ import annotations

import dataclasses
import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from robustlab.errors import ConfigError, UnknownNameError
from robustlab.registry import Registry

__all__ = [
    "PERTURBATIONS",
    "PROBE_OPTIONS",
    "Perturbation",
    "PerturbationView",
    "Perturbed",
    "by_name",
    "perturbation_of",
    "register",
]

InputsT = TypeVar("InputsT")
V = TypeVar("V")


@dataclass(frozen=True, eq=False)
class Perturbed(Generic[InputsT]):
    """What :meth:`Perturbation.apply` returns for a batch of N inputs.

    Attributes:
        inputs: The perturbed batch, of the inputs' type, shape, dtype and device.
        size: Float64 array (N,): each example's perturbation size in the perturbation's
            :attr:`~Perturbation.size_unit`; NaN where it is undefined.
        edits: Per-example edits (for text, each text's :class:`~robustlab.perturbations.text.Edit`
            tuple, built when first read), or None where the modality has no edits (images).
        changed: Bool array (N,): whether each input was changed at all.
    """

    inputs: InputsT
    size: np.ndarray
    edits: Sequence[Any] | None
    changed: np.ndarray

    def __len__(self) -> int:
        return len(self.size)


@dataclass(frozen=True)
class Perturbation(ABC, Generic[InputsT]):
    """A seeded transformation of a batch of inputs of one modality.

    Class attributes:
        name: Registry name, unique across all modalities (e.g. ``"fog"``, ``"typo_keyboard"``).
        modality: The data it perturbs: ``"image"``, ``"text"``, ``"tabular"``, ``"ranking"``, ...
        axis: The robustness axis its results count towards (``"corruptions"`` for image
            corruptions, ``"text perturbations"`` for text).
        kind: The probe kind its results are grouped under in the report (``"corruption"``,
            ``"text_transformation"``).
        description: One line for listings and the report.
        size_unit: What :attr:`Perturbed.size` measures.
        random: Whether the output depends on the seed.
        preserves_label: False for meaning-changing perturbations (negation), which the
            perturbation probe refuses: a changed prediction is then expected.
        partial: True where the perturbation leaves some inputs alone by design (a name swap on
            a text without names): the probe records only the inputs it changed.
        example_seeds: True where :meth:`apply` accepts per-example
            :class:`~robustlab.seeding.ExampleSeeds` as ``seed`` (every bundled perturbation):
            the probe then passes seeds keyed by example id, so an example's perturbation does
            not depend on the shard it comes in. Others get the probe's int seed.
    """

    name: ClassVar[str]
    modality: ClassVar[str]
    axis: ClassVar[str]
    kind: ClassVar[str]
    description: ClassVar[str] = ""
    size_unit: ClassVar[str] = ""
    random: ClassVar[bool] = True
    preserves_label: ClassVar[bool] = True
    partial: ClassVar[bool] = False
    example_seeds: ClassVar[bool] = False

    @abstractmethod
    def apply(self, inputs: InputsT, seed: int = 0) -> Perturbed[InputsT]:
        """Perturb a batch; the same inputs, parameters and seed give the same output, and the
        inputs are never modified."""

    def seed_for(self, seed: int, ids: Sequence[Any]) -> Any:
        """What :meth:`apply` is given as ``seed`` for examples ``ids`` under the probe seed
        ``seed``: per-example seeds where the perturbation takes them, else ``seed``."""
        if not self.example_seeds:
            return seed
        from robustlab.seeding import ExampleSeeds

        return ExampleSeeds.of(seed, ids)

    def applies_to(self, item: Any) -> bool:
        """Whether this perturbation changes ``item`` (one input) at some seed; True unless the
        perturbation is :attr:`partial`."""
        return True

    @classmethod
    def example(cls) -> Perturbation[Any]:
        """A valid instance for contract tests and documentation (the defaults by default)."""
        return cls()

    @property
    def params(self) -> dict[str, Any]:
        """The parameters, ``{field: value}``, in field order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @property
    def label(self) -> str:
        """Short name for tables and charts, e.g. ``fog(severity=3)``."""
        items = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({items})" if items else self.name


#: Every registered perturbation class, image and text alike; names are unique across modalities.
PERTURBATIONS: Registry[type[Perturbation[Any]]] = Registry("perturbation")

P = TypeVar("P", bound=type[Perturbation[Any]])

#: Parameters of the perturbation probe that are not the perturbation's own (they never name a
#: perturbation field).
PROBE_OPTIONS = ("measure_similarity",)


def register(cls: P) -> P:
    """Class decorator adding a :class:`Perturbation` subclass to :data:`PERTURBATIONS` under its
    declared ``name`` (a name already taken, in any modality, is refused)."""
    for attr in ("name", "modality", "axis", "kind"):
        if not isinstance(getattr(cls, attr, None), str):
            raise ConfigError(
                f"Perturbation class {cls.__qualname__} must declare {attr!r} as a str class "
                f"attribute before it is registered."
            )
    clash = sorted(
        {f.name for f in dataclasses.fields(cls)} & {"probe", "perturbation", *PROBE_OPTIONS}
    )
    if clash:
        raise ConfigError(
            f"Perturbation {cls.name!r} has a parameter named {clash[0]!r}, which the perturbation "
            f"probe uses itself; rename the field."
        )
    PERTURBATIONS.add(cls.name, cls)
    return cls


class PerturbationView(Generic[V]):
    """A read-only, registry-like view of the :data:`PERTURBATIONS` entries of one kind.

    ``CORRUPTIONS`` and ``TRANSFORMATIONS`` are such views: they keep the modality's own names
    and records (``CORRUPTIONS.get("fog")`` is the :class:`~robustlab.perturbations.image.Corruption`
    record), while the perturbations themselves live in the one registry.
    """

    def __init__(self, kind: str, select: Callable[[type[Perturbation[Any]]], V | None]) -> None:
        self.kind = kind
        self._select = select
        self._cache: tuple[int, dict[str, V]] = (-1, {})

    def _entries(self) -> dict[str, V]:
        count, entries = self._cache
        if count != len(PERTURBATIONS):  # the registry only grows
            entries = {}
            for _, cls in PERTURBATIONS.items():
                record = self._select(cls)
                if record is not None:
                    entries[getattr(record, "name", cls.name)] = record
            entries = dict(sorted(entries.items()))
            self._cache = (len(PERTURBATIONS), entries)
        return entries

    def get(self, name: str) -> V:
        entries = self._entries()
        try:
            return entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        entries = self._entries()
        close = difflib.get_close_matches(str(name), list(entries), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"Unknown {self.kind} {name!r}.{hint} Available: {', '.join(entries)}."

    def names(self) -> list[str]:
        return list(self._entries())

    def items(self) -> list[tuple[str, V]]:
        return list(self._entries().items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries())

    def __repr__(self) -> str:
        return f"PerturbationView({self.kind!r}, {len(self)} entries)"


def by_name(name: str, params: Mapping[str, Any]) -> Perturbation[Any]:
    """The registered perturbation ``name`` with ``params``: how the classes the corruption and
    transformation decorators make are pickled (by registry name, not by class path)."""
    from robustlab.perturbations import load_plugins

    load_plugins()
    return PERTURBATIONS.get(name)(**params)


#: Spec shapes of the probes that ran one perturbation before the ``perturbation`` probe:
#: probe name -> (the key naming the perturbation, its parameters with their defaults).
_LEGACY_SPECS: dict[str, tuple[str, dict[str, Any]]] = {
    "corruption": ("corruption", {"severity": 3}),
    "text_transformation": ("transformation", {"rate": 0.2}),
}


#: Probe name -> the spec key naming its perturbation.
_SPEC_KEYS = {"perturbation": "perturbation", **{p: key for p, (key, _) in _LEGACY_SPECS.items()}}


def perturbation_of(spec: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The perturbation a stored probe spec ran, as ``(registry name, parameters)``.

    Reads the ``perturbation`` probe's specs (``{"probe": "perturbation", "perturbation": "fog",
    "severity": 3}``) and those of the probes it replaces (``{"probe": "corruption",
    "corruption": "fog", "severity": 3}``, ``{"probe": "text_transformation", "transformation":
    "typo_keyboard", "rate": 0.2}``), so runs stored by older versions match new ones. Probe
    options (``measure_similarity``) are not parameters of the perturbation and are left out.
    A spec without ``probe`` (bare parameters) is read by the key that names the perturbation.

    Returns:
        ``(name, params)``, or None when the spec is not one of a single perturbation.
    """
    probe = spec.get("probe")
    if probe is None:  # bare parameters
        probe = next(
            (p for p, key in _SPEC_KEYS.items() if key in spec and isinstance(spec[key], str)), None
        )
    if probe == "perturbation":
        name = spec.get("perturbation")
        if not isinstance(name, str):
            return None
        params = {
            k: v for k, v in spec.items() if k not in ("probe", "perturbation", *PROBE_OPTIONS)
        }
        return name, params
    if isinstance(probe, str) and probe in _LEGACY_SPECS:
        key, defaults = _LEGACY_SPECS[probe]
        name = spec.get(key)
        if not isinstance(name, str):
            return None
        return name, {k: spec.get(k, v) for k, v in defaults.items()}
    return None
