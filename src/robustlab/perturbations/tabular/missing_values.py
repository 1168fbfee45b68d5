"""Missing cells, completely at random (MCAR) or depending on the value (MNAR), with an imputer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.perturbations.base import register
from robustlab.perturbations.tabular._base import TabularPerturbation
from robustlab.seeding import Draws
from robustlab.validation import check_choice, check_number

IMPUTERS = ("none", "mean", "median")


def _blank(x: np.ndarray, mask: np.ndarray, impute: str, schema: Any) -> np.ndarray:
    fill: Any = {"mean": np.nanmean, "median": np.nanmedian}.get(impute)
    orig = x.copy()
    x[mask] = np.nan
    if fill is None:
        return x
    for j, col in enumerate(schema.columns):
        if not mask[:, j].any():
            continue
        ref = orig[:, j]
        if col.kind == "categorical":  # the most frequent level
            vals, counts = np.unique(ref[~np.isnan(ref)], return_counts=True)
            value = vals[counts.argmax()] if len(vals) else 0.0
        else:
            value = fill(ref) if np.isfinite(ref).any() else 0.0
        x[mask[:, j], j] = value
    return x


@register
@dataclass(frozen=True)
class MissingMCAR(TabularPerturbation):
    """Each mutable cell goes missing with probability ``rate`` (Rubin's MCAR), then is left NaN
    (``impute='none'``, for models that take missing values) or imputed by the batch's column
    mean / median (the most frequent level for categoricals)."""

    rate: float = 0.1
    impute: str = "mean"
    name = "missing_mcar"
    description = "cells missing completely at random, then imputed"

    def __post_init__(self) -> None:
        check_number("perturbation 'missing_mcar'", "rate", self.rate, high=1.0)
        check_choice("perturbation 'missing_mcar'", "impute", self.impute, IMPUTERS)

    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        mask = (rng.random(x.shape) < self.rate) & schema.mutable[None, :]
        return _blank(x, mask, self.impute, schema)


@register
@dataclass(frozen=True)
class MissingMNAR(TabularPerturbation):
    """Cells go missing more often the larger they are (missing not at random): a numeric cell's
    probability is ``2 * rate`` times its within-column rank, so high values vanish first."""

    rate: float = 0.1
    impute: str = "mean"
    name = "missing_mnar"
    description = "large numeric values missing more often, then imputed"

    def __post_init__(self) -> None:
        check_number("perturbation 'missing_mnar'", "rate", self.rate, high=0.5)
        check_choice("perturbation 'missing_mnar'", "impute", self.impute, IMPUTERS)

    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        rank = np.argsort(np.argsort(x, axis=0), axis=0) / max(len(x) - 1, 1)
        cols = schema.numeric & schema.mutable
        mask = (rng.random(x.shape) < 2 * self.rate * rank) & cols[None, :]
        return _blank(x, mask, self.impute, schema)
