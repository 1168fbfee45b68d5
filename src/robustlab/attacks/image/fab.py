"""FAB-T: targeted Fast Adaptive Boundary attack, a minimal-norm attack for Linf, L2 and L1."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_float, check_int
from robustlab.attacks.image._ops import NORMS, batch_view, lp_norm
from robustlab.attacks.image.apgd import target_ranking

__all__ = ["FAB", "min_norm_to_hyperplane"]


def min_norm_to_hyperplane(
    points: torch.Tensor,
    w: torch.Tensor,
    c: torch.Tensor,
    bounds: tuple[float, float],
    norm: str,
) -> torch.Tensor:
    """Smallest ``delta`` (in ``norm``) with ``w . delta = c`` and ``points + delta`` in bounds.

    Rows are flattened ``(N, D)``. When the box makes the hyperplane unreachable, the step that
    gets closest is returned. Each coordinate moves towards the hyperplane up to its box limit
    ``cap``; the reached value ``w . delta(t)`` is piecewise linear and non-decreasing in the step
    scale ``t``, so one sort of the breakpoints gives the exact solution (for L1 the greedy fill
    in order of ``|w|`` is exact).
    """
    sign = torch.where(c < 0, -1.0, 1.0).to(w)
    ws = w * sign[:, None]
    need = c.abs()
    cap = torch.where(ws > 0, bounds[1] - points, points - bounds[0]).clamp(min=0)
    weight = ws.abs()
    if norm == "l1":
        gain = weight * cap
        order = weight.argsort(dim=1, descending=True)
        gain_sorted = gain.gather(1, order)
        before = gain_sorted.cumsum(dim=1) - gain_sorted
        remaining = (need[:, None] - before).clamp(min=0)
        amount = torch.minimum(
            cap.gather(1, order), remaining / weight.gather(1, order).clamp(min=1e-12)
        )
        magnitude = torch.zeros_like(points).scatter(1, order, amount)
    else:
        # Coordinate i moves min(t * scale_i, cap_i): saturates at breakpoint cap_i / scale_i,
        # contributing weight_i * cap_i from then on and slope weight_i * scale_i before.
        scale = torch.ones_like(weight) if norm == "linf" else weight
        moving = scale > 0
        brk = torch.where(moving, cap / scale.clamp(min=1e-30), torch.full_like(cap, math.inf))
        saturated = torch.where(moving, weight * cap, torch.zeros_like(cap))
        slope = weight * scale
        brk_sorted, order = brk.sort(dim=1)
        sat_sorted, slope_sorted = saturated.gather(1, order), slope.gather(1, order)
        sat_before = sat_sorted.cumsum(dim=1) - sat_sorted
        slope_from = slope_sorted.flip(1).cumsum(dim=1).flip(1)
        reached = sat_before + torch.nan_to_num(brk_sorted, posinf=0.0) * slope_from
        reached = torch.where(torch.isfinite(brk_sorted), reached, sat_before)
        k = (reached < need[:, None]).sum(dim=1, keepdim=True)
        d = points.shape[1]
        last_brk = torch.nan_to_num(brk_sorted, posinf=0.0).amax(dim=1, keepdim=True)
        k_c = k.clamp(max=d - 1)
        t = (need[:, None] - sat_before.gather(1, k_c)) / slope_from.gather(1, k_c).clamp(min=1e-30)
        t = torch.where(k >= d, last_brk, t)
        magnitude = torch.minimum(t * scale, cap)
    return magnitude * ws.sign()


# Fuse the success check into the next gradient pass while at most this share of points was
# adversarial at the previous step (a forward pass costs roughly a third of forward+backward).
_FUSE_BELOW = 0.3


@register_attack("fab")
@dataclass(frozen=True)
class FAB(ImageAttack):
    """Targeted FAB (FAB-T): repeatedly projects onto the linearised decision boundary between the
    true and a target class, biased towards the original input, with an extrapolation step and a
    step back towards the input whenever the iterate is adversarial. It returns the smallest
    adversarial perturbation found over the ``n_target_classes`` runner-up classes; with an
    ``epsilon`` later target classes run only on points not yet broken within it. With a
    criterion other than plain misclassification (a target class, say) the boundary it projects
    onto is the criterion's margin, in one run per restart.

    References:
        Croce & Hein, "Minimally distorted adversarial examples with a fast adaptive boundary
        attack", ICML 2020.

    Args:
        steps: Iterations per target class and restart.
        n_target_classes: Runner-up classes tried as targets (at most K-1).
        restarts: Runs per target class; runs after the first start from a random point.
        alpha_max: Largest weight of the step from the original input.
        eta: Extrapolation factor of the projection step.
        beta: Factor of the step back towards the input after a success.
    """

    norms: ClassVar[tuple[str, ...]] = NORMS
    minimal: ClassVar[bool] = True
    quick_params: ClassVar[dict[str, Any]] = {"steps": 10, "n_target_classes": 2}
    steps: int = 100
    n_target_classes: int = 9
    restarts: int = 1
    alpha_max: float = 0.1
    eta: float = 1.05
    beta: float = 0.9

    def _check(self, owner: str) -> None:
        check_int(owner, "steps", self.steps)
        check_int(owner, "n_target_classes", self.n_target_classes)
        check_int(owner, "restarts", self.restarts)
        check_float(owner, "alpha_max", self.alpha_max, high=1.0, low_inclusive=True)
        check_float(owner, "eta", self.eta, low=1.0, high=10.0, low_inclusive=True)
        check_float(owner, "beta", self.beta, high=1.0)

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        n = len(inputs)
        best = inputs.clone()
        best_norm = torch.full((n,), math.inf, device=inputs.device)
        clean_logits = ctx.scores(inputs)
        ranks: list[int | None] = list(
            range(2, min(self.n_target_classes, ctx.num_classes - 1) + 2)
        )
        if not ctx.untargeted:
            ranks = [None]
        for rank in ranks:
            for restart in range(self.restarts):
                if ctx.epsilon is not None:
                    todo = (best_norm > ctx.epsilon).nonzero().squeeze(1)
                else:
                    todo = torch.arange(n, device=inputs.device)
                if len(todo) == 0:
                    return best, None
                goal = None if rank is None else target_ranking(clean_logits[todo], rank)
                adv, norms = self._single_run(
                    ctx, inputs[todo], targets[todo], goal, best_norm[todo], restart > 0, todo
                )
                better = norms < best_norm[todo]
                best[todo[better]] = adv[better]
                best_norm[todo[better]] = norms[better]
        return best, None

    @staticmethod
    def _diff_and_grad(
        ctx: Context,
        cur: torch.Tensor,
        y: torch.Tensor,
        goal: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Target-minus-true logit ``(N,)`` at ``cur`` (the criterion's negative margin without
        a target class), its flattened gradient, and the logits."""
        probe = cur.detach().requires_grad_(True)
        with torch.enable_grad():
            logits = ctx.logits(probe)
            if goal is None:
                diff = -ctx.margin(logits, y)[:, None]
            else:
                diff = logits.gather(1, goal[:, None]) - logits.gather(1, y[:, None])
            (grad,) = torch.autograd.grad(diff.sum(), probe)
        return diff.detach().squeeze(1), grad.flatten(1), logits.detach()

    def _single_run(
        self,
        ctx: Context,
        x: torch.Tensor,
        y: torch.Tensor,
        goal: torch.Tensor | None,
        known: torch.Tensor,
        random_start: bool,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        norm = ctx.norm
        flat_x = x.flatten(1)
        best = x.clone()
        best_norm = torch.full((len(x),), math.inf, device=x.device)
        cur = x.clone()
        if random_start:
            scale = known.clone()
            fallback = (
                ctx.epsilon if ctx.epsilon is not None else 0.1 * (ctx.bounds[1] - ctx.bounds[0])
            )
            scale = torch.where(torch.isfinite(scale), scale, torch.full_like(scale, fallback))
            if ctx.epsilon is not None:
                scale = scale.clamp(max=ctx.epsilon)
            cur = ctx.clip(x + ctx.threat.random(x, ctx.random_for(rows), scale / 2))
        # A step needs the gradient at the iterate and a success check of the next one, which
        # becomes the following iterate unless it is adversarial (then it steps back towards the
        # input). While few points are adversarial, one forward+backward pass at the new iterate
        # serves both, and only the points that stepped back need another; when many are, a
        # forward-only check followed by the gradient pass is cheaper. Both orders give the same
        # iterates.
        f: torch.Tensor | None = None
        w: torch.Tensor | None = None
        share = 0.0
        for step in range(self.steps):
            if f is None or w is None:
                f, w, _ = self._diff_and_grad(ctx, cur, y, goal)
            flat_cur = cur.flatten(1)
            offset = (w * (flat_x - flat_cur)).sum(dim=1)
            # Both projections (from the iterate and from the input) in one batched call.
            both = min_norm_to_hyperplane(
                torch.cat([flat_cur, flat_x]),
                torch.cat([w, w]),
                torch.cat([-f, -f - offset]),
                ctx.bounds,
                norm,
            )
            from_cur, from_x = both[: len(x)], both[len(x) :]
            a1 = lp_norm(from_cur, norm).clamp(min=1e-8)
            a2 = lp_norm(from_x, norm).clamp(min=1e-8)
            alpha = (a1 / (a1 + a2)).clamp(0.0, self.alpha_max)[:, None]
            nxt = (flat_cur + self.eta * from_cur) * (1 - alpha) + (
                flat_x + self.eta * from_x
            ) * alpha
            cur = ctx.clip(nxt.view_as(x))
            if step == self.steps - 1 or share > _FUSE_BELOW:
                adversarial = ctx.broken(ctx.scores(cur), y)
                f = w = None
            else:
                f, w, logits = self._diff_and_grad(ctx, cur, y, goal)
                adversarial = ctx.broken(logits, y)
            dist = lp_norm(cur - x, norm)
            better = adversarial & (dist < best_norm)
            best[better] = cur[better]
            best_norm[better] = dist[better]
            count = int(adversarial.sum())
            share = count / len(x)
            if count:
                cur = torch.where(batch_view(adversarial, x), x + self.beta * (cur - x), cur)
                if f is not None and w is not None:
                    moved = adversarial.nonzero().squeeze(1)
                    g_m = None if goal is None else goal[moved]
                    f_m, w_m, _ = self._diff_and_grad(ctx, cur[moved], y[moved], g_m)
                    f, w = f.index_copy(0, moved, f_m), w.index_copy(0, moved, w_m)
        return best, best_norm
