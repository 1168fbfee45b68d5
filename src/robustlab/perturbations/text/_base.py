"""The text transformation registry, the edit bookkeeping every transformation shares, and apply()."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, overload

import numpy as np

from robustlab import validation
from robustlab.errors import ConfigError
from robustlab.models.base import check_texts
from robustlab.perturbations.base import (
    Perturbation,
    PerturbationView,
    Perturbed,
    by_name,
    register,
)
from robustlab.seeding import ExampleSeeds, as_seeds

__all__ = [
    "TRANSFORMATIONS",
    "BatchFn",
    "Edit",
    "Replacement",
    "TransformFn",
    "Transformation",
    "TransformationPerturbation",
    "Transformed",
    "add_transformation",
    "apply",
    "check_rate",
    "check_texts",
    "choose",
    "match_case",
    "names",
    "transformation",
    "words",
]

Replacement = tuple[int, int, str]
"""``(start, end, new)``: the original text's characters ``start:end`` become ``new`` (an empty
span inserts, an empty ``new`` deletes)."""

TransformFn = Callable[[str, float, random.Random], list[Replacement]]
"""(text, rate in [0, 1], seeded generator) -> non-overlapping replacements on ``text``.

A transformation never returns a replacement that leaves its span unchanged, and every unit it
selects produces one, so a positive rate edits a text exactly when it has an eligible unit."""

BatchFn = Callable[[list[str], float, "int | ExampleSeeds"], list["Transformed"]]
"""(texts, rate, seed) -> one :class:`Transformed` per text: a transformation run on a whole list."""

T = TypeVar("T")

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
"""A word: letters (any script) with inner apostrophes (``don't``, ``kids'`` stops at the s)."""


def words(text: str) -> list[re.Match[str]]:
    """The words of ``text`` (letters of any script, inner apostrophes kept) as regex matches."""
    return list(_WORD.finditer(text))


@dataclass(frozen=True)
class Edit:
    """One changed region: ``perturbed[start:end]`` replaced ``original`` (``start == end``
    marks a deletion point).

    Attributes:
        start: First character of the new text in the perturbed string.
        end: One past its last character.
        original: The characters of the original string that were there instead.
        original_start: Where they started in the original string.
    """

    start: int
    end: int
    original: str
    original_start: int


class Transformed:
    """A transformed text with the edits that turned ``original`` into ``text``.

    Immutable, compared and hashed by ``(original, text, edits)``. A batched transformation
    builds the edits of a text from its arrays only when ``edits`` is first read: a scan reads
    them only for the few texts it shows.
    """

    __slots__ = ("_state",)

    # (original, text, edits or None until made, where to make them from, row there)
    _state: tuple[str, str, tuple[Edit, ...] | None, Any, int]

    def __init__(self, original: str, text: str, edits: Sequence[Edit] = ()) -> None:
        _set_state(self, (original, text, tuple(edits), None, 0))

    @classmethod
    def _deferred(cls, original: str, text: str, source: _EditSource, row: int) -> Transformed:
        """A transformed text whose edits are ``source.edits(row, original)``, made on demand."""
        self = _new(cls)
        _set_state(self, (original, text, None, source, row))
        return self

    @property
    def original(self) -> str:
        """The text before the transformation."""
        return self._state[0]

    @property
    def text(self) -> str:
        """The transformed text."""
        return self._state[1]

    @property
    def edits(self) -> tuple[Edit, ...]:
        """The edits in order; undoing them rebuilds ``original`` (see :meth:`undo`)."""
        original, text, edits, source, row = self._state
        if edits is None:
            edits = source.edits(row, original)
            _set_state(self, (original, text, edits, None, 0))
        return edits

    @property
    def changed(self) -> bool:
        return self._state[1] != self._state[0]

    @property
    def spans(self) -> list[list[int]]:
        """``[[start, end], ...]`` in ``text`` of changed or inserted characters (the report's
        artifact format); a deletion is a zero-width span at the point of deletion."""
        return [[e.start, e.end] for e in self.edits]

    def undo(self) -> str:
        """The original text rebuilt from ``text`` and the edits alone."""
        out, pos = [], 0
        for e in self.edits:
            out.append(self.text[pos : e.start])
            out.append(e.original)
            pos = e.end
        out.append(self.text[pos:])
        return "".join(out)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Transformed):
            return NotImplemented
        return (self.original, self.text, self.edits) == (other.original, other.text, other.edits)

    def __hash__(self) -> int:
        return hash((self.original, self.text, self.edits))

    def __repr__(self) -> str:
        return f"Transformed(original={self.original!r}, text={self.text!r}, edits={self.edits!r})"

    def __reduce__(self) -> tuple[type[Transformed], tuple[str, str, tuple[Edit, ...]]]:
        return Transformed, (self.original, self.text, self.edits)


class _EditSource(Protocol):
    def edits(self, row: int, original: str) -> tuple[Edit, ...]: ...


_new = object.__new__
_set_state = Transformed.__dict__["_state"].__set__


def rebuild(text: str, replacements: Sequence[Replacement], where: str) -> Transformed:
    """Apply non-overlapping replacements to ``text`` and record where each landed."""
    reps = sorted(replacements, key=lambda r: (r[0], r[1]))
    out: list[str] = []
    edits: list[Edit] = []
    pos = 0
    length = 0
    for start, end, new in reps:
        if not 0 <= start <= end <= len(text) or start < pos:
            raise AssertionError(f"{where} returned overlapping or out-of-range edits: {reps}")
        if text[start:end] == new:
            raise AssertionError(f"{where} returned an edit that changes nothing: {text!r}")
        out.append(text[pos:start])
        length += start - pos
        edits.append(Edit(length, length + len(new), text[start:end], start))
        out.append(new)
        length += len(new)
        pos = end
    out.append(text[pos:])
    return Transformed(text, "".join(out), tuple(edits))


@dataclass(frozen=True)
class Transformation:
    """One registered transformation and what is known about it.

    Attributes:
        name: Registry name, e.g. ``"typo_keyboard"``.
        fn: The transformation (see :data:`TransformFn`).
        description: One line for listings and the report.
        unit: What ``rate`` is the fraction of: ``"word"``, ``"gap"`` (between words),
            ``"phrase"`` (contractible phrases), ``"name"``, ``"location"``, ``"number"``,
            ``"clause"``.
        preserves_label: False for meaning-changing edits (negation): those belong to
            directional CheckList tests, not to the consistency probe.
        references: The paper the transformation follows, if any.
        batch: A vectorised version of ``fn`` for whole lists, which :func:`apply` uses when
            given (the same edits' kind and eligibility; its own seeded draws).
    """

    name: str
    fn: TransformFn = field(repr=False)
    description: str
    unit: str = "word"
    preserves_label: bool = True
    references: str = ""
    batch: BatchFn | None = field(default=None, repr=False, compare=False)

    def __call__(self, text: str, rate: float, rng: random.Random) -> Transformed:
        """Transform one text with a seeded generator."""
        return (
            rebuild(text, self.fn(text, rate, rng), self.name) if text else Transformed(text, text)
        )

    def applies_to(self, text: str) -> bool:
        """Whether any positive rate edits ``text`` (it has at least one eligible unit)."""
        return bool(text) and bool(self.fn(text, 1.0, random.Random(0)))


class _LazyEdits(Sequence[tuple[Edit, ...]]):
    """Each text's edits, read from its :class:`Transformed` only when asked for."""

    __slots__ = ("_out",)

    def __init__(self, out: list[Transformed]) -> None:
        self._out = out

    @overload
    def __getitem__(self, index: int) -> tuple[Edit, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[Edit, ...]]: ...
    def __getitem__(self, index: int | slice) -> tuple[Edit, ...] | list[tuple[Edit, ...]]:
        if isinstance(index, slice):
            return [t.edits for t in self._out[index]]
        return self._out[index].edits

    def __len__(self) -> int:
        return len(self._out)


@dataclass(frozen=True)
class TransformationPerturbation(Perturbation[list[str]]):
    """A registered transformation at one rate, as a :class:`~robustlab.perturbations.Perturbation`.

    The registration decorators make one subclass per transformation
    (``PERTURBATIONS.get("typo_keyboard")``), whose ``transformation`` class attribute is its
    :class:`Transformation` record. :meth:`apply` returns the texts :func:`apply` makes, each
    text's share of words changed as its size, and its character edits.
    """

    rate: float = 0.2

    modality = "text"
    axis = "text perturbations"
    kind = "text_transformation"
    size_unit = "share of the words changed"
    partial = True
    example_seeds = True
    transformation: ClassVar[Transformation]

    def __post_init__(self) -> None:
        if check_rate(f"perturbation {self.name!r}", self.rate) == 0:
            raise ConfigError(
                f"The 'rate' parameter of perturbation {self.name!r} must be a float in (0, 1] "
                f"(the fraction of eligible words or units to change; 0 changes nothing). "
                f"Got {self.rate!r} instead."
            )

    def apply(self, inputs: list[str], seed: int | ExampleSeeds = 0) -> Perturbed[list[str]]:
        from robustlab.text.artifacts import word_change_fraction

        out = _run(self.transformation, inputs, self.rate, seed)
        changed = np.fromiter((o.changed for o in out), dtype=bool, count=len(out))
        size = np.zeros(len(out), dtype=np.float64)
        for i in np.flatnonzero(changed).tolist():
            size[i] = word_change_fraction(out[i].original, out[i].text)
        return Perturbed([o.text for o in out], size, _LazyEdits(out), changed)

    def applies_to(self, item: Any) -> bool:
        return isinstance(item, str) and self.transformation.applies_to(item)

    @property
    def label(self) -> str:
        return f"{self.name} {self.rate:g}"

    def __reduce__(self) -> tuple[Any, ...]:
        return by_name, (self.name, self.params)


def _perturbation_class(spec: Transformation) -> type[TransformationPerturbation]:
    return type(
        "".join(part.capitalize() for part in spec.name.split("_")),
        (TransformationPerturbation,),
        {
            "name": spec.name,
            "transformation": spec,
            "description": spec.description,
            "preserves_label": spec.preserves_label,
            "__doc__": spec.fn.__doc__ or spec.description,
            "__module__": spec.fn.__module__,
        },
    )


def add_transformation(spec: Transformation) -> None:
    """Register ``spec`` as one perturbation class (seen through :data:`TRANSFORMATIONS`)."""
    register(_perturbation_class(spec))


#: The registered transformations' records by name: a view of the text transformations in
#: :data:`~robustlab.perturbations.PERTURBATIONS`.
TRANSFORMATIONS: PerturbationView[Transformation] = PerturbationView(
    "text transformation",
    lambda cls: cls.transformation if issubclass(cls, TransformationPerturbation) else None,
)


def transformation(
    name: str,
    *,
    description: str,
    unit: str = "word",
    preserves_label: bool = True,
    references: str = "",
) -> Callable[[TransformFn], TransformFn]:
    """Decorator registering a transformation function: one perturbation class in
    :data:`~robustlab.perturbations.PERTURBATIONS` (seen through :data:`TRANSFORMATIONS`)."""

    def decorator(fn: TransformFn) -> TransformFn:
        add_transformation(Transformation(name, fn, description, unit, preserves_label, references))
        return fn

    return decorator


def names(*, preserves_label: bool | None = None) -> list[str]:
    """Registered transformation names, sorted; only label-preserving (or only label-changing)
    ones when ``preserves_label`` is given."""
    return [
        n
        for n, t in TRANSFORMATIONS.items()
        if preserves_label is None or t.preserves_label == preserves_label
    ]


def check_rate(where: str, rate: object) -> float:
    """The ``rate`` of ``where``: the fraction of eligible words or units to change, in [0, 1]."""
    out = validation.check_number(where, "rate", rate, low=0.0, high=1.0, low_inclusive=True)
    assert out is not None
    return out


def choose(items: Sequence[T], rate: float, rng: random.Random) -> list[T]:
    """``ceil(rate * len(items))`` of ``items`` drawn without replacement, in their order.

    Rounding up makes every positive rate change a text that has an eligible unit, so short
    texts are not silently left alone at small rates."""
    k = min(len(items), math.ceil(rate * len(items) - 1e-9))
    if k <= 0:
        return []
    return [items[i] for i in sorted(rng.sample(range(len(items)), k))]


def match_case(template: str, word: str) -> str:
    """``word`` cased like ``template``: ALL CAPS, Capitalised or as given."""
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def apply(
    texts: Sequence[str], name: str, rate: float, seed: int | ExampleSeeds = 0
) -> list[Transformed]:
    """Transform every text of ``texts`` with transformation ``name`` at ``rate``.

    Args:
        texts: A list of str (any Unicode; empty strings come back unchanged).
        name: A registered transformation (see :func:`names`).
        rate: Fraction in [0, 1] of each text's eligible units to change (words for typos,
            distinct names for name swaps, ...), rounded up; 0 returns the texts unchanged.
        seed: An int, or per-example :class:`~robustlab.seeding.ExampleSeeds` (a scan passes
            ``ExampleSeeds.of(probe seed, ids)``). The same texts, name, rate and seed give the
            same output; each text draws from its own random stream keyed by its seed (for an
            int: ``(seed, position)``), so its edits do not depend on the other texts.

    Returns:
        One :class:`Transformed` per text, with the character edits made.

    Raises:
        UnknownNameError: ``name`` is not registered (the message suggests close names).
        ConfigError: ``rate`` is not in [0, 1].
        DataError: ``texts`` is not a list of str.
    """
    return _run(TRANSFORMATIONS.get(name), texts, rate, seed)


def _run(
    spec: Transformation, texts: Sequence[str], rate: float, seed: int | ExampleSeeds
) -> list[Transformed]:
    rate = check_rate(f"transformation {spec.name!r}", rate)
    items = check_texts(texts, "transformations.apply()")
    if not isinstance(seed, ExampleSeeds) and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"The 'seed' parameter of apply() must be an int. Got {seed!r} instead.")
    seeds = as_seeds("transformations.apply()", seed, len(items))
    if spec.batch is not None:
        return spec.batch(items, rate, seeds)
    return [spec(t, rate, random.Random(seeds.seed(i))) for i, t in enumerate(items)]
