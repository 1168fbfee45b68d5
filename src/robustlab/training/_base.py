"""The Recipe contract: one training step's loss on a batch, with state the recipe owns."""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from robustlab.training._registry import RECIPES
from robustlab.validation import check_choice, check_int, check_number, fail

__all__ = ["NORMS", "Recipe", "Step", "check_epsilon", "make_recipe"]

NORMS = ("linf", "l2")


@dataclass
class Step:
    """What a recipe sees at one optimisation step.

    Attributes:
        forward: The differentiable model: raw inputs within ``bounds`` to logits.
        module: The ``nn.Module`` being trained (for mode switches and snapshots).
        inputs: Batch ``(N, ...)`` of raw inputs.
        targets: Class indices ``(N,)`` (possibly noisy labels).
        groups: Group index per example ``(N,)``, or ``None`` when the data carry no groups.
        indices: Position of each example in the training set, or ``None`` for a DataLoader.
        bounds: Valid input range ``(low, high)``.
        generator: Seeded generator for every random draw of the step.
        step: Optimisation steps taken so far.
        epoch: Current epoch (from 0).
        progress: Fraction of training done, in ``[0, 1)`` (for epsilon warm-up).
        state: Mutable state the recipe keeps across steps (group weights, target averages).
        info: Numbers the recipe reports for this step (shown in the training history).
    """

    forward: Any
    module: nn.Module
    inputs: torch.Tensor
    targets: torch.Tensor
    groups: torch.Tensor | None
    indices: torch.Tensor | None
    bounds: tuple[float, float]
    generator: torch.Generator
    step: int
    epoch: int
    progress: float
    state: dict[str, Any] = field(default_factory=dict)
    info: dict[str, float] = field(default_factory=dict)

    def eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits with the module in eval mode (batch-norm statistics untouched), as attacks use."""
        was = self.module.training
        self.module.eval()
        try:
            out: torch.Tensor = self.forward(x)
            return out
        finally:
            self.module.train(was)


def check_epsilon(
    owner: str, epsilon: object, norm: str, bounds: tuple[float, float], dim: int
) -> float:
    """Return ``epsilon`` if it is positive and smaller than the input range allows.

    A Linf budget of ``high - low`` (an L2 budget of ``(high - low) * sqrt(dim)``) lets the
    perturbation reach every input, so nothing could be learnt; such schedules are refused.
    """
    eps = check_number(owner, "epsilon", epsilon)
    assert eps is not None
    span = bounds[1] - bounds[0]
    limit = span if norm == "linf" else span * math.sqrt(dim)
    if eps >= limit:
        raise fail(
            owner,
            "epsilon",
            f"smaller than the {norm} diameter of the input bounds {bounds} ({limit:g})",
            epsilon,
            "Scale epsilon to the raw input range (e.g. 8/255 for images in [0, 1]).",
        )
    return eps


@dataclass(frozen=True)
class Recipe(ABC):
    """Base class of every recipe: a frozen dataclass whose fields are its parameters.

    A recipe turns a batch into the loss the optimiser minimises (``objective``). It may generate
    adversarial or noisy inputs, weigh groups, or regularise; the training loop
    (:func:`robustlab.training.fit`) supplies the optimiser, schedule, averaging and monitor, so
    any recipe combines with any of them (TRADES + SWA, Group DRO + EMA, ...).

    Class attributes:
        name: Registered name (set by ``register_recipe``).
        needs_groups: The data must carry a group per example.
        adversarial: It perturbs inputs within ``epsilon`` (checked against the bounds).
    """

    name: ClassVar[str] = "recipe"
    needs_groups: ClassVar[bool] = False
    adversarial: ClassVar[bool] = False

    loss: str = "ce"
    loss_params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from robustlab.training.losses import make_loss

        owner = f"recipe {self.name!r}"
        if not isinstance(self.loss_params, Mapping):
            raise fail(owner, "loss_params", "a mapping of the loss's parameters", self.loss_params)
        # built once here, so a bad loss name or parameter fails before training starts
        object.__setattr__(self, "_loss_fn", make_loss(self.loss, **dict(self.loss_params)))
        self._check(owner)

    def per_example_loss(self, logits: torch.Tensor, step: Step) -> torch.Tensor:
        """The recipe's classification loss (``loss``) per example of ``step``'s batch."""
        fn = self._loss_fn  # type: ignore[attr-defined]
        out: torch.Tensor = fn(logits, step.targets, indices=step.indices, state=step.state)
        return out

    def _check(self, owner: str) -> None:
        """Validate the fields; raise ConfigError with the standard message."""
        return None  # an optional hook: recipes without parameters have nothing to check

    def check_data(
        self,
        bounds: tuple[float, float],
        dim: int,
        num_groups: int,
        shape: tuple[int, ...] = (),
    ) -> None:
        """Refuse settings that cannot work on this data (epsilon beyond the bounds, no groups)."""
        owner = f"recipe {self.name!r}"
        if self.adversarial:
            p = self.params
            check_epsilon(owner, p["epsilon"], p["norm"], bounds, dim)
        if self.needs_groups and num_groups < 2:
            raise fail(
                owner,
                "data",
                "data with a group per example (at least two groups)",
                f"{num_groups} group(s)",
                "Pass groups=... to fit(), a dataset with a 'group' metadata column, or a "
                "DataLoader yielding (inputs, targets, groups).",
            )

    def start(
        self, state: dict[str, Any], *, num_examples: int, num_groups: int, num_classes: int
    ) -> None:
        """Initialise ``state`` before the first step (group weights, per-example buffers)."""
        fn = self._loss_fn  # type: ignore[attr-defined]
        if fn.needs_indices and num_examples == 0:
            raise fail(
                f"recipe {self.name!r}",
                "loss",
                "a loss without per-example state when training from a DataLoader",
                self.loss,
                "Pass the training data as tensors or a robustlab Dataset, or use 'gce' / 'sce'.",
            )
        fn.start(state, num_examples=num_examples, num_classes=num_classes)

    @abstractmethod
    def objective(self, step: Step) -> torch.Tensor:
        """The scalar loss to minimise on ``step``'s batch."""

    def guard(self, step: Step) -> dict[str, Any] | None:
        """Check the run is healthy; a dict describing the failure makes the loop roll back.

        Called every ``guard_every`` steps by recipes that set it; the loop then restores the
        weights and optimiser of the last healthy check and continues with :meth:`fallback`.
        """
        return None

    def fallback(self) -> Recipe:
        """The recipe to continue with after the guard fired."""
        return self

    @property
    def params(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["loss_params"] = dict(self.loss_params)
        return out

    def spec(self) -> dict[str, Any]:
        """Name and parameters, as stored with the training log."""
        return {"name": self.name, "params": self.params}


def make_recipe(name: str | Recipe, **params: Any) -> Recipe:
    """The registered recipe ``name`` built from keyword parameters (did-you-mean on typos)."""
    if isinstance(name, Recipe):
        if params:
            return dataclasses.replace(name, **params)
        return name
    recipe = RECIPES.build(name, **params)
    assert isinstance(recipe, Recipe)
    return recipe


def check_norm(owner: str, norm: object) -> None:
    check_choice(owner, "norm", norm, NORMS)


def check_steps(owner: str, param: str, value: object) -> None:
    check_int(owner, param, value)
