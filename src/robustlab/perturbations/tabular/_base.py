"""The shared frame of tabular perturbations: schema lookup, repair and per-row size."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from robustlab.perturbations.base import Perturbation, Perturbed
from robustlab.seeding import Draws, ExampleSeeds, as_seeds

__all__ = ["TabularPerturbation"]


@dataclass(frozen=True)
class TabularPerturbation(Perturbation[Any]):
    """A perturbation of encoded table rows that keeps them valid under the schema.

    :meth:`apply` takes a float tensor or array (N, D) and an optional schema; it perturbs only
    mutable columns, repairs the result (ranges, integers, levels, one-hot groups, relations)
    and measures each row's change as the L2 distance in column standard deviations.
    """

    modality: ClassVar[str] = "tabular"
    axis: ClassVar[str] = "tabular"
    kind: ClassVar[str] = "tabular_perturbation"
    size_unit: ClassVar[str] = "L2 distance in column standard deviations"
    example_seeds: ClassVar[bool] = True

    def apply(
        self, inputs: Any, seed: int | ExampleSeeds = 0, schema: Any = None
    ) -> Perturbed[Any]:
        from robustlab.tabular.schema import Schema

        is_tensor = torch.is_tensor(inputs)
        x = np.asarray(inputs.detach().cpu() if is_tensor else inputs, dtype=np.float64)
        if schema is None:
            schema = Schema.infer(x) if len(x) else None
        if len(x) == 0 or schema is None:
            out = x.copy()
        else:
            # one counter-based stream per row, keyed by its example id in a scan
            rng = as_seeds(f"perturbation {self.name!r}", seed, len(x)).draws()
            raw = self._perturb(x.copy(), rng, schema)
            out = schema.repair(raw, original=x)
            keep_nan = np.isnan(raw)
            out[keep_nan] = np.nan
        same = (out == x) | (np.isnan(out) & np.isnan(x))
        changed = ~same.all(axis=1) if len(x) else np.zeros(0, dtype=bool)
        scales = schema.scales if schema is not None else np.ones(x.shape[1] if x.ndim == 2 else 0)
        diff = np.where(same, 0.0, np.nan_to_num(out - x, nan=1.0) / scales)
        size = np.sqrt((diff**2).sum(axis=1)).astype(np.float64) if len(x) else np.zeros(0)
        result: Any = out
        if is_tensor:
            result = torch.as_tensor(out, dtype=inputs.dtype, device=inputs.device)
        return Perturbed(result, size, None, changed)

    @abstractmethod
    def _perturb(self, x: np.ndarray, rng: Draws, schema: Any) -> np.ndarray:
        """The raw perturbed rows (repaired afterwards); may modify ``x`` in place. ``rng``
        draws per row (``random``, ``standard_normal``, ``integers`` as numpy's generator, with
        the rows as the first dimension), so a row's perturbation depends on its seed only."""


def numeric_mutable(schema: Any) -> np.ndarray:
    """Indices of numeric, mutable columns outside one-hot groups."""
    return np.flatnonzero(schema.numeric & schema.mutable)
