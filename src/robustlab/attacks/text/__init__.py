"""Black-box text attacks with counted queries and a hard per-text budget.

``run(model, texts, targets, attack="deepwordbug", budget=500, seed=0)`` attacks each text
through a query counter; attacks are registered in :data:`TEXT_ATTACKS`, one file each.
"""

from robustlab.attacks.text._base import (
    STOPWORDS,
    TEXT_ATTACKS,
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
