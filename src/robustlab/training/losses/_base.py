"""The Loss contract: per-example losses from logits and (possibly noisy) labels."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.training._registry import LOSSES

__all__ = ["Loss", "make_loss"]


@dataclass(frozen=True)
class Loss(ABC):
    """A frozen dataclass whose fields are the loss's parameters.

    Class attributes:
        name: Registered name (set by ``register_loss``).
        needs_indices: It keeps a per-example state, so batches must say which examples they hold.
    """

    name: ClassVar[str] = "loss"
    needs_indices: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self._check(f"loss {self.name!r}")

    def _check(self, owner: str) -> None:
        return None  # an optional hook: losses without parameters have nothing to check

    def start(self, state: dict[str, Any], *, num_examples: int, num_classes: int) -> None:
        """Initialise per-run state (e.g. per-example target averages)."""
        return None  # stateless losses keep nothing

    @abstractmethod
    def __call__(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        *,
        indices: torch.Tensor | None = None,
        state: dict[str, Any] | None = None,
    ) -> torch.Tensor:
        """Per-example losses ``(N,)``."""

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "params": dataclasses.asdict(self)}


def make_loss(name: str | Loss, **params: Any) -> Loss:
    """The registered loss ``name`` built from keyword parameters (did-you-mean on typos)."""
    if isinstance(name, Loss):
        return name
    loss = LOSSES.build(name, **params)
    assert isinstance(loss, Loss)
    return loss
