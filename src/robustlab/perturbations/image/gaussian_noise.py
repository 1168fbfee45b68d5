"""Gaussian noise: additive, independent per pixel and channel."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Standard deviation of the noise, severity 1..5.
PARAMS = {
    "imagenet": (0.08, 0.12, 0.18, 0.26, 0.38),
    "cifar": (0.04, 0.06, 0.08, 0.09, 0.10),
}


@corruption("gaussian_noise", family="imagenet_c", params=PARAMS)
def gaussian_noise(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """``clip(x + N(0, sigma^2))``.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    sigma = PARAMS[table][severity - 1]
    noise = generator.randn(x.shape, device=x.device, dtype=x.dtype)
    return noise.mul_(sigma).add_(x)
