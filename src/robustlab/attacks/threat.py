"""Threat models: the set of perturbations an attack may search, one class each in :data:`THREATS`.

An image attack searches an :class:`LpBall` (intersected with the input bounds); a text attack an
:class:`EditBudget`. Spatial, colour and union threat models are one more file each: subclass
:class:`ThreatModel`, decorate it with ``@register_threat("name")`` and put it in a plugin package
(``robustlab/attacks/image/`` is discovered), implementing ``contains`` (and ``project`` where the
set has a projection).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch

from robustlab.attacks.image._ops import ALL_NORMS, lp_norm, project_ball, random_in_ball
from robustlab.errors import ConfigError
from robustlab.registry import Registry
from robustlab.seeding import Draws

__all__ = [
    "THREATS",
    "EditBudget",
    "LpBall",
    "ParametricThreat",
    "ThreatModel",
    "build_threat",
    "register_threat",
    "text_edits",
]

THREATS: Registry[type[ThreatModel]] = Registry("threat model")

T = TypeVar("T", bound="type[ThreatModel]")

#: Relative and absolute slack of :meth:`LpBall.contains` for float32 round-off.
TOLERANCE = 1e-5

NORM_LABELS = {"linf": "L∞", "l2": "L2", "l1": "L1", "l0": "L0"}


def register_threat(name: str) -> Callable[[T], T]:
    """Class decorator registering a :class:`ThreatModel` subclass under ``name``."""

    def decorator(cls: T) -> T:
        cls.name = name
        THREATS.add(name, cls)
        return cls

    return decorator


def build_threat(name: str, **params: Any) -> ThreatModel:
    """Construct the registered threat model ``name`` from keyword parameters."""
    return THREATS.build(name, **params)


def _fail(param: str, owner: str, expected: str, value: object) -> ConfigError:
    return ConfigError(
        f"The {param!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def _fraction(owner: str, param: str, value: object, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        raise _fail(param, owner, "a fraction in [0, 1]" + (" or None" if optional else ""), value)


@dataclass(frozen=True)
class ThreatModel(ABC):
    """The perturbations an attack may make: a frozen dataclass whose fields are its parameters.

    Class attributes:
        name: Registered name (set by ``register_threat``).
        modality: The attack family it constrains (``image`` for numeric tensors, ``text``).
    """

    name: ClassVar[str] = "threat"
    modality: ClassVar[str] = "image"

    @abstractmethod
    def contains(self, adversarial: Any, original: Any, **context: Any) -> np.ndarray:
        """Bool ``(n,)`` array: which adversarial examples lie inside the threat model."""

    @abstractmethod
    def describe(self) -> str:
        """One line for people, e.g. ``L∞ ball of radius 0.0314 within the input bounds``."""

    @property
    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def spec(self) -> dict[str, Any]:
        """Name and parameters, as stored with results."""
        return {"threat": self.name, **self.params}

    @property
    def key(self) -> str:
        """Canonical identity, e.g. ``lp(norm=linf,epsilon=0.1)``."""
        items = ",".join(
            f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items()
        )
        return f"{self.name}({items})"


@register_threat("lp")
@dataclass(frozen=True)
class LpBall(ThreatModel):
    """Perturbations of ``norm`` at most ``epsilon`` that keep the input within its bounds.

    ``epsilon=None`` is the whole input box: minimal-norm attacks search it and report the size
    of what they find in ``norm``.

    Args:
        norm: ``linf``, ``l2``, ``l1`` or ``l0`` (the number of input elements changed).
        epsilon: Radius of the ball, or ``None`` for no limit.
    """

    norm: str = "linf"
    epsilon: float | None = None

    modality: ClassVar[str] = "image"

    def __post_init__(self) -> None:
        owner = "threat model 'lp'"
        if self.norm not in ALL_NORMS:
            raise _fail("norm", owner, f"one of {list(ALL_NORMS)}", self.norm)
        eps = self.epsilon
        if eps is not None and not (
            isinstance(eps, (int, float))
            and not isinstance(eps, bool)
            and math.isfinite(eps)
            and eps > 0
        ):
            raise _fail("epsilon", owner, "a positive float or None", eps)

    @property
    def bounded(self) -> bool:
        return self.epsilon is not None

    def distance(self, delta: torch.Tensor) -> torch.Tensor:
        """Per-example size ``(n,)`` of a batch of perturbations in ``norm``."""
        return lp_norm(delta, self.norm)

    def project_delta(self, delta: torch.Tensor) -> torch.Tensor:
        """Perturbations projected onto the ball (unchanged when unbounded)."""
        if self.epsilon is None:
            return delta
        return project_ball(delta, self.norm, self.epsilon)

    def project(
        self, adversarial: torch.Tensor, original: torch.Tensor, bounds: tuple[float, float]
    ) -> torch.Tensor:
        """``adversarial`` moved into the ball around ``original`` and then into the bounds.

        For Linf this is the exact projection onto the intersection (a box); for L2 and L1 the
        ball projection followed by the clip lands inside the intersection (clipping towards a
        point inside the bounds never lengthens the perturbation), though not always at its
        nearest point.
        """
        if self.epsilon is None:
            return adversarial.clamp(bounds[0], bounds[1])
        moved = original + project_ball(adversarial - original, self.norm, self.epsilon)
        return moved.clamp(bounds[0], bounds[1])

    def box(
        self, original: torch.Tensor, bounds: tuple[float, float]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """For Linf, the ball intersected with the bounds as elementwise ``(low, high)``."""
        if self.norm != "linf" or self.epsilon is None:
            raise ConfigError(f"Only a bounded Linf ball is a box; this is {self.describe()}.")
        eps = self.epsilon
        return (original - eps).clamp(min=bounds[0]), (original + eps).clamp(max=bounds[1])

    def random(
        self,
        like: torch.Tensor,
        generator: torch.Generator | Draws,
        radius: float | torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Random perturbations inside the ball (of ``radius`` if given, else ``epsilon``); per
        example when ``generator`` is a :class:`~robustlab.seeding.Draws`."""
        r = self.epsilon if radius is None else radius
        if self.norm == "l0":
            raise ConfigError("An L0 threat model has no random start; start from the input.")
        if r is None:
            raise ConfigError("An unbounded Lp threat model has no random point; pass a radius.")
        return random_in_ball(like, self.norm, r, generator)

    def contains(
        self,
        adversarial: Any,
        original: Any,
        bounds: tuple[float, float] | None = None,
        tolerance: float = TOLERANCE,
        **context: Any,
    ) -> np.ndarray:
        """Bool ``(n,)``: the perturbation is at most ``epsilon`` (with a float ``tolerance``,
        relative and absolute) and, given ``bounds``, the adversarial input is within them."""
        adv = torch.as_tensor(
            np.asarray(adversarial) if not torch.is_tensor(adversarial) else adversarial
        )
        x = torch.as_tensor(np.asarray(original) if not torch.is_tensor(original) else original)
        adv, x = adv.detach().cpu().double(), x.detach().cpu().double()
        ok = torch.ones(len(adv), dtype=torch.bool)
        if self.epsilon is not None:
            ok &= self.distance(adv - x) <= self.epsilon * (1 + tolerance) + tolerance
        if bounds is not None:
            slack = tolerance * max(1.0, bounds[1] - bounds[0])
            flat = adv.flatten(1)
            ok &= (flat.amin(dim=1) >= bounds[0] - slack) & (flat.amax(dim=1) <= bounds[1] + slack)
        return ok.numpy()

    def describe(self) -> str:
        label = NORM_LABELS[self.norm]
        if self.epsilon is None:
            return f"{label} perturbations of any size within the input bounds"
        return f"{label} ball of radius {self.epsilon:.4g} within the input bounds"


