"""The base every attack shares, image or text: parameters, modality, needs, criterion."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.tasks.base import Criterion

__all__ = ["MODALITIES", "Attack", "default_criterion", "resolve_criterion"]

#: Attack families and the data modalities each attacks.
MODALITIES: dict[str, tuple[str, ...]] = {"image": ("image", "tabular"), "text": ("text",)}


@dataclass(frozen=True)
class Attack:
    """Base class of every attack: a frozen dataclass whose fields are its parameters.

    Image attacks subclass :class:`~robustlab.attacks.image.ImageAttack`, text attacks
    :class:`~robustlab.attacks.text.TextAttack`; both register with ``@register_attack`` in the
    one :data:`~robustlab.attacks.ATTACKS` registry.

    Class attributes:
        name: Registered name (set by ``register_attack``).
        modality: ``image`` (numeric tensors: images, tabular rows) or ``text``.
        needs: Model capabilities it requires (``gradients`` for white box, ``scores``).
        minimal: It searches the smallest perturbation, so it needs no budget.
        quick_params: Parameters for a fast smoke run (contract tests, the ``quick`` suite).
    """

    name: ClassVar[str] = "attack"
    modality: ClassVar[str] = "image"
    needs: ClassVar[frozenset[str]] = frozenset()
    minimal: ClassVar[bool] = False
    quick_params: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # 0.1 image attacks subclassed `Attack` directly; say what changed instead of failing
        # later with a missing run().
        for hook, base in (("_perturb", "ImageAttack"), ("_attack", "TextAttack")):
            if hook in vars(cls) and not any(b.__name__ == base for b in cls.__mro__):
                raise TypeError(
                    f"{cls.__name__} defines {hook}() but subclasses Attack, the base of every "
                    f"attack since RobustLab 0.2; subclass robustlab.attacks.{base} instead."
                )

    def __post_init__(self) -> None:
        self._check(self.owner())

    @classmethod
    def owner(cls) -> str:
        """How messages name the attack (``attack 'pgd'``, ``text attack 'deepwordbug'``)."""
        return f"{'text ' if cls.modality == 'text' else ''}attack {cls.name!r}"

    @classmethod
    def modalities(cls) -> tuple[str, ...]:
        """The data modalities this attack applies to."""
        return MODALITIES[cls.modality]

    def _check(self, owner: str) -> None:
        """Validate the fields; raise ConfigError with the standard message."""
        return None  # an optional hook: attacks without parameters have nothing to check

    @property
    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def spec(self) -> dict[str, Any]:
        """Name and parameters, as stored with results."""
        return {"name": self.name, "params": self.params}


def default_criterion(model: Model) -> Criterion:
    """The criterion of the model's task (misclassification for classifiers)."""
    from robustlab.tasks import get_task

    return get_task(getattr(model, "task", None) or "classification").make_criterion()


def resolve_criterion(
    criterion: Criterion | str | None,
    model: Model,
    owner: str,
    tasks: tuple[str, ...] = ("classification",),
    **params: Any,
) -> Criterion:
    """A :class:`Criterion` from an instance, a registered name (with ``params``) or ``None``
    (the model's task's default). Attacks decide success on a score per class (or per document:
    text attacks also take ranking criteria such as ``demoted``), so the criterion must apply to
    one of ``tasks`` and must not need the clean outputs."""
    from robustlab.tasks import CRITERIA

    if criterion is None:
        chosen = default_criterion(model)
    elif isinstance(criterion, Criterion):
        chosen = criterion
    elif isinstance(criterion, str):
        chosen = CRITERIA.build(criterion, **params)
    else:
        raise ConfigError(
            f"The 'criterion' parameter of {owner} must be a Criterion or a criterion name "
            f"({', '.join(CRITERIA.names())}). Got {criterion!r} instead."
        )
    if params and not isinstance(criterion, str):
        raise ConfigError(
            f"{owner} got criterion parameters {sorted(params)} without a criterion name; pass "
            f"criterion='name' with them, or a built Criterion alone."
        )
    if not set(tasks) & set(chosen.tasks) or chosen.needs_clean:
        usable = [n for n, c in CRITERIA.items() if set(tasks) & set(c.tasks) and not c.needs_clean]
        raise ConfigError(
            f"{owner} decides success on {'/'.join(tasks)} scores, but the {chosen.name!r} "
            f"criterion is for {'/'.join(chosen.tasks)} outputs. Use one of: {', '.join(usable)}."
        )
    return chosen
