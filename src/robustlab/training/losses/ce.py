"""Cross-entropy, optionally with label smoothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from robustlab.training._registry import register_loss
from robustlab.training.losses._base import Loss
from robustlab.validation import check_number

__all__ = ["CrossEntropy"]


@register_loss("ce")
@dataclass(frozen=True)
class CrossEntropy(Loss):
    """``-log p(target)``; with ``label_smoothing`` the target mixes in the uniform distribution.

    Args:
        label_smoothing: Weight of the uniform distribution in the target, in ``[0, 1)``.
    """

    label_smoothing: float = 0.0

    def _check(self, owner: str) -> None:
        check_number(
            owner,
            "label_smoothing",
            self.label_smoothing,
            low=0.0,
            high=1.0,
            low_inclusive=True,
            high_inclusive=False,
        )

    def __call__(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        *,
        indices: torch.Tensor | None = None,
        state: dict[str, Any] | None = None,
    ) -> torch.Tensor:
        return F.cross_entropy(
            logits, targets, reduction="none", label_smoothing=self.label_smoothing
        )
