"""Gaussian noise per numeric column, scaled to the column's spread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.perturbations.base import register
from robustlab.perturbations.tabular._base import TabularPerturbation, numeric_mutable
from robustlab.seeding import Draws
from robustlab.validation import check_number


@register
@dataclass(frozen=True)
class ColumnNoise(TabularPerturbation):
    """Additive Gaussian noise of ``scale`` column standard deviations on every mutable numeric
    cell (Giskard-style numeric perturbation, here on all columns at once)."""

    scale: float = 0.1
    name = "column_noise"
    description = "Gaussian noise scaled to each numeric column's standard deviation"

    def __post_init__(self) -> None:
        check_number("perturbation 'column_noise'", "scale", self.scale)

    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        cols = numeric_mutable(schema)
        noise = rng.standard_normal((len(x), len(cols))) * self.scale
        x[:, cols] += noise * schema.scales[cols]
        return x
