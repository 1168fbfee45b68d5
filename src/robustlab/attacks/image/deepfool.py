"""DeepFool: iterative linearisation towards the nearest decision boundary (L2, Linf)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_float, check_int
from robustlab.attacks.image._ops import batch_view

__all__ = ["DeepFool"]


@register_attack("deepfool")
@dataclass(frozen=True)
class DeepFool(ImageAttack):
    """At each step, linearises the logit differences to the ``candidates`` most likely other
    classes, moves to the closest linearised boundary, and stops per example once the label
    changes; the total step is scaled by ``1 + overshoot`` to cross the boundary. With a
    criterion other than plain misclassification (a target class, say) the one boundary it
    linearises is the criterion's margin, and it stops once the criterion counts a point broken.

    References:
        Moosavi-Dezfooli, Fawzi & Frossard, "DeepFool: a simple and accurate method to fool deep
        neural networks", CVPR 2016.

    Args:
        steps: Largest number of linearisation steps.
        overshoot: Relative overshoot past the boundary.
        candidates: Most likely other classes considered as boundaries.
    """

    norms: ClassVar[tuple[str, ...]] = ("l2", "linf")
    minimal: ClassVar[bool] = True
    quick_params: ClassVar[dict[str, Any]] = {"steps": 10, "candidates": 3}
    steps: int = 50
    overshoot: float = 0.02
    candidates: int = 10

    def _check(self, owner: str) -> None:
        check_int(owner, "steps", self.steps)
        check_float(owner, "overshoot", self.overshoot, low_inclusive=True)
        check_int(owner, "candidates", self.candidates)

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        plain = ctx.untargeted
        k = min(self.candidates, ctx.num_classes - 1) if plain else 1
        order = ctx.scores(inputs).argsort(dim=1, descending=True)
        others = order[order != targets[:, None]].view(len(inputs), -1)[:, :k]
        total = torch.zeros_like(inputs)
        adv = inputs.clone()
        active = torch.ones(len(inputs), dtype=torch.bool, device=inputs.device)
        for _ in range(self.steps):
            rows = active.nonzero().squeeze(1)
            if len(rows) == 0:
                break
            probe = adv[rows].clone().requires_grad_(True)
            with torch.enable_grad():
                logits = ctx.logits(probe)
                done = ctx.broken(logits, targets[rows])
                if plain:
                    true = logits.gather(1, targets[rows, None])
                    diffs = logits.gather(1, others[rows]) - true
                else:
                    diffs = -ctx.margin(logits, targets[rows])[:, None]
                grads = [
                    torch.autograd.grad(diffs[:, j].sum(), probe, retain_graph=j < k - 1)[0]
                    for j in range(k)
                ]
            active[rows[done]] = False
            w = torch.stack(grads, dim=1).flatten(2)
            f = diffs.detach()
            size = w.norm(dim=2) if ctx.norm == "l2" else w.abs().sum(dim=2)
            dist = f.abs() / size.clamp(min=1e-12)
            nearest = dist.argmin(dim=1)
            pick = torch.arange(len(rows), device=inputs.device)
            w_min, f_min, s_min = w[pick, nearest], f[pick, nearest], size[pick, nearest]
            if ctx.norm == "l2":
                step = (f_min.abs() + 1e-4)[:, None] / s_min.clamp(min=1e-12)[:, None] ** 2 * w_min
            else:
                step = (
                    (f_min.abs() + 1e-4)[:, None] / s_min.clamp(min=1e-12)[:, None] * w_min.sign()
                )
            step = step.view_as(probe) * batch_view((~done).to(probe.dtype), probe)
            total[rows] += step
            adv[rows] = ctx.clip(inputs[rows] + (1 + self.overshoot) * total[rows])
        return adv, None
