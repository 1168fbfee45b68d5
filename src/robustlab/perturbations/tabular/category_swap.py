"""Swaps of categorical cells to other observed levels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.perturbations.base import register
from robustlab.perturbations.tabular._base import TabularPerturbation
from robustlab.seeding import Draws
from robustlab.validation import check_number


@register
@dataclass(frozen=True)
class CategorySwap(TabularPerturbation):
    """Each mutable categorical cell (and each one-hot group) is set to another of its levels
    with probability ``rate``; rows without categorical columns are left alone."""

    rate: float = 0.2
    name = "category_swap"
    description = "categorical cells swapped to another known level"
    partial = True

    def __post_init__(self) -> None:
        check_number("perturbation 'category_swap'", "rate", self.rate, high=1.0)

    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        for j, col in enumerate(schema.columns):
            if col.kind != "categorical" or col.immutable or len(col.levels) < 2:
                continue
            hit = rng.random(len(x)) < self.rate
            shift = rng.integers(1, len(col.levels), size=len(x))
            cur = np.nan_to_num(x[:, j], nan=0.0)
            x[hit, j] = (cur[hit] + shift[hit]) % len(col.levels)
        idx = schema.index
        for group in schema.one_hot:
            js = [idx[c] for c in group]
            if any(schema.columns[j].immutable for j in js):
                continue
            hit = rng.random(len(x)) < self.rate
            level = rng.integers(len(js), size=len(x))
            for i in np.flatnonzero(hit):
                x[i, js] = 0.0
                x[i, js[int(level[i])]] = 1.0
        return x
