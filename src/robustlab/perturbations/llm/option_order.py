"""Option permutations: the options shown in another order, the right answer moving with them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.llm.prompts import MCQuery
from robustlab.perturbations.base import register
from robustlab.perturbations.llm._base import PromptPerturbation


@register
@dataclass(frozen=True)
class OptionOrder(PromptPerturbation):
    """Options cyclically shifted by ``shift`` (``mode=cyclic``), reversed, or in a seeded random
    order (``mode=random``); the right option moves with them (Zheng et al., ICLR 2024)."""

    mode: str = "cyclic"
    shift: int = 1

    name = "option_order"
    description = "the options in another order (cyclic shift, reversal or random permutation)"
    size_unit = "share of options moved"

    def __post_init__(self) -> None:
        from robustlab.validation import check_choice, check_int

        check_choice(
            "perturbation 'option_order'", "mode", self.mode, ("cyclic", "reverse", "random")
        )
        check_int("perturbation 'option_order'", "shift", self.shift, 0)

    @property
    def variant(self) -> str:
        return f"cyclic={self.shift}" if self.mode == "cyclic" else f"options={self.mode}"

    def one(self, query: MCQuery, rng: np.random.Generator) -> tuple[MCQuery, float]:
        k = len(query.item.options)
        if self.mode == "cyclic":
            s = self.shift % k
            order = [(j + s) % k for j in range(k)]
        elif self.mode == "reverse":
            order = list(range(k))[::-1]
        else:
            order = rng.permutation(k).tolist()
        base = list(query.order) if query.order is not None else list(range(k))
        new = tuple(base[j] for j in order)
        moved = sum(a != b for a, b in zip(new, base)) / k
        return query.replace(order=None if list(new) == list(range(k)) else new), moved
