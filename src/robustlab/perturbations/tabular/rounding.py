"""Rounding of numeric cells, and unit errors on a share of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.perturbations.base import register
from robustlab.perturbations.tabular._base import TabularPerturbation, numeric_mutable
from robustlab.seeding import Draws
from robustlab.validation import check_int, check_number


@register
@dataclass(frozen=True)
class Rounding(TabularPerturbation):
    """Numeric cells rounded to ``digits`` significant digits (coarse data entry)."""

    digits: int = 1
    name = "rounding"
    description = "numeric cells rounded to a few significant digits"
    random = False

    def __post_init__(self) -> None:
        check_int("perturbation 'rounding'", "digits", self.digits, 1)

    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        cols = numeric_mutable(schema)
        v = x[:, cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.where(v == 0, 0, np.floor(np.log10(np.abs(v))))
        step = 10.0 ** (mag - self.digits + 1)
        x[:, cols] = np.where(np.isfinite(v), np.round(v / step) * step, v)
        return x


@register
@dataclass(frozen=True)
class UnitError(TabularPerturbation):
    """A share ``rate`` of numeric cells recorded in the wrong unit: multiplied or divided by
    ``factor`` (cm for m, g for kg), then clipped to the column's valid range."""

    rate: float = 0.1
    factor: float = 10.0
    name = "unit_error"
    description = "numeric cells multiplied or divided by a unit factor"

    def __post_init__(self) -> None:
        check_number("perturbation 'unit_error'", "rate", self.rate, high=1.0)
        check_number("perturbation 'unit_error'", "factor", self.factor, low=1.0)

    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        cols = numeric_mutable(schema)
        hit = rng.random((len(x), len(cols))) < self.rate
        up = rng.random((len(x), len(cols))) < 0.5
        mult = np.where(up, self.factor, 1 / self.factor)
        x[:, cols] = np.where(hit, x[:, cols] * mult, x[:, cols])
        return x
