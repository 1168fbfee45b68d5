"""The base of prompt perturbations: a batch of MCQuery in, changed queries out."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.errors import DataError
from robustlab.llm.prompts import MCQuery
from robustlab.perturbations.base import Perturbation, Perturbed

__all__ = ["PromptPerturbation", "example_queries"]


@dataclass(frozen=True)
class PromptPerturbation(Perturbation[list[MCQuery]]):
    """A perturbation of multiple-choice queries; subclasses implement :meth:`one`.

    ``size`` is 1 for a changed query (a structural change: format, order, instruction) unless
    the subclass measures it (text transformations: the share of the question's words changed).
    """

    modality: ClassVar[str] = "llm"
    axis: ClassVar[str] = "llm"
    kind: ClassVar[str] = "prompt_perturbation"
    size_unit: ClassVar[str] = "1 per changed prompt"
    random: ClassVar[bool] = False

    @abstractmethod
    def one(self, query: MCQuery, rng: np.random.Generator) -> tuple[MCQuery, float]:
        """The changed query and its size."""

    @property
    def variant(self) -> str:
        """The ``variant`` label of the queries it makes."""
        return self.label

    def apply(self, inputs: list[MCQuery], seed: int = 0) -> Perturbed[list[MCQuery]]:
        out: list[MCQuery] = []
        size = np.zeros(len(inputs), dtype=np.float64)
        changed = np.zeros(len(inputs), dtype=bool)
        for i, q in enumerate(inputs):
            if not isinstance(q, MCQuery):
                raise DataError(
                    f"Perturbation {self.name!r} changes multiple-choice queries (MCQuery); input "
                    f"{i} is a {type(q).__name__}."
                )
            rng = np.random.default_rng([seed, i])
            new, s = self.one(q, rng)
            changed[i] = new.prompt().text != q.prompt().text or new.order != q.order
            out.append(new.replace(variant=self.variant) if changed[i] else q)
            size[i] = s if changed[i] else 0.0
        return Perturbed(out, size, None, changed)

    def __reduce__(self) -> tuple[Any, ...]:
        from robustlab.perturbations.base import by_name

        return by_name, (self.name, self.params)


def example_queries() -> list[MCQuery]:
    """A few queries with three shots and an instruction (contract tests and examples)."""
    from robustlab.llm.prompts import MCItem

    shots = (
        MCItem("Which of these is a color?", ("dog", "red", "saw", "pear"), 1),
        MCItem("Which of these is a tool?", ("axe", "cat", "blue", "lemon"), 0),
        MCItem("Which of these is an animal?", ("peach", "saw", "lion", "white"), 2),
    )
    items = [
        MCItem(
            "Which of these is a fruit? I do not know it.", ("cow", "drill", "apple", "green"), 2
        ),
        MCItem("Which of these is an animal?", ("horse", "grape", "rake", "black"), 0),
        MCItem("Which of these is a tool?", ("white", "mango", "tiger", "hammer"), 3),
    ]
    return [MCQuery(it, shots, "Choose the correct answer.") for it in items]
