"""Black-box text attacks with counted queries and a hard per-text budget.

``run(model, texts, targets, attack="deepwordbug", budget=500, seed=0)`` attacks each text
through a query counter; attacks register in :data:`robustlab.attacks.ATTACKS` with
``@register_attack``, one file each, like the image attacks.
"""

import warnings
from typing import Any

from robustlab.attacks.text._base import (
    STOPWORDS,
    TEXT,
    BudgetExhausted,
    QueryCounter,
    TextAttack,
    Tokenized,
    build_text_attack,
    register_text_attack,
)
from robustlab.attacks.text._result import Edit, TextAdversarial, TextAttackResult
from robustlab.attacks.text._run import run
from robustlab.registry import import_submodules

import_submodules(__name__)

__all__ = [
    "STOPWORDS",
    "BudgetExhausted",
    "Edit",
    "QueryCounter",
    "TextAdversarial",
    "TextAttack",
    "TextAttackResult",
    "Tokenized",
    "build_text_attack",
    "register_text_attack",
    "run",
]


def __getattr__(name: str) -> Any:
    if name == "TEXT_ATTACKS":
        warnings.warn(
            "TEXT_ATTACKS is deprecated since RobustLab 0.2; image and text attacks share "
            "robustlab.attacks.ATTACKS (attacks_for('text') lists the text ones). The old name "
            "works until 0.3.",
            DeprecationWarning,
            stacklevel=2,
        )
        return TEXT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
