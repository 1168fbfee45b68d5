"""Attacks on numeric inputs (images, tabular rows): white-box and black-box attacks in torch,
the AutoAttack-style ensembles, robustness curves and the honest-evaluation checks."""

import warnings
from typing import Any

from robustlab.attacks.image._base import Context, ImageAttack, build_attack
from robustlab.attacks.image._result import AttackResult, AttackWarning
from robustlab.attacks.image._run import run
from robustlab.registry import import_submodules

import_submodules(__name__)  # every plugin module registers its attack

__all__ = ["AttackResult", "AttackWarning", "Context", "ImageAttack", "build_attack", "run"]


def __getattr__(name: str) -> Any:
    if name == "Attack":
        warnings.warn(
            "robustlab.attacks.image.Attack is ImageAttack since RobustLab 0.2 (Attack is now the "
            "base of image and text attacks); the old name works until 0.3.",
            DeprecationWarning,
            stacklevel=2,
        )
        return ImageAttack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
