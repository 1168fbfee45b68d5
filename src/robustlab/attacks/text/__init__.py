"""Black-box text attacks with counted queries and a hard per-text budget.

``run(model, texts, targets, attack="deepwordbug", budget=500, seed=0)`` attacks each text
through a query counter; attacks register in :data:`robustlab.attacks.ATTACKS` with
``@register_attack``, one file each, like the image attacks.
"""

from robustlab.attacks.text._base import (
    STOPWORDS,
    TEXT,  # noqa: F401  (what the deprecated TEXT_ATTACKS name returns)
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


from robustlab.attacks.text._base import __getattr__  # noqa: E402, F401  (deprecated TEXT_ATTACKS)
