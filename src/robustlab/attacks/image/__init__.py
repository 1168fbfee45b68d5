"""Attacks on numeric inputs (images, tabular rows): white-box and black-box attacks in torch,
the AutoAttack-style ensembles, robustness curves and the honest-evaluation checks."""

from robustlab.attacks.image._base import Attack, Context, build_attack
from robustlab.attacks.image._result import AttackResult, AttackWarning
from robustlab.attacks.image._run import run
from robustlab.registry import import_submodules

import_submodules(__name__)  # every plugin module registers its attack

__all__ = ["Attack", "AttackResult", "AttackWarning", "Context", "build_attack", "run"]
