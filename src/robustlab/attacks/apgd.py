"""Auto-PGD: step-size-free PGD with momentum, for cross-entropy and (targeted) DLR losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._base import Attack, Context, check_choice, check_float, check_int
from robustlab.attacks._losses import LOSSES, per_example_loss
from robustlab.attacks._ops import batch_view, lp_norm, project_ball
from robustlab.attacks._registry import register_attack

__all__ = ["APGD", "target_ranking"]


def target_ranking(logits: torch.Tensor, rank: int) -> torch.Tensor:
    """The class with the ``rank``-th largest logit (rank 2 is the runner-up)."""
    return logits.argsort(dim=1, descending=True)[:, rank - 1]


@register_attack("apgd")
@dataclass(frozen=True)
class APGD(Attack):
    """Auto-PGD: starts with step 2·epsilon and halves it per example at checkpoints where the loss
    stopped improving, restarting from the best point; momentum 0.75.

    With a targeted loss (``ce-targeted`` or ``dlr-targeted``, i.e. APGD-T) it runs once per
    target class, taking the ``n_target_classes`` classes with the highest clean logits after the
    true one (at most K-1), each run only on the points still robust.

    References:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020.

    Args:
        steps: Iterations per run.
        restarts: Random restarts per run (later ones only on points not yet broken).
        loss: ``ce``, ``dlr``, ``ce-targeted`` or ``dlr-targeted``.
        n_target_classes: Target classes tried by the targeted losses.
        rho: Fraction of loss increases below which the step size is halved at a checkpoint.
        eot_iter: Gradients averaged per step (expectation over transformation, for randomized
            models).
    """

    norms: ClassVar[tuple[str, ...]] = ("linf", "l2")
    quick_params: ClassVar[dict[str, Any]] = {"steps": 10}
    steps: int = 100
    restarts: int = 1
    loss: str = "ce"
    n_target_classes: int = 9
    rho: float = 0.75
    eot_iter: int = 1

    def _check(self, owner: str) -> None:
        check_int(owner, "steps", self.steps)
        check_int(owner, "restarts", self.restarts)
        check_choice(owner, "loss", self.loss, LOSSES)
        check_int(owner, "n_target_classes", self.n_target_classes)
        check_float(owner, "rho", self.rho, high=1.0)
        check_int(owner, "eot_iter", self.eot_iter)

    @property
    def targeted(self) -> bool:
        return self.loss.endswith("-targeted")

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        best = inputs.clone()
        found = torch.zeros(len(inputs), dtype=torch.bool, device=inputs.device)
        ranks: list[int | None] = [None]
        if self.targeted:
            ranks = list(range(2, min(self.n_target_classes, ctx.num_classes - 1) + 2))
            clean_logits = ctx.scores(inputs)
        for rank in ranks:
            for _ in range(self.restarts):
                todo = (~found).nonzero().squeeze(1)
                if len(todo) == 0:
                    return best, None
                goal = None if rank is None else target_ranking(clean_logits[todo], rank)
                adv, hit = self._single_run(ctx, inputs[todo], targets[todo], goal)
                best[todo[hit]] = adv[hit]
                found[todo[hit]] = True
        return best, None

    def _loss_and_grad(
        self, ctx: Context, adv: torch.Tensor, y: torch.Tensor, goal: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        grad = torch.zeros_like(adv)
        for _ in range(self.eot_iter):
            x = adv.clone().requires_grad_(True)
            with torch.enable_grad():
                logits = ctx.logits(x)
                loss = per_example_loss(self.loss, logits, y, goal)
                grad += torch.autograd.grad(loss.sum(), x)[0]
        return logits.detach(), loss.detach(), grad / self.eot_iter

    def _single_run(
        self, ctx: Context, x: torch.Tensor, y: torch.Tensor, goal: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        eps = ctx.epsilon
        assert eps is not None
        n, norm = len(x), ctx.norm
        checkpoint_len = max(int(0.22 * self.steps), 1)
        min_len = max(int(0.06 * self.steps), 1)
        decrement = max(int(0.03 * self.steps), 1)

        if norm == "linf":
            t = 2 * torch.rand(x.shape, generator=ctx.generator, device=x.device) - 1
        else:
            t = torch.randn(x.shape, generator=ctx.generator, device=x.device)
        adv = ctx.clip(x + eps * t / batch_view(lp_norm(t, norm).clamp(min=1e-12), t))

        logits, loss, grad = self._loss_and_grad(ctx, adv, y, goal)
        loss_start = loss.clone()
        hit = logits.argmax(dim=1) != y
        best_adv = adv.clone()
        x_best, loss_best, grad_best = adv.clone(), loss.clone(), grad.clone()
        step = torch.full((n,), 2.0 * eps, device=x.device)
        loss_history = torch.zeros(self.steps, n, device=x.device)
        adv_old = adv.clone()
        interval, since_check = checkpoint_len, 0
        loss_best_at_check = loss_best.clone()
        reduced_at_check = torch.ones(n, dtype=torch.bool, device=x.device)

        for i in range(self.steps):
            momentum = adv - adv_old
            adv_old = adv
            a = 0.75 if i > 0 else 1.0
            s = batch_view(step, x)
            if norm == "linf":
                z = self._project(ctx, x, adv + s * grad.sign(), eps)
            else:
                unit = grad / batch_view(lp_norm(grad, "l2").clamp(min=1e-12), grad)
                z = self._project(ctx, x, adv + s * unit, eps)
            adv = self._project(ctx, x, adv + a * (z - adv) + (1 - a) * momentum, eps)

            logits, loss, grad = self._loss_and_grad(ctx, adv, y, goal)
            newly = (logits.argmax(dim=1) != y) & ~hit
            best_adv[newly] = adv[newly]
            hit |= newly

            loss_history[i] = loss
            better = loss > loss_best
            x_best[better], grad_best[better], loss_best[better] = (
                adv[better],
                grad[better],
                loss[better],
            )

            since_check += 1
            if since_check == interval:
                recent = loss_history[i - interval + 1 : i + 1]
                increases = recent > _previous(loss_history, loss_start, i, interval)
                oscillating = increases.sum(dim=0) <= interval * self.rho
                stalled = ~reduced_at_check & (loss_best_at_check >= loss_best)
                reduce = oscillating | stalled
                reduced_at_check = reduce
                loss_best_at_check = loss_best.clone()
                if reduce.any():
                    step[reduce] /= 2.0
                    adv = adv.clone()
                    adv[reduce], grad[reduce] = x_best[reduce], grad_best[reduce]
                interval = max(interval - decrement, min_len)
                since_check = 0
        return best_adv, hit

    @staticmethod
    def _project(ctx: Context, x: torch.Tensor, point: torch.Tensor, eps: float) -> torch.Tensor:
        return ctx.clip(x + project_ball(point - x, ctx.norm, eps))


def _previous(history: torch.Tensor, start: torch.Tensor, i: int, k: int) -> torch.Tensor:
    # The loss one step before each of the last k steps; before step 0 that is the loss at the
    # random starting point.
    idx = torch.arange(i - k, i, device=history.device)
    prev = history[idx.clamp(min=0)]
    return torch.where((idx >= 0)[:, None], prev, start.expand_as(prev))
