"""Auto-PGD: step-size-free PGD with momentum, for cross-entropy and (targeted) DLR losses."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_choice, check_float, check_int
from robustlab.attacks.image._losses import LOSSES, per_example_loss
from robustlab.attacks.image._ops import batch_view, lp_norm
from robustlab.seeding import rand, randn

__all__ = ["APGD", "target_ranking"]


def target_ranking(logits: torch.Tensor, rank: int) -> torch.Tensor:
    """The class with the ``rank``-th largest logit (rank 2 is the runner-up)."""
    return logits.argsort(dim=1, descending=True)[:, rank - 1]


@register_attack("apgd")
@dataclass(frozen=True)
class APGD(ImageAttack):
    """Auto-PGD: starts with step 2·epsilon and halves it per example at checkpoints where the loss
    stopped improving, restarting from the best point; momentum 0.75.

    With a targeted loss (``ce-targeted`` or ``dlr-targeted``, i.e. APGD-T) it runs once per
    target class, taking the ``n_target_classes`` classes with the highest clean logits after the
    true one (at most K-1), each run only on the points still robust. With a criterion other than
    plain misclassification (a target class, say) it runs once, ascending the criterion's negative
    margin, and stops per point once the criterion counts it as broken.

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
        if self.targeted and ctx.untargeted:
            ranks = list(range(2, min(self.n_target_classes, ctx.num_classes - 1) + 2))
            clean_logits = ctx.scores(inputs)
        for rank in ranks:
            for _ in range(self.restarts):
                todo = (~found).nonzero().squeeze(1)
                if len(todo) == 0:
                    return best, None
                goal = None if rank is None else target_ranking(clean_logits[todo], rank)
                adv, hit = self._single_run(ctx, inputs[todo], targets[todo], goal, todo)
                best[todo[hit]] = adv[hit]
                found[todo[hit]] = True
        return best, None

    def _loss_and_grad(
        self, ctx: Context, adv: torch.Tensor, y: torch.Tensor, goal: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        grad: torch.Tensor | None = None
        for _ in range(self.eot_iter):
            x = adv.detach().requires_grad_(True)
            with torch.enable_grad():
                logits = ctx.logits(x)
                if ctx.untargeted:
                    loss = per_example_loss(self.loss, logits, y, goal)
                else:
                    loss = -ctx.margin(logits, y)
                (g,) = torch.autograd.grad(loss.sum(), x)
            grad = g if grad is None else grad + g
        assert grad is not None
        if self.eot_iter > 1:
            grad = grad / self.eot_iter
        return logits.detach(), loss.detach(), grad

    def _single_run(
        self,
        ctx: Context,
        x: torch.Tensor,
        y: torch.Tensor,
        goal: torch.Tensor | None,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        eps = ctx.epsilon
        assert eps is not None
        norm = ctx.norm
        checkpoint_len = max(int(0.22 * self.steps), 1)
        min_len = max(int(0.06 * self.steps), 1)
        decrement = max(int(0.03 * self.steps), 1)

        rng = ctx.random_for(rows)  # the random start, per example
        if norm == "linf":
            t = 2 * rand(rng, x.shape, device=x.device) - 1
        else:
            t = randn(rng, x.shape, device=x.device)
        adv = ctx.clip(x + eps * t / batch_view(lp_norm(t, norm).clamp(min=1e-12), t))

        logits, loss, grad = self._loss_and_grad(ctx, adv, y, goal)
        hit = ctx.broken(logits, y)
        best_adv = adv.clone()
        # Every per-example tensor below lives on a compacted working set of the points not yet
        # broken (``idx`` maps it back): a broken point's first adversarial iterate is kept and
        # it takes no further steps, which leaves every other point's trajectory unchanged.
        idx = (~hit).nonzero().squeeze(1)
        state = _State(
            x=x[idx],
            y=y[idx],
            goal=None if goal is None else goal[idx],
            box=_box(ctx, x[idx], eps),
            adv=adv[idx],
            adv_old=adv[idx],
            grad=grad[idx],
            step=torch.full((len(idx),), 2.0 * eps, device=x.device),
            x_best=adv[idx],
            loss_best=loss[idx],
            grad_best=grad[idx],
            loss_start=loss[idx],
            history=torch.zeros(self.steps, len(idx), device=x.device),
            loss_best_at_check=loss[idx],
            reduced_at_check=torch.ones(len(idx), dtype=torch.bool, device=x.device),
        )
        interval, since_check = checkpoint_len, 0

        for i in range(self.steps):
            if len(idx) == 0:
                break
            st = state
            a = 0.75 if i > 0 else 1.0
            s = batch_view(st.step, st.x)
            if norm == "linf":
                z = _project(ctx, st, st.adv + s * st.grad.sign(), eps)
            else:
                unit = st.grad / batch_view(lp_norm(st.grad, "l2").clamp(min=1e-12), st.grad)
                z = _project(ctx, st, st.adv + s * unit, eps)
            momentum = st.adv - st.adv_old
            st.adv_old = st.adv
            st.adv = _project(ctx, st, st.adv + a * (z - st.adv) + (1 - a) * momentum, eps)

            logits, loss, st.grad = self._loss_and_grad(ctx, st.adv, st.y, st.goal)
            newly = ctx.broken(logits, st.y)
            broke = bool(newly.any())
            if broke:
                best_adv[idx[newly]] = st.adv[newly]
                hit[idx[newly]] = True
            st.history[i] = loss
            better = loss > st.loss_best
            b = batch_view(better, st.x)
            st.x_best = torch.where(b, st.adv, st.x_best)
            st.grad_best = torch.where(b, st.grad, st.grad_best)
            st.loss_best = torch.where(better, loss, st.loss_best)

            since_check += 1
            if since_check == interval:
                recent = st.history[i - interval + 1 : i + 1]
                increases = recent > _previous(st.history, st.loss_start, i, interval)
                oscillating = increases.sum(dim=0) <= interval * self.rho
                stalled = ~st.reduced_at_check & (st.loss_best_at_check >= st.loss_best)
                reduce = oscillating | stalled
                st.reduced_at_check = reduce
                st.loss_best_at_check = st.loss_best
                st.step = torch.where(reduce, st.step / 2.0, st.step)
                r = batch_view(reduce, st.x)
                st.adv = torch.where(r, st.x_best, st.adv)
                st.grad = torch.where(r, st.grad_best, st.grad)
                interval = max(interval - decrement, min_len)
                since_check = 0

            if broke:
                keep = ~newly
                idx, state = idx[keep], st.select(keep)
        return best_adv, hit


@dataclass
class _State:
    """Per-example state of one APGD run, restricted to the points still being attacked."""

    x: torch.Tensor
    y: torch.Tensor
    goal: torch.Tensor | None
    box: tuple[torch.Tensor, torch.Tensor] | None
    adv: torch.Tensor
    adv_old: torch.Tensor
    grad: torch.Tensor
    step: torch.Tensor
    x_best: torch.Tensor
    loss_best: torch.Tensor
    grad_best: torch.Tensor
    loss_start: torch.Tensor
    history: torch.Tensor
    loss_best_at_check: torch.Tensor
    reduced_at_check: torch.Tensor

    def select(self, keep: torch.Tensor) -> _State:
        picked: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                picked[f.name] = None
            elif f.name == "box":
                picked[f.name] = (value[0][keep], value[1][keep])
            elif f.name == "history":
                picked[f.name] = value[:, keep]
            else:
                picked[f.name] = value[keep]
        return _State(**picked)


def _box(ctx: Context, x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor] | None:
    # For Linf the ball and the bounds intersect in a box, so projecting is two elementwise ops.
    if ctx.norm != "linf":
        return None
    return ctx.threat.box(x, ctx.bounds)


def _project(ctx: Context, st: _State, point: torch.Tensor, eps: float) -> torch.Tensor:
    if st.box is not None:
        return torch.maximum(torch.minimum(point, st.box[1]), st.box[0])
    return ctx.project(point, st.x)


def _previous(history: torch.Tensor, start: torch.Tensor, i: int, k: int) -> torch.Tensor:
    # The loss one step before each of the last k steps; before step 0 that is the loss at the
    # random starting point.
    idx = torch.arange(i - k, i, device=history.device)
    prev = history[idx.clamp(min=0)]
    return torch.where((idx >= 0)[:, None], prev, start.expand_as(prev))
