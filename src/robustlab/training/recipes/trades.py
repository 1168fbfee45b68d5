"""TRADES: clean loss plus beta times the KL divergence between clean and adversarial outputs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from robustlab.training._base import Step, check_steps
from robustlab.training._inner import maximise
from robustlab.training._registry import register_recipe
from robustlab.training.recipes._adversarial import AdversarialRecipe
from robustlab.validation import check_number

__all__ = ["TRADES"]


@register_recipe("trades")
@dataclass(frozen=True)
class TRADES(AdversarialRecipe):
    """``loss(f(x), y) + beta * KL(f(x) || f(x'))``, ``x'`` maximising the KL term by PGD from a
    small Gaussian start.

    References:
        Zhang et al., "Theoretically principled trade-off between robustness and accuracy",
        ICML 2019.

    Args:
        beta: Weight of the robustness term (the paper's 6.0).
        steps: PGD steps maximising the KL divergence.
        step_size: Step length; ``None`` means ``2.5 * epsilon / steps``.
    """

    beta: float = 6.0
    steps: int = 7
    step_size: float | None = None

    def _check_more(self, owner: str) -> None:
        check_number(owner, "beta", self.beta, low_inclusive=True)
        check_steps(owner, "steps", self.steps)
        check_number(owner, "step_size", self.step_size, optional=True)

    def objective(self, step: Step) -> torch.Tensor:
        eps = self.budget(step)
        size = self.step_size if self.step_size is not None else 2.5 * eps / self.steps
        x = step.inputs
        with torch.no_grad():
            clean_p = step.eval_forward(x).softmax(dim=1)
        start = 0.001 * torch.randn(x.shape, generator=step.generator, device=x.device)

        def kl(a: torch.Tensor) -> torch.Tensor:
            return F.kl_div(step.eval_forward(a).log_softmax(dim=1), clean_p, reduction="sum")

        adv = maximise(
            kl,
            x,
            norm=self.norm,
            epsilon=eps,
            steps=self.steps,
            step_size=size,
            bounds=step.bounds,
            generator=step.generator,
            start=start,
        )
        logits = step.forward(x)
        natural = self.per_example_loss(logits, step).mean()
        robust = F.kl_div(
            step.forward(adv).log_softmax(dim=1), logits.softmax(dim=1), reduction="batchmean"
        )
        step.info["kl"] = float(robust.detach())
        return natural + self.beta * robust
