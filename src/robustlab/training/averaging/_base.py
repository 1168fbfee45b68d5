"""The Averager contract (a hook of the training loop) and the architecture check soups share."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from robustlab.errors import ConfigError
from robustlab.training._registry import AVERAGERS

__all__ = ["Averager", "make_averager", "recompute_batchnorm", "same_architecture"]


@dataclass(frozen=True)
class Averager(ABC):
    """A running average of the weights, updated by the training loop; fields are parameters."""

    name: ClassVar[str] = "averager"

    def __post_init__(self) -> None:
        self._check(f"averaging method {self.name!r}")

    def _check(self, owner: str) -> None:
        return None  # an optional hook

    @abstractmethod
    def start(self, module: nn.Module, *, epochs: int) -> Any:
        """A fresh averaging state for ``module`` (e.g. a ``swa_utils.AveragedModel``)."""

    @abstractmethod
    def update(self, state: Any, module: nn.Module, *, epoch: int, end_of_epoch: bool) -> None:
        """Fold the current weights in, after an optimiser step (and at each epoch's end)."""

    @abstractmethod
    def result(self, state: Any) -> nn.Module | None:
        """The averaged module (``None`` if nothing was averaged yet)."""

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "params": dataclasses.asdict(self)}


def make_averager(name: str | Averager, **params: Any) -> Averager:
    """The registered averaging method ``name`` (``swa``, ``ema``) from keyword parameters."""
    if isinstance(name, Averager):
        return name
    out = AVERAGERS.build(name, **params)
    assert isinstance(out, Averager)
    return out


def same_architecture(modules: Sequence[nn.Module], owner: str) -> None:
    """Raise unless every module has the first one's class and parameter names and shapes."""
    if len(modules) == 0:
        raise ConfigError(f"{owner} needs at least one model. Got none.")
    first = modules[0]
    shapes = {k: tuple(v.shape) for k, v in first.state_dict().items()}
    for i, m in enumerate(modules[1:], start=1):
        if not isinstance(m, nn.Module):
            raise ConfigError(f"{owner} averages torch modules; model {i} is {type(m).__name__}.")
        other = {k: tuple(v.shape) for k, v in m.state_dict().items()}
        if type(m) is not type(first) or other != shapes:
            diff = sorted(set(shapes.items()) ^ set(other.items()))[:3]
            raise ConfigError(
                f"{owner} can only average models of one architecture: model {i} "
                f"({type(m).__name__}) differs from model 0 ({type(first).__name__}) in "
                f"{', '.join(f'{k} {s}' for k, s in diff) or 'its class'}. Soup fine-tuned copies "
                f"of the same network."
            )


def recompute_batchnorm(
    module: nn.Module,
    forward: Callable[[torch.Tensor], torch.Tensor],
    batches: Iterable[torch.Tensor],
) -> None:
    """Re-estimate batch-norm running statistics of averaged weights (as ``swa_utils.update_bn``,
    through ``forward`` so any preprocessing of the wrapper applies)."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = {}
    for m in norms:
        m.reset_running_stats()
        momenta[m] = m.momentum
        m.momentum = None
    was = module.training
    module.train()
    with torch.no_grad():
        for x in batches:
            forward(x)
    module.train(was)
    for m, mom in momenta.items():
        m.momentum = mom
