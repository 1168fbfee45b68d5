"""Standard training: the recipe's loss on the clean batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from robustlab.training._base import Recipe, Step
from robustlab.training._registry import register_recipe

__all__ = ["Standard"]


@register_recipe("standard")
@dataclass(frozen=True)
class Standard(Recipe):
    """Empirical risk minimisation with ``loss`` (``ce``, or ``gce`` / ``sce`` / ``elr`` for noisy
    labels)."""

    def objective(self, step: Step) -> torch.Tensor:
        return self.per_example_loss(step.forward(step.inputs), step).mean()
