"""Drift of one column's distribution: a shift and a rescale around its mean."""

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
class FeatureDrift(TabularPerturbation):
    """Covariate shift of one numeric column (``column``, or each mutable numeric column when
    empty): moved by ``shift`` standard deviations and rescaled by ``scale`` around its mean."""

    shift: float = 0.5
    scale: float = 1.0
    column: str = ""
    name = "feature_drift"
    description = "one column's distribution shifted and rescaled"
    random = False

    def __post_init__(self) -> None:
        check_number("perturbation 'feature_drift'", "scale", self.scale)
        check_number("perturbation 'feature_drift'", "shift", self.shift, low=-1e9)

    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        if self.column:
            cols = np.array([schema.index[schema.column(self.column).name]])
        else:
            cols = numeric_mutable(schema)
        for j in cols:
            mean = np.nanmean(x[:, j]) if np.isfinite(x[:, j]).any() else 0.0
            x[:, j] = mean + (x[:, j] - mean) * self.scale + self.shift * schema.scales[j]
        return x
