"""Black-box document attacks on rankers (Wu et al.'s task 3b): demote a relevant document or
promote an irrelevant one within a per-document query budget, through ``Ranker.score`` only.

``attack_documents(ranker, collection, queries, "word_substitution", budget=100)`` attacks the
documents; attacks register in :data:`robustlab.attacks.ATTACKS` with ``@register_attack`` (one
file each, modality ``ranking``): ``word_substitution`` (PRADA-like), ``trigger_insertion``,
``genetic_typo_document`` (GARAG-like) and the ``random_substitution`` baseline.
"""

from robustlab.ranking.attacks._base import (
    DIRECTIONS,
    BudgetExhausted,
    DocumentAttack,
    DocumentOracle,
    diff_edits,
    rank_of,
)
from robustlab.ranking.attacks._result import DocumentAdversarial, DocumentAttackResult
from robustlab.ranking.attacks._run import (
    attack_documents,
    build_document_attack,
    candidates,
    document_similarity,
)
from robustlab.registry import import_submodules

import_submodules(__name__)

__all__ = [
    "DIRECTIONS",
    "BudgetExhausted",
    "DocumentAdversarial",
    "DocumentAttack",
    "DocumentAttackResult",
    "DocumentOracle",
    "attack_documents",
    "build_document_attack",
    "candidates",
    "diff_edits",
    "document_attacks",
    "document_similarity",
    "rank_of",
]


def document_attacks() -> list[str]:
    """Names of the registered document attacks."""
    from robustlab.attacks._registry import attacks_for

    return [n for n, _ in attacks_for("ranking")]
