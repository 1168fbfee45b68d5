"""Fast adversarial training with one FGSM step, guarded against catastrophic overfitting."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from robustlab.training._base import Recipe, Step, check_steps
from robustlab.training._inner import maximise, project, random_start, signed_step
from robustlab.training._registry import register_recipe
from robustlab.training.recipes._adversarial import AdversarialRecipe
from robustlab.validation import check_choice, check_int, check_number

__all__ = ["FastAT"]

METHODS = ("fgsm", "nfgsm", "gradalign")


@register_recipe("fast_at")
@dataclass(frozen=True)
class FastAT(AdversarialRecipe):
    """One-step adversarial training with a guard that detects catastrophic overfitting.

    ``method`` picks the step: ``fgsm`` (random start in the ball, one signed step of
    ``step_size * epsilon``, projected back; Wong et al.), ``nfgsm`` (noise from a ball of
    ``noise * epsilon``, one step of ``epsilon``, no projection; de Jorge et al.) or
    ``gradalign`` (FGSM plus ``align_weight * (1 - cos(grad at x, grad at x + noise))``;
    Andriushchenko & Flammarion).

    The guard rule, checked every ``guard_every`` steps on a fixed batch of training examples
    with the model in eval mode: catastrophic overfitting is declared when the accuracy under a
    ``guard_steps``-step PGD falls at least ``guard_drop`` below its best so far (Wong et al.'s
    early-stopping test), or when FGSM accuracy exceeds PGD accuracy by at least ``guard_gap``
    (one step no longer finds the adversarial points many steps do: the loss surface has become
    non-linear around the data). The training loop then restores the weights and optimiser of the
    last healthy check and continues with ``fallback_method`` as the method.

    References:
        Wong, Rice & Kolter, "Fast is better than free: revisiting adversarial training",
        ICLR 2020; de Jorge et al., "Make some noise: reliable and efficient single-step
        adversarial training", NeurIPS 2022 (N-FGSM); Andriushchenko & Flammarion,
        "Understanding and improving fast adversarial training", NeurIPS 2020 (GradAlign).

    Args:
        method: ``fgsm``, ``nfgsm`` or ``gradalign``.
        random_init: Start FGSM from a random point of the ball (Wong et al.); without it, from
            the input (Goodfellow et al.'s FGSM training, most prone to catastrophic overfitting).
        step_size: FGSM step as a multiple of epsilon (Wong et al. recommend 1.25).
        noise: N-FGSM noise radius as a multiple of epsilon (the paper's 2).
        align_weight: GradAlign regulariser weight.
        guard_every: Steps between guard checks (0 disables the guard).
        guard_steps: PGD steps of the guard's attack.
        guard_drop: Fall of guard PGD accuracy from its best that fires the guard.
        guard_gap: FGSM minus PGD guard accuracy that fires the guard.
        guard_size: Training examples in the guard batch.
        fallback_method: Method to continue with after the guard fired.
    """

    method: str = "fgsm"
    random_init: bool = True
    step_size: float = 1.25
    noise: float = 2.0
    align_weight: float = 0.2
    guard_every: int = 20
    guard_steps: int = 10
    guard_drop: float = 0.2
    guard_gap: float = 0.2
    guard_size: int = 256
    fallback_method: str = "nfgsm"

    def _check_more(self, owner: str) -> None:
        check_choice(owner, "method", self.method, METHODS)
        check_choice(owner, "fallback_method", self.fallback_method, METHODS)
        check_number(owner, "step_size", self.step_size)
        check_number(owner, "noise", self.noise, low_inclusive=True)
        check_number(owner, "align_weight", self.align_weight, low_inclusive=True)
        check_int(owner, "guard_every", self.guard_every, minimum=0)
        check_steps(owner, "guard_steps", self.guard_steps)
        check_number(owner, "guard_drop", self.guard_drop, high=1.0)
        check_number(owner, "guard_gap", self.guard_gap, high=1.0)
        check_steps(owner, "guard_size", self.guard_size)

    def _input_grad(
        self, step: Step, x: torch.Tensor, *, create_graph: bool = False
    ) -> torch.Tensor:
        probe = x.detach().requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(step.forward(probe), step.targets, reduction="sum")
            (grad,) = torch.autograd.grad(loss, probe, create_graph=create_graph)
        return grad

    def objective(self, step: Step) -> torch.Tensor:
        eps = self.budget(step)
        x, (low, high) = step.inputs, step.bounds
        if self.method == "nfgsm":
            start = random_start(x, self.norm, self.noise * eps, step.generator)
            xn = (x + start).clamp(low, high)
            adv = (xn + eps * signed_step(self._input_grad(step, xn), self.norm)).clamp(low, high)
        else:
            xs = x
            if self.random_init:
                xs = (x + random_start(x, self.norm, eps, step.generator)).clamp(low, high)
            moved = xs + self.step_size * eps * signed_step(self._input_grad(step, xs), self.norm)
            adv = (x + project(moved - x, self.norm, eps)).clamp(low, high)
        loss = self.per_example_loss(step.forward(adv.detach()), step).mean()
        if self.method == "gradalign" and self.align_weight > 0:
            g1 = self._input_grad(step, x, create_graph=True).flatten(1)
            noisy = (x + random_start(x, self.norm, eps, step.generator)).clamp(low, high)
            g2 = self._input_grad(step, noisy, create_graph=True).flatten(1)
            cos = F.cosine_similarity(g1, g2, dim=1, eps=1e-12)
            loss = loss + self.align_weight * (1 - cos).mean()
        return loss

    def guard(self, step: Step) -> dict[str, Any] | None:
        if self.guard_every == 0 or step.step % self.guard_every != 0:
            return None
        x, y = step.state["sample"]
        x, y = (
            x[: self.guard_size].to(step.inputs.device),
            y[: self.guard_size].to(step.inputs.device),
        )
        eps = self.budget(step)

        def ce(a: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(step.eval_forward(a), y, reduction="sum")

        adv = maximise(
            ce,
            x,
            norm=self.norm,
            epsilon=eps,
            steps=self.guard_steps,
            step_size=2.5 * eps / self.guard_steps,
            bounds=step.bounds,
            generator=step.generator,
        )
        probe = x.detach().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(ce(probe), probe)
        fgsm = (x + eps * signed_step(grad, self.norm)).clamp(*step.bounds)
        with torch.no_grad():
            pgd_acc = float((step.eval_forward(adv).argmax(1) == y).float().mean())
            fgsm_acc = float((step.eval_forward(fgsm).argmax(1) == y).float().mean())
        best = max(step.state.get("guard_best_pgd", 0.0), pgd_acc)
        step.state["guard_best_pgd"] = best
        step.info.update(guard_pgd_accuracy=pgd_acc, guard_fgsm_accuracy=fgsm_acc)
        dropped = best - pgd_acc >= self.guard_drop
        gapped = fgsm_acc - pgd_acc >= self.guard_gap
        if not (dropped or gapped):
            return None
        rule = "PGD accuracy fell from its best" if dropped else "FGSM accuracy exceeds PGD's"
        return {
            "rule": rule,
            "pgd_accuracy": pgd_acc,
            "fgsm_accuracy": fgsm_acc,
            "best_pgd_accuracy": best,
            "method": self.method,
            "fallback": self.fallback_method,
        }

    def fallback(self) -> Recipe:
        return dataclasses.replace(self, method=self.fallback_method)
