"""Projected Gradient Descent with random start for Linf, L2 and (sparse steps) L1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_choice, check_float, check_int
from robustlab.attacks.image._losses import per_example_loss
from robustlab.attacks.image._ops import NORMS, ascent_direction

__all__ = ["PGD"]


@register_attack("pgd")
@dataclass(frozen=True)
class PGD(ImageAttack):
    """Iterated gradient ascent on the loss, projected back onto the epsilon ball and the bounds.

    Any iterate the criterion counts as broken is kept, so a point counts as broken if any step
    broke it. L1 steps move only the largest ``l1_fraction`` of gradient coordinates (sparse L1
    descent). With a criterion other than plain misclassification (a target class, say) the loss
    ascended is the criterion's negative margin instead of ``loss``.

    References:
        Madry et al., "Towards deep learning models resistant to adversarial attacks", ICLR 2018;
        Tramèr & Boneh, "Adversarial training and robustness for multiple perturbations",
        NeurIPS 2019 (sparse L1 steps).

    Args:
        steps: Gradient steps per restart.
        step_size: Absolute step length; ``None`` means ``2.5 * epsilon / steps``.
        restarts: Independent random starts (later ones only on points not yet broken).
        random_start: Start from a uniformly random point of the ball instead of the input.
        loss: ``ce`` (cross-entropy) or ``dlr`` (difference of logits ratio), for plain
            misclassification.
        l1_fraction: For L1, the fraction of coordinates each step moves.
    """

    norms: ClassVar[tuple[str, ...]] = NORMS
    quick_params: ClassVar[dict[str, Any]] = {"steps": 10}
    steps: int = 40
    step_size: float | None = None
    restarts: int = 1
    random_start: bool = True
    loss: str = "ce"
    l1_fraction: float = 0.05

    def _check(self, owner: str) -> None:
        check_int(owner, "steps", self.steps)
        check_float(owner, "step_size", self.step_size, optional=True)
        check_int(owner, "restarts", self.restarts)
        check_choice(owner, "loss", self.loss, ("ce", "dlr"))
        check_float(owner, "l1_fraction", self.l1_fraction, high=1.0)

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        eps = ctx.epsilon
        assert eps is not None
        threat = ctx.threat
        step = self.step_size if self.step_size is not None else 2.5 * eps / self.steps
        best = inputs.clone()
        found = torch.zeros(len(inputs), dtype=torch.bool, device=inputs.device)
        for _ in range(self.restarts):
            todo = (~found).nonzero().squeeze(1)
            if len(todo) == 0:
                break
            x, y = inputs[todo], targets[todo]
            start = threat.random(x, ctx.random_for(todo)) if self.random_start else 0.0
            adv = ctx.clip(x + start)
            if ctx.norm == "linf":
                # The Linf ball and the bounds intersect in a box: projecting is two elementwise ops.
                low, high = threat.box(x, ctx.bounds)
            for i in range(self.steps + 1):
                if i == self.steps:
                    logits, grad = ctx.scores(adv), None
                else:
                    probe = adv.requires_grad_(True)
                    with torch.enable_grad():
                        logits = ctx.logits(probe)
                        if ctx.untargeted:
                            loss = per_example_loss(self.loss, logits, y).sum()
                        else:
                            loss = -ctx.margin(logits, y).sum()
                        (grad,) = torch.autograd.grad(loss, probe)
                    adv, logits = adv.detach(), logits.detach()
                hit = ctx.broken(logits, y) & ~found[todo]
                if bool(hit.any()):
                    best[todo[hit]] = adv[hit]
                    found[todo[hit]] = True
                if grad is None:
                    break
                if ctx.norm == "linf":
                    adv = torch.maximum(torch.minimum(adv + step * grad.sign(), high), low)
                else:
                    direction = ascent_direction(
                        grad, ctx.norm, x=adv, bounds=ctx.bounds, l1_fraction=self.l1_fraction
                    )
                    adv = ctx.project(adv + step * direction, x)
        return best, None
