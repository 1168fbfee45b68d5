"""HopSkipJump: a decision-based minimal-norm attack that needs only predicted labels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_float, check_int
from robustlab.attacks.image._ops import batch_view, lp_norm
from robustlab.attacks.image._result import AttackWarning
from robustlab.seeding import rand, randn

__all__ = ["HopSkipJump"]

_MAX_HALVINGS = 10
_MAX_BISECTIONS = 30


@register_attack("hop_skip_jump")
@dataclass(frozen=True)
class HopSkipJump(ImageAttack):
    """Walks along the decision boundary: estimates the boundary's normal from the labels of
    random probes, steps along it with a geometrically shrinking size, and binary-searches back to
    the boundary towards the input. It needs only labels, so it works on label-only models and
    scikit-learn estimators; the search starts from uniform noise that the criterion already
    counts as broken (misclassified, or of the target class).

    References:
        Chen, Jordan & Wainwright, "HopSkipJumpAttack: a query-efficient decision-based attack",
        IEEE S&P 2020.

    Args:
        steps: Boundary-walk iterations.
        init_evals: Probes of the first gradient estimate (grows with the square root of the
            iteration).
        max_evals: Largest number of probes per gradient estimate.
        max_queries: Query budget per example; an iteration starts only if it fits.
        gamma: Scales the binary-search threshold and the probe radius.
        init_tries: Uniform noise draws tried to find a misclassified starting point.
    """

    norms: ClassVar[tuple[str, ...]] = ("l2", "linf")
    needs: ClassVar[frozenset[str]] = frozenset()
    minimal: ClassVar[bool] = True
    quick_params: ClassVar[dict[str, Any]] = {
        "steps": 5,
        "init_evals": 20,
        "max_evals": 50,
        "max_queries": 1000,
    }
    steps: int = 40
    init_evals: int = 100
    max_evals: int = 1000
    max_queries: int = 10000
    gamma: float = 1.0
    init_tries: int = 100

    def _check(self, owner: str) -> None:
        check_int(owner, "steps", self.steps)
        check_int(owner, "init_evals", self.init_evals)
        check_int(owner, "max_evals", self.max_evals)
        check_int(owner, "max_queries", self.max_queries, minimum=10)
        check_float(owner, "gamma", self.gamma)
        check_int(owner, "init_tries", self.init_tries)

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, dev = len(inputs), inputs.device
        d = inputs[0].numel()
        low, high = ctx.bounds
        queries = torch.zeros(n, dtype=torch.long, device=dev)

        def adversarial(points: torch.Tensor, owners: torch.Tensor) -> torch.Tensor:
            queries.index_add_(0, owners, torch.ones_like(owners))
            return ctx.broken(ctx.scores(points), targets[owners])

        start = inputs.clone()
        have = torch.zeros(n, dtype=torch.bool, device=dev)
        for _ in range(min(self.init_tries, self.max_queries // 2)):
            need = (~have).nonzero().squeeze(1)
            if len(need) == 0:
                break
            noise = low + (high - low) * rand(ctx.random_for(need), inputs[need].shape, device=dev)
            ok = adversarial(noise, need)
            start[need[ok]] = noise[ok]
            have[need[ok]] = True
        missing = int((~have).sum())
        if missing:
            ctx.warnings.append(
                AttackWarning(
                    "no-starting-point",
                    f"HopSkipJump found no misclassified starting point for {missing} of {n} "
                    f"inputs in {self.init_tries} uniform noise draws; they count as robust.",
                    "Increase init_tries, or run a score-based attack (square) if the model "
                    "returns scores.",
                )
            )
        idx = have.nonzero().squeeze(1)
        best = inputs.clone()
        if len(idx) == 0:
            return best, queries
        x = inputs[idx]
        lo_b = torch.zeros(len(idx), device=dev)
        hi_b = torch.ones(len(idx), device=dev)
        while float((hi_b - lo_b).max()) > 1e-3:
            mid = (lo_b + hi_b) / 2
            ok = adversarial((1 - batch_view(mid, x)) * x + batch_view(mid, x) * start[idx], idx)
            hi_b, lo_b = torch.where(ok, mid, hi_b), torch.where(ok, lo_b, mid)
        cur = (1 - batch_view(hi_b, x)) * x + batch_view(hi_b, x) * start[idx]
        theta = self.gamma / (d * math.sqrt(d)) if ctx.norm == "l2" else self.gamma / d**2
        cur, dist = self._to_boundary(ctx, x, cur, idx, theta, adversarial)
        best_dist = dist.clone()
        best[idx] = cur

        for j in range(self.steps):
            evals = min(int(self.init_evals * math.sqrt(j + 1)), self.max_evals)
            fits = queries[idx] + evals + _MAX_HALVINGS + _MAX_BISECTIONS <= self.max_queries
            act = fits.nonzero().squeeze(1)
            if len(act) == 0:
                break
            xa, ca, da, owners = x[act], cur[act], dist[act], idx[act]
            if j == 0:
                delta = torch.full_like(da, 0.1 * (high - low))
            else:
                delta = (math.sqrt(d) if ctx.norm == "l2" else d) * theta * da
            grad = self._estimate_gradient(ctx, ca, owners, delta, evals, adversarial)
            update = grad.sign() if ctx.norm == "linf" else grad
            size = da / math.sqrt(j + 1)
            cand = ca.clone()
            pending = torch.ones(len(act), dtype=torch.bool, device=dev)
            for _ in range(_MAX_HALVINGS):
                rows = pending.nonzero().squeeze(1)
                if len(rows) == 0:
                    break
                trial = ctx.clip(ca[rows] + batch_view(size[rows], ca) * update[rows])
                ok = adversarial(trial, owners[rows])
                cand[rows[ok]] = trial[ok]
                pending[rows[ok]] = False
                size[rows[~ok]] /= 2
            new, new_dist = self._to_boundary(ctx, xa, cand, owners, theta, adversarial)
            cur[act], dist[act] = new, new_dist
            better = new_dist < best_dist[act]
            best[owners[better]] = new[better]
            best_dist[act[better]] = new_dist[better]
        return best, queries

    def _estimate_gradient(
        self,
        ctx: Context,
        points: torch.Tensor,
        owners: torch.Tensor,
        delta: torch.Tensor,
        evals: int,
        adversarial: Any,
    ) -> torch.Tensor:
        m = len(points)
        shape = (m, evals, *points.shape[1:])
        rng = ctx.random_for(owners)  # per example: owners index the attacked inputs
        if ctx.norm == "l2":
            rv = randn(rng, shape, device=points.device)
        else:
            rv = 2 * rand(rng, shape, device=points.device) - 1
        rv = rv / rv.flatten(2).norm(dim=2).clamp(min=1e-12).view(
            m, evals, *[1] * (points.ndim - 1)
        )
        dl = delta.view(m, 1, *[1] * (points.ndim - 1))
        probes = ctx.clip(points[:, None] + dl * rv)
        rv = (probes - points[:, None]) / dl.clamp(min=1e-12)
        decisions = adversarial(probes.flatten(0, 1), owners.repeat_interleave(evals)).view(
            m, evals
        )
        fval = 2 * decisions.float() - 1
        mean = fval.mean(dim=1, keepdim=True)
        # With mixed answers the baseline subtraction reduces the estimator's variance.
        fval = torch.where(mean.abs() == 1, fval, fval - mean)
        grad = (fval.view(m, evals, *[1] * (points.ndim - 1)) * rv).mean(dim=1)
        return grad / batch_view(lp_norm(grad, "l2").clamp(min=1e-12), grad)

    def _to_boundary(
        self,
        ctx: Context,
        x: torch.Tensor,
        adv: torch.Tensor,
        owners: torch.Tensor,
        theta: float,
        adversarial: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Binary search between ``x`` and the adversarial ``adv`` for the boundary point."""
        if ctx.norm == "l2":
            hi = torch.ones(len(x), device=x.device)
            threshold = torch.full_like(hi, theta)
        else:
            hi = lp_norm(adv - x, "linf")
            threshold = (hi * theta).clamp(max=theta).clamp(min=1e-12)
        lo = torch.zeros_like(hi)

        def blend(alpha: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            a = batch_view(alpha, x)
            if ctx.norm == "l2":
                return (1 - a) * x[rows] + a * adv[rows]
            return torch.minimum(torch.maximum(adv[rows], x[rows] - a), x[rows] + a)

        for _ in range(_MAX_BISECTIONS):
            rows = ((hi - lo) / threshold > 1).nonzero().squeeze(1)
            if len(rows) == 0:
                break
            mid = (hi[rows] + lo[rows]) / 2
            ok = adversarial(blend(mid, rows), owners[rows])
            hi[rows] = torch.where(ok, mid, hi[rows])
            lo[rows] = torch.where(ok, lo[rows], mid)
        out = blend(hi, torch.arange(len(x), device=x.device))
        return out, lp_norm(out - x, ctx.norm)
