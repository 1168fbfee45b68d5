"""Adversarial attacks on images, tabular rows and texts: one :class:`Attack` base, one
:data:`ATTACKS` registry, threat models, the standard ensemble, and checks."""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from robustlab.attacks._base import Attack
from robustlab.attacks._registry import ATTACKS, attacks_for, register_attack
from robustlab.attacks.image import _run, curves
from robustlab.attacks.image import ensemble as _ensemble
from robustlab.attacks.image._base import Context, ImageAttack, build_attack
from robustlab.attacks.image._result import AttackResult, AttackWarning
from robustlab.attacks.image.checks import cheap_checks
from robustlab.attacks.image.colour import Brightness, Contrast, Hue, Saturation
from robustlab.attacks.image.curves import (
    EpsilonSweep,
    GridCurve,
    perturbation_summary,
    robust_accuracy_curve,
)
from robustlab.attacks.image.ensemble import ensemble_plan
from robustlab.attacks.image.spatial import RotationTranslation
from robustlab.attacks.text import TextAttack, TextAttackResult
from robustlab.attacks.threat import (
    THREATS,
    EditBudget,
    LpBall,
    ParametricThreat,
    ThreatModel,
    register_threat,
)

F = TypeVar("F", bound=Callable[..., Any])


def _any_model(fn: F) -> F:
    """``fn`` taking any model ``scan`` takes (an ``nn.Module``, a fitted estimator, a callable)
    wrapped as ``scan`` wraps it; bounds then default to (0, 1), noted in the result."""

    @functools.wraps(fn)
    def wrapper(model: Any, *args: Any, **kwargs: Any) -> Any:
        from robustlab.models import Model, as_model

        _parse_epsilon(kwargs, model)
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


def _parse_epsilon(kwargs: dict[str, Any], model: Any) -> None:
    """Accept ``epsilon="8/255"`` as suites do, and warn when an Linf epsilon exceeds half the
    input range (a forgotten ``/255``)."""
    import warnings

    from robustlab.validation import epsilon_label, parse_fraction

    eps = kwargs.get("epsilon")
    if eps is None or isinstance(eps, (list, tuple)):
        return
    if isinstance(eps, str):
        eps = kwargs["epsilon"] = parse_fraction(eps, "'epsilon' parameter")
    bounds = kwargs.get("bounds") or getattr(model, "bounds", None) or (0.0, 1.0)
    span = float(bounds[1]) - float(bounds[0])
    if kwargs.get("norm", "linf") == "linf" and span > 0 and float(eps) > 0.5 * span:
        warnings.warn(
            f"epsilon={epsilon_label(float(eps))} is more than half the input range "
            f"{bounds[0]:g}..{bounds[1]:g} for an Linf attack, so nearly every input can be "
            f"changed into any other; did you forget /255 (e.g. epsilon='8/255')?",
            stacklevel=3,
        )


def _named(attack: str) -> Callable[..., Any]:
    def call(model: Any, inputs: Any, targets: Any, **kwargs: Any) -> Any:
        return run(model, inputs, targets, attack, **kwargs)

    call.__name__ = call.__qualname__ = attack
    call.__doc__ = (
        f"Run the {attack!r} attack: ``run(model, inputs, targets, {attack!r}, **kwargs)`` "
        f"(see :func:`robustlab.attacks.run` for the keywords)."
    )
    return call


run = _any_model(_run.run)
standard = _any_model(_ensemble.standard)
epsilon_sweep = _any_model(curves.epsilon_sweep)
grid_curve = _any_model(curves.grid_curve)
#: The AutoAttack-style ensemble under the name the probe, suites and report use (``standard``
#: stays as an alias).
ensemble = standard
apgd = _named("apgd")
cw = _named("cw")
deepfool = _named("deepfool")
deepwordbug = _named("deepwordbug")
fab = _named("fab")
fgsm = _named("fgsm")
fmn = _named("fmn")
genetic_typo = _named("genetic_typo")
grid_search = _named("grid_search")
hop_skip_jump = _named("hop_skip_jump")
pgd = _named("pgd")
square = _named("square")
textfooler = _named("textfooler")

__all__ = [
    "ATTACKS",
    "THREATS",
    "Attack",
    "AttackResult",
    "AttackWarning",
    "Brightness",
    "Context",
    "Contrast",
    "EditBudget",
    "EpsilonSweep",
    "GridCurve",
    "Hue",
    "ImageAttack",
    "LpBall",
    "ParametricThreat",
    "RotationTranslation",
    "Saturation",
    "TextAttack",
    "TextAttackResult",
    "ThreatModel",
    "apgd",
    "attacks_for",
    "build_attack",
    "cheap_checks",
    "cw",
    "deepfool",
    "deepwordbug",
    "ensemble",
    "ensemble_plan",
    "epsilon_sweep",
    "fab",
    "fgsm",
    "fmn",
    "genetic_typo",
    "grid_curve",
    "grid_search",
    "hop_skip_jump",
    "perturbation_summary",
    "pgd",
    "register_attack",
    "register_threat",
    "robust_accuracy_curve",
    "run",
    "square",
    "standard",
    "textfooler",
]
