"""Instruction paraphrases: the instruction line replaced by an equivalent one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.errors import ConfigError
from robustlab.llm.prompts import BUILTIN_INSTRUCTIONS, MCQuery
from robustlab.perturbations.base import register
from robustlab.perturbations.llm._base import PromptPerturbation


@register
@dataclass(frozen=True)
class Instruction(PromptPerturbation):
    """The instruction replaced by a paraphrase: a user template (``{subject}`` is the item's
    subject) or built-in paraphrase number ``index`` (Sun et al., ICLR 2024)."""

    template: str = ""
    index: int = 1

    name = "instruction"
    description = "the instruction replaced by an equivalent paraphrase"

    def __post_init__(self) -> None:
        if not self.template and not 0 <= self.index < len(BUILTIN_INSTRUCTIONS):
            raise ConfigError(
                f"The 'index' of perturbation 'instruction' must be in 0..{len(BUILTIN_INSTRUCTIONS) - 1} "
                f"(the built-in paraphrases) or a template given; got {self.index!r}."
            )

    @property
    def text(self) -> str:
        return self.template or BUILTIN_INSTRUCTIONS[self.index]

    @property
    def variant(self) -> str:
        return f"instruction={self.text}"

    def one(self, query: MCQuery, rng: np.random.Generator) -> tuple[MCQuery, float]:
        return query.replace(instruction=self.text), 1.0
