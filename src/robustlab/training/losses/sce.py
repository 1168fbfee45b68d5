"""Symmetric cross-entropy: cross-entropy plus reverse cross-entropy, robust to noisy labels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from robustlab.training._registry import register_loss
from robustlab.training.losses._base import Loss
from robustlab.validation import check_number

__all__ = ["SymmetricCrossEntropy"]


@register_loss("sce")
@dataclass(frozen=True)
class SymmetricCrossEntropy(Loss):
    """``alpha * CE + beta * RCE``, where the reverse cross-entropy ``-sum_k p_k log q_k`` takes
    ``log 0 = log_zero`` for the one-hot label ``q`` (so RCE is ``-log_zero * (1 - p(target))``).

    References:
        Wang et al., "Symmetric cross entropy for robust learning with noisy labels", ICCV 2019.

    Args:
        alpha: Weight of cross-entropy (the paper uses 0.1 on CIFAR-10).
        beta: Weight of reverse cross-entropy (1.0 on CIFAR-10).
        log_zero: The value taken for ``log 0``; the paper's ``A = -4``.
    """

    alpha: float = 0.1
    beta: float = 1.0
    log_zero: float = -4.0

    def _check(self, owner: str) -> None:
        check_number(owner, "alpha", self.alpha, low_inclusive=True)
        check_number(owner, "beta", self.beta, low_inclusive=True)
        check_number(
            owner, "log_zero", self.log_zero, low=-math.inf, high=0.0, high_inclusive=False
        )

    def __call__(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        *,
        indices: torch.Tensor | None = None,
        state: dict[str, Any] | None = None,
    ) -> torch.Tensor:
        ce = F.cross_entropy(logits, targets, reduction="none")
        p_true = logits.softmax(dim=1).gather(1, targets[:, None]).squeeze(1)
        rce = -self.log_zero * (1 - p_true)
        return self.alpha * ce + self.beta * rce
