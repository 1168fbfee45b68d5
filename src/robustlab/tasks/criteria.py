"""The bundled criteria: what "this perturbation broke the example" means per task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from robustlab.errors import ConfigError
from robustlab.tasks.base import CRITERIA, Criterion

__all__ = ["Demoted", "Misclassified", "ScoreChanged", "TargetedClass"]


def _other_max(scores: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
    """Largest score of the classes other than ``cls`` per row (differentiable)."""
    return scores.scatter(1, cls.long().view(-1, 1), float("-inf")).amax(dim=1)


def _own(scores: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
    return scores.gather(1, cls.long().view(-1, 1)).squeeze(1)


@CRITERIA.register("misclassified")
@dataclass(frozen=True)
class Misclassified(Criterion):
    """Broken when the predicted class (the arg-max score) is not the true class."""

    name: ClassVar[str] = "misclassified"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)

    def broken(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        return outputs.argmax(dim=1) != targets

    def margin(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        return _own(outputs, targets) - _other_max(outputs, targets)


@CRITERIA.register("targeted_class")
@dataclass(frozen=True)
class TargetedClass(Criterion):
    """Broken when the model predicts the chosen ``target_class`` (a targeted attack's goal)."""

    name: ClassVar[str] = "targeted_class"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    target_class: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.target_class, bool) or not isinstance(self.target_class, int):
            raise ConfigError(
                f"The 'target_class' parameter of criterion 'targeted_class' must be an int. "
                f"Got {self.target_class!r} instead."
            )

    def _goal(self, outputs: torch.Tensor) -> torch.Tensor:
        if not 0 <= self.target_class < outputs.shape[1]:
            raise ConfigError(
                f"The 'target_class' parameter of criterion 'targeted_class' must be a class "
                f"index in [0, {outputs.shape[1] - 1}]. Got {self.target_class} instead."
            )
        return torch.full((len(outputs),), self.target_class, device=outputs.device)

    def broken(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        return outputs.argmax(dim=1) == self._goal(outputs)

    def margin(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        goal = self._goal(outputs)
        return _other_max(outputs, goal) - _own(outputs, goal)


@CRITERIA.register("score_changed")
@dataclass(frozen=True)
class ScoreChanged(Criterion):
    """Broken when a regression prediction moves more than ``tolerance`` from the clean one."""

    name: ClassVar[str] = "score_changed"
    tasks: ClassVar[tuple[str, ...]] = ("regression",)
    needs_clean: ClassVar[bool] = True
    tolerance: float = 0.1

    def __post_init__(self) -> None:
        if not float(self.tolerance) >= 0:
            raise ConfigError(
                f"The 'tolerance' parameter of criterion 'score_changed' must be >= 0. "
                f"Got {self.tolerance!r} instead."
            )

    def margin(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        ref = self._need_clean(clean)
        return self.tolerance - (outputs.reshape(-1) - ref.reshape(-1)).abs()

    def broken(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.margin(outputs, targets, clean) < 0


@CRITERIA.register("demoted")
@dataclass(frozen=True)
class Demoted(Criterion):
    """Broken when a query's relevant document falls out of the top ``k`` (a demotion attack).

    ``outputs`` are ``(n, D)`` document scores per query and ``targets`` the ``(n,)`` index of the
    relevant document whose rank is tracked.
    """

    name: ClassVar[str] = "demoted"
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)
    k: int = 10

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ConfigError(
                f"The 'k' parameter of criterion 'demoted' must be a positive int. "
                f"Got {self.k!r} instead."
            )

    def margin(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        idx = targets.long().view(-1, 1)
        own = outputs.gather(1, idx)
        k = min(self.k, outputs.shape[1])
        masked = outputs.scatter(1, idx, -torch.inf)
        # The k-th best score among the other documents: the relevant one stays in the top k while
        # it beats it.
        kth = masked.topk(k, dim=1).values[:, -1] if k <= outputs.shape[1] - 1 else None
        if kth is None:
            return torch.ones(len(outputs), dtype=outputs.dtype, device=outputs.device)
        return own.squeeze(1) - kth

    def broken(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.margin(outputs, targets, clean) <= 0
