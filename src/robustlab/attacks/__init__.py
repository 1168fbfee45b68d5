"""Adversarial attacks: white-box and black-box attacks, the standard ensemble, and checks."""

from robustlab.attacks._registry import ATTACKS, register_attack
from robustlab.attacks.image._base import Attack, Context, build_attack
from robustlab.attacks.image._result import AttackResult, AttackWarning
from robustlab.attacks.image._run import run
from robustlab.attacks.image.checks import cheap_checks
from robustlab.attacks.image.curves import (
    EpsilonSweep,
    epsilon_sweep,
    perturbation_summary,
    robust_accuracy_curve,
)
from robustlab.attacks.image.ensemble import ensemble_plan, standard

__all__ = [
    "ATTACKS",
    "Attack",
    "AttackResult",
    "AttackWarning",
    "Context",
    "EpsilonSweep",
    "build_attack",
    "cheap_checks",
    "ensemble_plan",
    "epsilon_sweep",
    "perturbation_summary",
    "register_attack",
    "robust_accuracy_curve",
    "run",
    "standard",
]
