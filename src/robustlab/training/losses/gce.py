"""Generalized cross-entropy, a loss between cross-entropy and MAE that resists noisy labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from robustlab.training._registry import register_loss
from robustlab.training.losses._base import Loss
from robustlab.validation import check_number

__all__ = ["GeneralizedCrossEntropy"]


@register_loss("gce")
@dataclass(frozen=True)
class GeneralizedCrossEntropy(Loss):
    """``(1 - p(target)^q) / q``: cross-entropy as ``q -> 0``, mean absolute error at ``q = 1``.

    References:
        Zhang & Sabuncu, "Generalized cross entropy loss for training deep neural networks with
        noisy labels", NeurIPS 2018.

    Args:
        q: Exponent in ``(0, 1]``; the paper's default 0.7.
    """

    q: float = 0.7

    def _check(self, owner: str) -> None:
        check_number(owner, "q", self.q, low=0.0, high=1.0)

    def __call__(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        *,
        indices: torch.Tensor | None = None,
        state: dict[str, Any] | None = None,
    ) -> torch.Tensor:
        p = logits.softmax(dim=1).gather(1, targets[:, None]).squeeze(1).clamp(min=1e-7)
        return (1 - p**self.q) / self.q
