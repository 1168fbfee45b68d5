"""Inner maximisation for adversarial training: the loss-maximising point of the budget.

Evaluation attacks (:mod:`robustlab.attacks`) stop at the first misclassified iterate and skip
points already misclassified; training needs the opposite, the final (loss-maximising) iterate on
every point of the batch and a differentiable loss of the trainer's choosing, so it has its own
few lines here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["maximise", "project", "random_start", "signed_step"]

LossFn = Callable[[torch.Tensor], torch.Tensor]


def _flat_norm(d: torch.Tensor) -> torch.Tensor:
    return d.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, *([1] * (d.ndim - 1)))


def project(delta: torch.Tensor, norm: str, epsilon: float) -> torch.Tensor:
    """``delta`` projected onto the ``norm`` ball of radius ``epsilon``."""
    if norm == "linf":
        return delta.clamp(-epsilon, epsilon)
    return delta * (epsilon / _flat_norm(delta)).clamp(max=1.0)


def signed_step(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """The steepest-ascent direction of unit ``norm``: the sign (Linf) or normalised gradient."""
    if norm == "linf":
        return grad.sign()
    return grad / _flat_norm(grad)


def random_start(
    x: torch.Tensor, norm: str, epsilon: float, generator: torch.Generator
) -> torch.Tensor:
    """A uniform draw from the ``norm`` ball (Linf), or a Gaussian direction scaled into it (L2)."""
    if norm == "linf":
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (2 * u - 1) * epsilon
    g = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    r = torch.rand((len(x),), generator=generator, device=x.device, dtype=x.dtype)
    return g / _flat_norm(g) * (epsilon * r).view(-1, *([1] * (x.ndim - 1)))


def maximise(
    loss_of: LossFn,
    x: torch.Tensor,
    *,
    norm: str,
    epsilon: float,
    steps: int,
    step_size: float,
    bounds: tuple[float, float],
    generator: torch.Generator,
    start: torch.Tensor | None = None,
) -> torch.Tensor:
    """Projected gradient ascent of ``loss_of(adv)`` (summed over the batch) from ``start``.

    Returns the detached final iterate, inside the ball around ``x`` and the bounds.

    References:
        Madry et al., "Towards deep learning models resistant to adversarial attacks", ICLR 2018.
    """
    low, high = bounds
    delta = random_start(x, norm, epsilon, generator) if start is None else start
    adv = (x + delta).clamp(low, high).detach()
    for _ in range(steps):
        adv.requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(loss_of(adv), adv)
        delta = project(adv.detach() + step_size * signed_step(grad, norm) - x, norm, epsilon)
        adv = (x + delta).clamp(low, high).detach()
    return adv
