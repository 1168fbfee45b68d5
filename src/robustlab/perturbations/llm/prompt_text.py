"""A registered text transformation applied to the question (and optionally the options)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from robustlab.errors import ConfigError
from robustlab.llm.prompts import MCItem, MCQuery
from robustlab.perturbations.base import register
from robustlab.perturbations.llm._base import PromptPerturbation

PARTS = ("question", "options", "question+options", "instruction")


def transform(text: str, names: tuple[str, ...], rate: float, rng: random.Random) -> str:
    """``text`` through the text transformations ``names`` in turn."""
    from robustlab.perturbations.text import TRANSFORMATIONS

    for name in names:
        text = TRANSFORMATIONS.get(name)(text, rate, rng).text
    return text


def transform_query(
    q: MCQuery, names: tuple[str, ...], rate: float, part: str, rng: np.random.Generator
) -> MCQuery:
    r = random.Random(int(rng.integers(1 << 62)))
    item = q.item
    question, options = item.question, item.options
    if "question" in part:
        question = transform(question, names, rate, r)
    if "options" in part:
        new = tuple(transform(o, names, rate, r) for o in options)
        if len(set(new)) == len(new) and all(o.strip() for o in new):
            options = new
    instruction = (
        transform(q.instruction, names, rate, r) if part == "instruction" else q.instruction
    )
    if not question.strip():
        question = item.question
    return q.replace(
        item=MCItem(question, options, item.answer, item.subject), instruction=instruction
    )


@register
@dataclass(frozen=True)
class PromptText(PromptPerturbation):
    """The existing text perturbations (typos, casing, ...) on a part of the prompt."""

    transformation: str = "typo_keyboard"
    rate: float = 0.2
    part: str = "question"

    name = "prompt_text"
    description = "a text transformation of the question (or options, or instruction)"
    size_unit = "share of the question's words changed"
    random = True

    def __post_init__(self) -> None:
        from robustlab.perturbations.text import TRANSFORMATIONS
        from robustlab.perturbations.text._base import check_rate

        if self.transformation not in TRANSFORMATIONS:
            raise ConfigError(TRANSFORMATIONS.unknown_message(self.transformation))
        if not TRANSFORMATIONS.get(self.transformation).preserves_label:
            raise ConfigError(
                f"{self.transformation!r} changes the meaning; prompt perturbations must keep it."
            )
        check_rate(f"perturbation {self.name!r}", self.rate)
        if self.part not in PARTS:
            raise ConfigError(
                f"The 'part' of {self.name!r} must be one of {list(PARTS)}; got {self.part!r}."
            )

    @property
    def variant(self) -> str:
        return f"{self.transformation} {self.rate:g}"

    def one(self, query: MCQuery, rng: np.random.Generator) -> tuple[MCQuery, float]:
        from robustlab.text.artifacts import word_change_fraction

        new = transform_query(query, (self.transformation,), self.rate, self.part, rng)
        return new, word_change_fraction(query.item.question, new.item.question)
