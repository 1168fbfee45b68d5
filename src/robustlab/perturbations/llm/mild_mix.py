"""HELM's mild_mix-style combination of small, meaning-preserving text perturbations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.llm.prompts import MCQuery
from robustlab.perturbations.base import register
from robustlab.perturbations.llm._base import PromptPerturbation
from robustlab.perturbations.llm.prompt_text import transform_query

#: The steps of the mix and their rates (HELM's robustness perturbations, Liang et al. 2022,
#: combine lower-casing, contractions, extra whitespace and misspellings at low rates).
MIX: tuple[tuple[str, float], ...] = (
    ("contract", 1.0),
    ("casing", 0.1),
    ("whitespace", 0.1),
    ("typo_keyboard", 0.05),
)


@register
@dataclass(frozen=True)
class MildMix(PromptPerturbation):
    """HELM-style mild mix: contractions, casing, whitespace and typos together, at low rates
    (Liang et al., "Holistic Evaluation of Language Models", 2022)."""

    strength: float = 1.0
    part: str = "question"

    name = "mild_mix"
    description = "contractions, casing, whitespace and typo noise combined at low rates (HELM)"
    size_unit = "share of the question's words changed"
    random = True

    def __post_init__(self) -> None:
        from robustlab.validation import check_number

        check_number("perturbation 'mild_mix'", "strength", self.strength, high=10.0)

    @property
    def variant(self) -> str:
        return "mild_mix" if self.strength == 1.0 else f"mild_mix x{self.strength:g}"

    def one(self, query: MCQuery, rng: np.random.Generator) -> tuple[MCQuery, float]:
        from robustlab.text.artifacts import word_change_fraction

        new = query
        for name, rate in MIX:
            new = transform_query(new, (name,), min(1.0, rate * self.strength), self.part, rng)
        return new, word_change_fraction(query.item.question, new.item.question)
