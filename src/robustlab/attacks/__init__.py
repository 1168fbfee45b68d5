"""Adversarial attacks on images, tabular rows and texts: one :class:`Attack` base, one
:data:`ATTACKS` registry, threat models, the standard ensemble, and checks."""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from robustlab.attacks._base import Attack
from robustlab.attacks._registry import ATTACKS, attacks_for, register_attack
from robustlab.attacks.image import _run, curves, ensemble
from robustlab.attacks.image._base import Context, ImageAttack, build_attack
from robustlab.attacks.image._result import AttackResult, AttackWarning
from robustlab.attacks.image.checks import cheap_checks
from robustlab.attacks.image.curves import EpsilonSweep, perturbation_summary, robust_accuracy_curve
from robustlab.attacks.image.ensemble import ensemble_plan
from robustlab.attacks.text import TextAttack, TextAttackResult
from robustlab.attacks.threat import THREATS, EditBudget, LpBall, ThreatModel, register_threat

F = TypeVar("F", bound=Callable[..., Any])


def _any_model(fn: F) -> F:
    """``fn`` taking any model ``scan`` takes (an ``nn.Module``, a fitted estimator, a callable)
    wrapped as ``scan`` wraps it; bounds then default to (0, 1), noted in the result."""

    @functools.wraps(fn)
    def wrapper(model: Any, *args: Any, **kwargs: Any) -> Any:
        from robustlab.models import Model, as_model

        if isinstance(model, Model):
            return fn(model, *args, **kwargs)
        wrapped = as_model(model)
        result = fn(wrapped, *args, **kwargs)
        if kwargs.get("bounds") is None and wrapped.bounds is not None:
            low, high = wrapped.bounds
            note = AttackWarning(
                "bounds-assumed",
                f"The {type(model).__name__} was wrapped as {type(wrapped).__name__} with input "
                f"bounds ({low:g}, {high:g}), the default.",
                "If the inputs have another range, pass bounds=(low, high) or wrap the model "
                "yourself, e.g. TorchModel(module, bounds=(0, 255)).",
            )
            (result.minimal if isinstance(result, EpsilonSweep) else result).warnings.append(note)
        return result

    return wrapper  # type: ignore[return-value]


run = _any_model(_run.run)
standard = _any_model(ensemble.standard)
epsilon_sweep = _any_model(curves.epsilon_sweep)

__all__ = [
    "ATTACKS",
    "THREATS",
    "Attack",
    "AttackResult",
    "AttackWarning",
    "Context",
    "EditBudget",
    "EpsilonSweep",
    "ImageAttack",
    "LpBall",
    "TextAttack",
    "TextAttackResult",
    "ThreatModel",
    "attacks_for",
    "build_attack",
    "cheap_checks",
    "ensemble_plan",
    "epsilon_sweep",
    "perturbation_summary",
    "register_attack",
    "register_threat",
    "robust_accuracy_curve",
    "run",
    "standard",
]
