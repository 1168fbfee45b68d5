"""Black-box text attacks with counted queries and a hard per-text budget.

``run(model, texts, targets, attack="deepwordbug", budget=500, seed=0)`` attacks each text
through a query counter; attacks are registered in :data:`TEXT_ATTACKS`, one file each.
"""

from robustlab.registry import import_submodules
from robustlab.text.attacks._base import (
    STOPWORDS,
    TEXT_ATTACKS,
    BudgetExhausted,
    QueryCounter,
    TextAttack,
    Tokenized,
    build_text_attack,
    register_text_attack,
)
from robustlab.text.attacks._result import Edit, TextAdversarial, TextAttackResult
from robustlab.text.attacks._run import run

import_submodules(__name__)

__all__ = [
    "STOPWORDS",
    "TEXT_ATTACKS",
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
