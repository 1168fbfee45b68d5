"""Exponential moving average of the weights, updated after every optimiser step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn
from torch.optim import swa_utils

from robustlab.training._registry import register_averager
from robustlab.training.averaging._base import Averager
from robustlab.validation import check_number

__all__ = ["EMA"]


@register_averager("ema")
@dataclass(frozen=True)
class EMA(Averager):
    """``w_avg <- decay * w_avg + (1 - decay) * w`` after each step, buffers included
    (``swa_utils.get_ema_multi_avg_fn``).

    References:
        Polyak & Juditsky, "Acceleration of stochastic approximation by averaging", 1992;
        used for robust training by Gowal et al., "Uncovering the limits of adversarial
        training against norm-bounded adversarial examples", 2020.

    Args:
        decay: Weight of the running average, in ``(0, 1)``.
    """

    decay: float = 0.99

    def _check(self, owner: str) -> None:
        check_number(owner, "decay", self.decay, high=1.0, high_inclusive=False)

    def start(self, module: nn.Module, *, epochs: int) -> Any:
        fn = swa_utils.get_ema_multi_avg_fn(self.decay)
        return {"model": swa_utils.AveragedModel(module, multi_avg_fn=fn, use_buffers=True), "n": 0}

    def update(self, state: Any, module: nn.Module, *, epoch: int, end_of_epoch: bool) -> None:
        if not end_of_epoch:
            state["model"].update_parameters(module)
            state["n"] += 1

    def result(self, state: Any) -> nn.Module | None:
        return state["model"].module if state["n"] else None
