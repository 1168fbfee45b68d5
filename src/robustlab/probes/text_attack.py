"""Deprecated: the ``text_attack`` probe is the ``attack`` probe with a text attack."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from robustlab.probes.attack import Attack
from robustlab.probes.base import PROBES

__all__ = ["TextAttackProbe"]


@PROBES.register("text_attack")
class TextAttackProbe(Attack):
    """The 0.1 name of the :class:`~robustlab.probes.attack.Attack` probe for text attacks:
    ``text_attack attack=deepwordbug budget=50`` builds ``attack attack=deepwordbug budget=50``
    (same key, so the same records and derived seeds), with a deprecation warning; the name works
    until RobustLab 0.3.
    """

    name = "text_attack"
    kind = "text_attack"
    axis: ClassVar[str] = "text attacks"
    modalities: ClassVar[tuple[str, ...]] = ("text",)

    def __new__(cls, *args: Any, **kwargs: Any) -> Attack:  # type: ignore[misc]
        warnings.warn(
            "The 'text_attack' probe is deprecated since RobustLab 0.2; write 'attack' with a text "
            "attack (e.g. {probe: attack, attack: deepwordbug, budget: 500}), which gives the same "
            "records. The old name works until 0.3.",
            DeprecationWarning,
            stacklevel=_caller(),
        )
        if not args:
            kwargs.setdefault("attack", "deepwordbug")
        return Attack(*args, **kwargs)

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        return super().normalise_params({"attack": "deepwordbug", **params})

    @classmethod
    def example(cls) -> Attack:
        return Attack("deepwordbug", budget=40, options=(("candidates", 2),))


def _caller() -> int:
    """Stack level of the first frame outside the probe machinery (the user's code)."""
    import sys

    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith("robustlab.probes"):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
