"""Carlini-Wagner L2: minimal-norm optimisation in tanh space with a binary search on the trade-off."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_float, check_int

__all__ = ["CarliniWagner"]


@register_attack("cw")
@dataclass(frozen=True)
class CarliniWagner(ImageAttack):
    """Minimises ``||delta||_2^2 + c * max(margin + confidence, 0)`` with Adam over a tanh
    reparametrisation that keeps inputs within bounds, binary-searching ``c`` per example, and
    returns the smallest adversarial found. The margin is the criterion's (true class against
    the runner-up for plain misclassification, the target class against the rest for a target).

    References:
        Carlini & Wagner, "Towards evaluating the robustness of neural networks", IEEE S&P 2017.

    Args:
        steps: Adam steps per value of the constant ``c``.
        binary_search_steps: Values of ``c`` tried per example.
        initial_const: Starting value of ``c``.
        learning_rate: Adam learning rate in tanh space.
        confidence: Margin ``kappa`` by which the adversarial class must win.
    """

    norms: ClassVar[tuple[str, ...]] = ("l2",)
    minimal: ClassVar[bool] = True
    quick_params: ClassVar[dict[str, Any]] = {"steps": 20, "binary_search_steps": 3}
    steps: int = 100
    binary_search_steps: int = 6
    initial_const: float = 0.1
    learning_rate: float = 0.05
    confidence: float = 0.0

    def _check(self, owner: str) -> None:
        check_int(owner, "steps", self.steps)
        check_int(owner, "binary_search_steps", self.binary_search_steps)
        check_float(owner, "initial_const", self.initial_const)
        check_float(owner, "learning_rate", self.learning_rate)
        check_float(owner, "confidence", self.confidence, low_inclusive=True)

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        low, high = ctx.bounds
        n = len(inputs)
        scaled = ((inputs - low) / (high - low) * 2 - 1).clamp(-1 + 1e-6, 1 - 1e-6)
        w0 = torch.atanh(scaled)
        const = torch.full((n,), self.initial_const, device=inputs.device)
        lower = torch.zeros(n, device=inputs.device)
        upper = torch.full((n,), math.inf, device=inputs.device)
        best = inputs.clone()
        best_norm = torch.full((n,), math.inf, device=inputs.device)
        for _ in range(self.binary_search_steps):
            w = w0.clone().requires_grad_(True)
            optimizer = torch.optim.Adam([w], lr=self.learning_rate)
            succeeded = torch.zeros(n, dtype=torch.bool, device=inputs.device)
            for _ in range(self.steps):
                with torch.enable_grad():
                    adv = low + (high - low) * (torch.tanh(w) + 1) / 2
                    logits = ctx.logits(adv)
                    dist = (adv - inputs).flatten(1).pow(2).sum(dim=1)
                    gap = ctx.margin(logits, targets)
                    loss = (dist + const * (gap + self.confidence).clamp(min=0)).sum()
                    optimizer.zero_grad()
                    loss.backward()
                optimizer.step()
                with torch.no_grad():
                    hit = gap.detach() < -self.confidence if self.confidence else gap.detach() < 0
                    l2 = dist.detach().sqrt()
                    better = hit & (l2 < best_norm)
                    best[better] = adv.detach()[better]
                    best_norm[better] = l2[better]
                    succeeded |= hit
            upper = torch.where(succeeded, torch.minimum(upper, const), upper)
            lower = torch.where(succeeded, lower, torch.maximum(lower, const))
            const = torch.where(torch.isfinite(upper), (lower + upper) / 2, const * 10)
        return best, None
