"""Few-shot example order: the same examples shown in another order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.llm.prompts import MCQuery
from robustlab.perturbations.base import register
from robustlab.perturbations.llm._base import PromptPerturbation


@register
@dataclass(frozen=True)
class ShotOrder(PromptPerturbation):
    """The few-shot examples reversed (``mode=reverse``) or in a seeded random order
    (``mode=shuffle``; Lu et al., ACL 2022: example order alone swings accuracy)."""

    mode: str = "shuffle"

    name = "shot_order"
    description = "the few-shot examples in another order"
    size_unit = "share of examples moved"
    random = True

    def __post_init__(self) -> None:
        from robustlab.validation import check_choice

        check_choice("perturbation 'shot_order'", "mode", self.mode, ("shuffle", "reverse"))

    @property
    def variant(self) -> str:
        return f"shots={self.mode}"

    def one(self, query: MCQuery, rng: np.random.Generator) -> tuple[MCQuery, float]:
        k = len(query.shots)
        if k < 2:
            return query, 0.0
        if self.mode == "reverse":
            order = list(range(k))[::-1]
        else:
            order = rng.permutation(k).tolist()
            if order == list(range(k)):
                order = order[1:] + order[:1]
        moved = sum(a != b for a, b in zip(order, range(k))) / k
        return query.replace(shots=tuple(query.shots[j] for j in order)), moved
