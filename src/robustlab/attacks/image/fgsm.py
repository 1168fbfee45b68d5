"""Fast Gradient Sign Method: one steepest-ascent step of size epsilon on the cross-entropy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_float
from robustlab.attacks.image._losses import ce_loss
from robustlab.attacks.image._ops import NORMS, ascent_direction

__all__ = ["FGSM"]


@register_attack("fgsm")
@dataclass(frozen=True)
class FGSM(ImageAttack):
    """One gradient step of length ``epsilon``: the sign of the gradient for Linf, the normalised
    gradient for L2 and the largest gradient coordinates for L1. It ascends the cross-entropy for
    plain misclassification and the criterion's negative margin for other goals.

    References:
        Goodfellow, Shlens & Szegedy, "Explaining and harnessing adversarial examples", ICLR 2015.

    Args:
        l1_fraction: For L1, the fraction of coordinates (largest gradient) the step spreads over.
    """

    norms: ClassVar[tuple[str, ...]] = NORMS
    l1_fraction: float = 0.01

    def _check(self, owner: str) -> None:
        check_float(owner, "l1_fraction", self.l1_fraction, high=1.0)

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        assert ctx.epsilon is not None
        x = inputs.clone().requires_grad_(True)
        with torch.enable_grad():
            logits = ctx.logits(x)
            if ctx.untargeted:
                loss = ce_loss(logits, targets).sum()
            else:
                loss = -ctx.margin(logits, targets).sum()
            (grad,) = torch.autograd.grad(loss, x)
        step = ascent_direction(
            grad, ctx.norm, x=inputs, bounds=ctx.bounds, l1_fraction=self.l1_fraction
        )
        return ctx.clip(inputs + ctx.epsilon * step), None