def _char_distance(a: str, b: str) -> int:
    """Levenshtein distance between two short strings (one word each)."""
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def text_edits(original: str, adversarial: str) -> tuple[int, int, int, int]:
    """``(words changed, words in the original, characters changed, characters)`` of an edit.

    Word lists of equal length are compared position by position (word-level attacks keep the
    count), with the characters changed as each changed word's edit distance; otherwise the
    word sequences are aligned with :mod:`difflib` and every replaced, inserted or deleted word
    counts, with its characters.
    """
    from robustlab.attacks.text._base import Tokenized

    a, b = Tokenized.parse(original).words, Tokenized.parse(adversarial).words
    if len(a) == len(b):
        changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        return len(changed), len(a), sum(_char_distance(x, y) for x, y in changed), len(original)
    words = chars = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        words += max(i2 - i1, j2 - j1)
        chars += max(sum(map(len, a[i1:i2])), sum(map(len, b[j1:j2])))
    return words, len(a), chars, len(original)


@register_threat("edits")
@dataclass(frozen=True)
class EditBudget(ThreatModel):
    """Text edits within a budget: at most a fraction of the words and of the characters
    changed, and, where measured, a least sentence similarity to the original.

    The defaults (``None``) leave a dimension unconstrained; the attacks' own limits (TextFooler's
    ``max_words_perturbed``, DeepWordBug's ``max_edits``) apply within it.

    Args:
        max_words_changed: Most fraction of the original's words changed.
        max_chars_changed: Most fraction of the original's characters changed (edit distance).
        min_similarity: Least MiniLM cosine similarity of the adversarial text to the original.
    """

    max_words_changed: float | None = None
    max_chars_changed: float | None = None
    min_similarity: float | None = None

    modality: ClassVar[str] = "text"

    def __post_init__(self) -> None:
        owner = "threat model 'edits'"
        _fraction(owner, "max_words_changed", self.max_words_changed)
        _fraction(owner, "max_chars_changed", self.max_chars_changed)
        if self.min_similarity is not None:
            v = self.min_similarity
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and -1.0 <= v <= 1.0
            if not ok:
                raise _fail("min_similarity", owner, "a float in [-1, 1] or None", v)

    @property
    def unconstrained(self) -> bool:
        return (
            self.max_words_changed is None
            and self.max_chars_changed is None
            and (self.min_similarity is None)
        )

    def word_limit(self, n_words: int) -> int:
        """Most words an attack may change in a text of ``n_words`` words."""
        if self.max_words_changed is None:
            return n_words
        return math.floor(self.max_words_changed * n_words + 1e-9)

    def allows(self, original: str, adversarial: str, similarity: float | None = None) -> bool:
        """Whether one adversarial text is inside the budget (similarity only if measured)."""
        words, n_words, chars, n_chars = text_edits(original, adversarial)
        if (
            self.max_words_changed is not None
            and words > self.max_words_changed * max(n_words, 1) + 1e-9
        ):
            return False
        if (
            self.max_chars_changed is not None
            and chars > self.max_chars_changed * max(n_chars, 1) + 1e-9
        ):
            return False
        measured = similarity is not None and not np.isnan(similarity)
        return not (
            self.min_similarity is not None and measured and similarity < self.min_similarity  # type: ignore[operator]
        )

    def contains(
        self,
        adversarial: Any,
        original: Any,
        similarity: Sequence[float] | None = None,
        **context: Any,
    ) -> np.ndarray:
        """Bool ``(n,)`` for lists of adversarial and original texts (and their similarities)."""
        advs, origs = list(adversarial), list(original)
        sims: list[float | None] = (
            [None] * len(advs) if similarity is None else [float(s) for s in similarity]
        )
        return np.array(
            [self.allows(o, a, s) for a, o, s in zip(advs, origs, sims, strict=True)], dtype=bool
        )

    def describe(self) -> str:
        parts = []
        if self.max_words_changed is not None:
            parts.append(f"at most {self.max_words_changed:.0%} of the words")
        if self.max_chars_changed is not None:
            parts.append(f"at most {self.max_chars_changed:.0%} of the characters")
        if self.min_similarity is not None:
            parts.append(f"similarity at least {self.min_similarity:.2f}")
        return "text edits" + (": " + ", ".join(parts) if parts else " of any extent")


