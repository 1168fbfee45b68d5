"""FMN: fast minimum-norm attack with an adaptive norm constraint (L0, L1, L2, Linf)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_float, check_int
from robustlab.attacks.image._ops import ALL_NORMS, batch_view, lp_norm, project_ball

__all__ = ["FMN"]

#: The dual norm of each norm: a linearised boundary distance is ``|margin| / ||grad||_dual``.
_DUAL = {"linf": 1.0, "l2": 2.0, "l1": math.inf}


def _cosine(start: float, end: float, step: int, steps: int) -> float:
    """Cosine annealing from ``start`` (step 0) to ``end`` (last step)."""
    return end + (start - end) * (1 + math.cos(math.pi * step / steps)) / 2


@register_attack("fmn")
@dataclass(frozen=True)
class FMN(ImageAttack):
    """Fast minimum-norm attack: gradient steps on the margin inside an Lp ball whose radius
    adapts per example, shrinking by ``gamma`` while the iterate is adversarial (never above
    the smallest adversarial norm found) and growing otherwise (before the first success to
    the linearised distance to the boundary); step size and ``gamma`` anneal with a cosine
    schedule. The smallest adversarial iterate is returned. ``l0`` counts changed input
    elements and moves its radius by whole elements. Given an ``epsilon`` the radius never
    exceeds it. With a criterion other than plain misclassification it descends that
    criterion's margin.

    References:
        Pintor, Roli, Brendel & Biggio, "Fast minimum-norm adversarial attacks through adaptive
        norm constraints", NeurIPS 2021.

    Args:
        steps: Gradient steps.
        alpha_init: First step length (L2 length of the step, as a fraction of the input range).
        alpha_final: Last step length; ``None`` is ``alpha_init / 100`` (``alpha_init`` for L0).
        gamma_init: First relative change of the radius per step.
        gamma_final: Last relative change of the radius per step.
        binary_search_steps: Steps of a final binary search over the radius of the best
            perturbation's projection (smallest radius still adversarial); 0 for none.
    """

    norms: ClassVar[tuple[str, ...]] = ALL_NORMS
    minimal: ClassVar[bool] = True
    quick_params: ClassVar[dict[str, Any]] = {"steps": 20}
    steps: int = 100
    alpha_init: float = 1.0
    alpha_final: float | None = None
    gamma_init: float = 0.05
    gamma_final: float = 0.001
    binary_search_steps: int = 10

    def _check(self, owner: str) -> None:
        check_int(owner, "steps", self.steps)
        check_float(owner, "alpha_init", self.alpha_init)
        check_float(owner, "alpha_final", self.alpha_final, optional=True)
        check_float(owner, "gamma_init", self.gamma_init, high=1.0)
        check_float(owner, "gamma_final", self.gamma_final, high=1.0)
        check_int(owner, "binary_search_steps", self.binary_search_steps, minimum=0)

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        norm = ctx.norm
        low, high = ctx.bounds
        span = high - low
        n = len(inputs)
        dev = inputs.device
        # The farthest point of the box from each input: no adversarial needs a larger radius.
        far = torch.maximum(inputs - low, high - inputs)
        worst = lp_norm(far, norm) if norm != "l0" else torch.full((n,), float(far[0].numel()))
        if ctx.epsilon is not None:
            worst = worst.clamp(max=ctx.epsilon)
        worst = worst.to(dev)
        epsilon = worst.clone() if norm == "l0" else torch.zeros(n, device=dev)
        best = inputs.clone()
        best_norm = torch.full((n,), math.inf, device=dev)
        found = torch.zeros(n, dtype=torch.bool, device=dev)
        delta = torch.zeros_like(inputs)
        a_final = self.alpha_final
        if a_final is None:
            a_final = self.alpha_init if norm == "l0" else self.alpha_init / 100
        for k in range(self.steps):
            probe = delta.detach().requires_grad_(True)
            with torch.enable_grad():
                logits = ctx.logits(inputs + probe)
                margin = ctx.margin(logits, targets)
                (grad,) = torch.autograd.grad(-margin.sum(), probe)
            margin = margin.detach()
            # Coordinates pinned at a bound that the step would push past cannot move: leave them
            # out of the direction and of the boundary-distance estimate (not for L0, whose
            # projection ranks coordinates by the accumulated step, blocked ones included; masking
            # them there made the counts larger in our tests).
            if norm != "l0":
                cur = inputs + delta
                blocked = ((cur <= low) & (grad < 0)) | ((cur >= high) & (grad > 0))
                grad = grad.masked_fill(blocked, 0.0)
            adversarial = ctx.broken(logits.detach(), targets)
            size = lp_norm(delta, norm)
            better = adversarial & (size < best_norm)
            best = torch.where(batch_view(better, inputs), inputs + delta, best)
            best_norm = torch.where(better, size, best_norm)
            found |= adversarial
            gamma = _cosine(self.gamma_init, self.gamma_final, k, self.steps)
            if norm == "l0":
                shrink = torch.minimum(epsilon - 1, (epsilon * (1 - gamma)).floor())
                grow = torch.maximum(epsilon + 1, (epsilon * (1 + gamma)).floor())
                epsilon = torch.where(adversarial, torch.minimum(shrink, best_norm), grow)
                epsilon = epsilon.clamp(min=0)
            else:
                dual = grad.flatten(1).norm(p=_DUAL[norm], dim=1).clamp(min=1e-12)
                boundary = size + margin.abs() / dual
                # Before the first success grow at least by gamma: the linear estimate undershoots
                # where the box stops the step.
                grown = torch.where(
                    found, epsilon * (1 + gamma), boundary.maximum(epsilon * (1 + gamma))
                )
                epsilon = torch.where(
                    adversarial, torch.minimum(epsilon * (1 - gamma), best_norm), grown
                )
            epsilon = torch.minimum(epsilon, worst)
            alpha = _cosine(self.alpha_init, a_final, k, self.steps) * span
            unit = grad / batch_view(grad.flatten(1).norm(dim=1).clamp(min=1e-12), grad)
            delta = project_ball(delta + alpha * unit, norm, epsilon)
            delta = (inputs + delta).clamp(low, high) - inputs
        # The last iterate may be the first adversarial one.
        with torch.no_grad():
            adversarial = ctx.broken(ctx.scores(inputs + delta), targets)
        size = lp_norm(delta, norm)
        better = adversarial & (size < best_norm)
        best = torch.where(batch_view(better, inputs), inputs + delta, best)
        best_norm = torch.where(better, size, best_norm)
        return self._shrink(ctx, inputs, targets, best, best_norm), None

    def _shrink(
        self,
        ctx: Context,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        best: torch.Tensor,
        best_norm: torch.Tensor,
    ) -> torch.Tensor:
        """Binary search per example over the radius ``r`` of the projection of the best
        perturbation onto the ``r`` ball: the smallest ``r`` still adversarial is kept."""
        rows = torch.isfinite(best_norm).nonzero().squeeze(1)
        if not len(rows) or self.binary_search_steps == 0:
            return best
        norm, (low, high) = ctx.norm, ctx.bounds
        x, delta = inputs[rows], best[rows] - inputs[rows]
        lo = torch.zeros(len(rows), device=x.device)
        hi = best_norm[rows].clone()
        for _ in range(self.binary_search_steps):
            mid = (lo + hi) / 2
            if norm == "l0":
                mid = mid.floor()
            trial = (x + project_ball(delta, norm, mid)).clamp(low, high)
            with torch.no_grad():
                ok = ctx.broken(ctx.scores(trial), targets[rows])
            hi = torch.where(ok, mid, hi)
            lo = torch.where(ok, lo, mid)
            if norm == "l0":  # whole elements: stop once the interval is one element wide
                lo = torch.where(hi - lo <= 1, hi, lo)
        final = (x + project_ball(delta, norm, hi)).clamp(low, high)
        with torch.no_grad():
            ok = ctx.broken(ctx.scores(final), targets[rows])
        out = best.clone()
        out[rows[ok]] = final[ok]
        return out
