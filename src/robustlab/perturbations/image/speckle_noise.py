"""Speckle noise: multiplicative Gaussian noise (held-out ImageNet-C corruption)."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Standard deviation of the multiplicative noise, severity 1..5.
PARAMS = {
    "imagenet": (0.15, 0.2, 0.35, 0.45, 0.6),
    "cifar": (0.06, 0.1, 0.12, 0.16, 0.2),
}


@corruption("speckle_noise", family="imagenet_c_extra", params=PARAMS)
def speckle_noise(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """``clip(x + x * N(0, sigma^2))``.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    sigma = PARAMS[table][severity - 1]
    noise = generator.randn(x.shape, device=x.device, dtype=x.dtype)
    return noise.mul_(sigma).add_(1).mul_(x)
