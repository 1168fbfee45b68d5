"""Prompt-format variations: separators, casing, spacing, field names, option labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.llm.prompts import MCQuery, format_of
from robustlab.perturbations.base import register
from robustlab.perturbations.llm._base import PromptPerturbation


@register
@dataclass(frozen=True)
class PromptFormatChange(PromptPerturbation):
    """The prompt laid out in another built-in format (Sclar et al., ICLR 2024: spurious
    features of prompt design move accuracy by tens of points)."""

    format: str = "digit_labels"

    name = "prompt_format"
    description = "the prompt in another format (separators, casing, spacing, fields, labels)"

    def __post_init__(self) -> None:
        format_of(self.format)  # refuses an unknown name, listing the built-in formats

    @property
    def variant(self) -> str:
        return f"format={self.format}"

    def one(self, query: MCQuery, rng: np.random.Generator) -> tuple[MCQuery, float]:
        return query.replace(format=format_of(self.format)), 1.0
