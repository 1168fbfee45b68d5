"""Adversarial attacks on images, tabular rows and texts: one :class:`Attack` base, one
:data:`ATTACKS` registry, threat models, the standard ensemble, and checks."""

from robustlab.attacks._base import Attack
from robustlab.attacks._registry import ATTACKS, attacks_for, register_attack
from robustlab.attacks.image._base import Context, ImageAttack, build_attack
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
from robustlab.attacks.text import TextAttack, TextAttackResult
from robustlab.attacks.threat import THREATS, EditBudget, LpBall, ThreatModel, register_threat

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
