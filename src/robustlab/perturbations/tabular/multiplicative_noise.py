"""Multiplicative noise per numeric column."""

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
class MultiplicativeNoise(TabularPerturbation):
    """Each mutable numeric cell times ``1 + scale * N(0, 1)``: relative measurement error."""

    scale: float = 0.05
    name = "multiplicative_noise"
    description = "cells multiplied by 1 + scale * standard normal noise"

    def __post_init__(self) -> None:
        check_number("perturbation 'multiplicative_noise'", "scale", self.scale)

    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        cols = numeric_mutable(schema)
        x[:, cols] *= 1 + self.scale * rng.standard_normal((len(x), len(cols)))
        return x