@dataclass(frozen=True)
class ParametricThreat(ThreatModel):
    """A threat model of transformations with a few parameters per example (a rotation angle,
    a hue shift), bounded by ``strength``: the adversary picks parameters ``theta`` with
    ``|theta| <= limits()`` and the input becomes ``transform(x, theta)``.

    Subclasses set ``parameters`` (names), ``needs_channels`` (3 for colour) and implement
    :meth:`limits` and :meth:`transform`. Search attacks (``grid_search``) enumerate
    :meth:`candidates`; the size a result reports is the L2 norm of the change.

    Args:
        strength: The threat's scale, positive (each subclass says what it means).
    """

    strength: float = 1.0

    modality: ClassVar[str] = "image"
    parameters: ClassVar[tuple[str, ...]] = ()
    needs_channels: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        v = self.strength
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        if not ok:
            raise _fail("strength", f"threat model {self.name!r}", "a positive float", v)

    @property
    def norm(self) -> str:
        """Results name the threat where Lp results name the norm."""
        return self.name

    @property
    def epsilon(self) -> float:
        return float(self.strength)

    @abstractmethod
    def limits(self, shape: Sequence[int]) -> torch.Tensor:
        """Largest ``|theta|`` per parameter ``(p,)`` for inputs of ``shape`` ``(C, H, W)``."""

    @abstractmethod
    def transform(
        self, x: torch.Tensor, theta: torch.Tensor, bounds: tuple[float, float]
    ) -> torch.Tensor:
        """``x`` ``(n, C, H, W)`` transformed by per-example parameters ``theta`` ``(n, p)``."""

    def check_inputs(self, shape: Sequence[int], owner: str) -> None:
        """Raise ConfigError when inputs of ``shape`` ``(N, C, H, W)`` cannot take this threat."""
        if len(shape) != 4:
            raise ConfigError(
                f"{owner}: threat model {self.name!r} transforms images shaped (N, C, H, W), but "
                f"the inputs are shaped {tuple(shape)}; use Lp threat models for other inputs."
            )
        want = self.needs_channels
        if want is not None and int(shape[1]) != want:
            raise ConfigError(
                f"{owner}: threat model {self.name!r} changes colour and needs {want}-channel "
                f"images, but the inputs have {shape[1]} channel(s); drop it from the union for "
                f"grayscale data (brightness and contrast apply to any channel count)."
            )

    def candidates(self, shape: Sequence[int], per_axis: int) -> torch.Tensor:
        """A grid ``(m, p)`` of parameters within the limits, ``per_axis`` values per parameter
        from ``-limit`` to ``+limit``, ordered by size (smallest change first)."""
        lim = self.limits(shape).double()
        axes = [torch.linspace(-1.0, 1.0, per_axis, dtype=torch.float64) * v for v in lim]
        grid = torch.cartesian_prod(*axes).reshape(-1, len(lim))
        order = (grid / lim.clamp(min=1e-12)).abs().amax(dim=1).argsort(stable=True)
        return grid[order].float()

    def project(
        self, adversarial: torch.Tensor, original: torch.Tensor, bounds: tuple[float, float]
    ) -> torch.Tensor:
        """Adversarials are built inside the threat; only the bounds are enforced here."""
        return adversarial.clamp(bounds[0], bounds[1])

    def distance(self, delta: torch.Tensor) -> torch.Tensor:
        return lp_norm(delta, "l2")

    def contains(
        self,
        adversarial: Any,
        original: Any,
        theta: Any = None,
        shape: Sequence[int] | None = None,
        **context: Any,
    ) -> np.ndarray:
        """Bool ``(n,)``: the parameters ``theta`` used are within the limits (all True when
        the parameters are not given)."""
        n = len(adversarial)
        if theta is None:
            return np.ones(n, dtype=bool)
        lim = self.limits(shape or tuple(torch.as_tensor(original).shape[1:]))
        t = torch.as_tensor(theta).double().reshape(n, -1)
        return (t.abs() <= lim.double() * (1 + TOLERANCE) + TOLERANCE).all(dim=1).numpy()
