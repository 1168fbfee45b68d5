"""Shared fields of the recipes that train on perturbed inputs: budget, norm and warm-up."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.training._base import Recipe, Step, check_norm
from robustlab.validation import check_number

__all__ = ["AdversarialRecipe"]


@dataclass(frozen=True)
class AdversarialRecipe(Recipe):
    """A recipe with a perturbation budget ``epsilon`` in ``norm``.

    Args:
        epsilon: Budget in raw input units (e.g. 8/255 for images in [0, 1]).
        norm: ``linf`` or ``l2``.
        warmup: Fraction of training over which epsilon grows linearly from 0 (0: none).
    """

    adversarial = True
    epsilon: float = 0.1
    norm: str = "linf"
    warmup: float = 0.0

    def _check(self, owner: str) -> None:
        check_number(owner, "epsilon", self.epsilon)
        check_norm(owner, self.norm)
        check_number(
            owner, "warmup", self.warmup, low_inclusive=True, high=1.0, high_inclusive=False
        )
        self._check_more(owner)

    def _check_more(self, owner: str) -> None:
        return None  # subclasses validate their own fields

    def budget(self, step: Step) -> float:
        """Epsilon at this step of the warm-up schedule."""
        if self.warmup <= 0 or step.progress >= self.warmup:
            return self.epsilon
        return self.epsilon * max(step.progress / self.warmup, 1e-3)
