"""The public single-attack entry point ``run()``."""

from __future__ import annotations

from typing import Any

from robustlab.attacks.image._base import build_attack
from robustlab.attacks.image._result import AttackResult
from robustlab.models.base import Model

__all__ = ["run"]


def run(
    model: Model,
    inputs: Any,
    targets: Any,
    attack: str = "pgd",
    *,
    norm: str = "linf",
    epsilon: float | None = None,
    seed: int = 0,
    bounds: tuple[float, float] | None = None,
    **params: Any,
) -> AttackResult:
    """Run the registered attack ``attack`` on a batch.

    Only inputs the model classifies correctly are attacked; the others count as successes with
    the clean input returned. Success is decided by a fresh forward pass on the adversarial input,
    after projecting it onto the epsilon ball and the input bounds.

    Args:
        model: Any :class:`~robustlab.models.Model`; gradient attacks need a ``TorchModel``.
        inputs: Batch ``(N, ...)`` of raw inputs within the model's bounds (tensor or array).
        targets: True class indices ``(N,)``.
        attack: Registered name, see ``ATTACKS.names()``.
        norm: ``linf``, ``l2`` or ``l1`` (each attack supports a subset).
        epsilon: Perturbation budget; may be ``None`` only for minimal-norm attacks, which then
            return the smallest adversarial perturbation they find.
        seed: Seeds a ``torch.Generator`` on the model's device; same seed, same result.
        bounds: Valid input range, overriding ``model.bounds`` (required if the model has none).
        **params: The attack's parameters (its dataclass fields), e.g. ``steps=100``.

    Returns:
        An :class:`AttackResult` with tensors on the CPU.

    Raises:
        ConfigError: Unknown attack or parameter, unsupported norm, bad epsilon, or a gradient
            attack on a black-box model (the message names the attacks that would work).
        DataError: Inputs outside the bounds, or targets of the wrong shape or range.
    """
    return build_attack(attack, **params).run(
        model, inputs, targets, norm=norm, epsilon=epsilon, seed=seed, bounds=bounds
    )
