"""PGD adversarial training: minimise the loss at the PGD-maximised point of the budget."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from robustlab.training._base import Step, check_steps
from robustlab.training._inner import maximise
from robustlab.training._registry import register_recipe
from robustlab.training.recipes._adversarial import AdversarialRecipe
from robustlab.validation import check_number

__all__ = ["PGDAT"]


@register_recipe("pgd_at")
@dataclass(frozen=True)
class PGDAT(AdversarialRecipe):
    """Madry et al.'s min-max training: inputs replaced by ``steps``-step PGD with a random start.

    References:
        Madry et al., "Towards deep learning models resistant to adversarial attacks", ICLR 2018.

    Args:
        steps: PGD steps per batch.
        step_size: Step length; ``None`` means ``2.5 * epsilon / steps``.
        clean_weight: Weight of the clean loss mixed in (0: adversarial only).
    """

    steps: int = 7
    step_size: float | None = None
    clean_weight: float = 0.0

    def _check_more(self, owner: str) -> None:
        check_steps(owner, "steps", self.steps)
        check_number(owner, "step_size", self.step_size, optional=True)
        check_number(owner, "clean_weight", self.clean_weight, low_inclusive=True, high=1.0)

    def objective(self, step: Step) -> torch.Tensor:
        eps = self.budget(step)
        size = self.step_size if self.step_size is not None else 2.5 * eps / self.steps
        y = step.targets
        adv = maximise(
            lambda a: F.cross_entropy(step.eval_forward(a), y, reduction="sum"),
            step.inputs,
            norm=self.norm,
            epsilon=eps,
            steps=self.steps,
            step_size=size,
            bounds=step.bounds,
            generator=step.generator,
        )
        robust = self.per_example_loss(step.forward(adv), step).mean()
        if self.clean_weight == 0:
            return robust
        clean = self.per_example_loss(step.forward(step.inputs), step).mean()
        return (1 - self.clean_weight) * robust + self.clean_weight * clean
