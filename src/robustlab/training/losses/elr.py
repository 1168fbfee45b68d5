"""Early-learning regularisation: keep predictions near their running average to stop memorising."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from robustlab.errors import ConfigError
from robustlab.training._registry import register_loss
from robustlab.training.losses._base import Loss
from robustlab.validation import check_number

__all__ = ["EarlyLearningRegularization"]


@register_loss("elr")
@dataclass(frozen=True)
class EarlyLearningRegularization(Loss):
    """``CE + lam * log(1 - <p, t>)``, with ``t`` a per-example moving average of predictions.

    References:
        Liu et al., "Early-learning regularization prevents memorization of noisy labels",
        NeurIPS 2020.

    Args:
        beta: Momentum of the per-example target average (the paper's 0.7 on CIFAR-10).
        lam: Weight of the regulariser (3.0 on CIFAR-10).
    """

    needs_indices = True
    beta: float = 0.7
    lam: float = 3.0

    def _check(self, owner: str) -> None:
        check_number(owner, "beta", self.beta, low=0.0, high=1.0, high_inclusive=False)
        check_number(owner, "lam", self.lam, low_inclusive=True)

    def start(self, state: dict[str, Any], *, num_examples: int, num_classes: int) -> None:
        state["elr_targets"] = torch.zeros(num_examples, num_classes)

    def __call__(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        *,
        indices: torch.Tensor | None = None,
        state: dict[str, Any] | None = None,
    ) -> torch.Tensor:
        if indices is None or state is None or "elr_targets" not in state:
            raise ConfigError(
                "Loss 'elr' keeps a moving average per training example, so it needs to know "
                "which examples each batch holds. Pass the training data as tensors or a "
                "robustlab Dataset instead of a DataLoader, or use loss 'gce' or 'sce'."
            )
        p = logits.softmax(dim=1).clamp(1e-4, 1 - 1e-4)
        bank = state["elr_targets"]
        idx = indices.to(bank.device)
        detached = (p / p.sum(dim=1, keepdim=True)).detach().to(bank.device)
        bank[idx] = self.beta * bank[idx] + (1 - self.beta) * detached
        t = bank[idx].to(p.device)
        reg = (1 - (p * t).sum(dim=1)).log()
        return F.cross_entropy(logits, targets, reduction="none") + self.lam * reg
