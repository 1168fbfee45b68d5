"""Stochastic weight averaging: the equal-weight average of the weights at each epoch's end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn
from torch.optim import swa_utils

from robustlab.training._registry import register_averager
from robustlab.training.averaging._base import Averager
from robustlab.validation import check_number

__all__ = ["SWA"]


@register_averager("swa")
@dataclass(frozen=True)
class SWA(Averager):
    """Average the weights at the end of every epoch from ``start`` of training on
    (``torch.optim.swa_utils.AveragedModel``); batch-norm statistics are recomputed at the end.

    References:
        Izmailov et al., "Averaging weights leads to wider optima and better generalization",
        UAI 2018.

    Args:
        start: Fraction of the epochs after which averaging begins, in ``[0, 1)``.
    """

    start_fraction: float = 0.5

    def _check(self, owner: str) -> None:
        check_number(
            owner,
            "start_fraction",
            self.start_fraction,
            low_inclusive=True,
            high=1.0,
            high_inclusive=False,
        )

    def start(self, module: nn.Module, *, epochs: int) -> Any:
        return {
            "model": swa_utils.AveragedModel(module),
            "first": int(self.start_fraction * epochs),
            "n": 0,
        }

    def update(self, state: Any, module: nn.Module, *, epoch: int, end_of_epoch: bool) -> None:
        if end_of_epoch and epoch >= state["first"]:
            state["model"].update_parameters(module)
            state["n"] += 1

    def result(self, state: Any) -> nn.Module | None:
        return state["model"].module if state["n"] else None
