"""Gaussian blur (held-out ImageNet-C corruption)."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import gaussian_blur as _blur
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Standard deviation of the Gaussian in pixels at the reference size, severity 1..5.
PARAMS = {
    "imagenet": (1, 2, 3, 4, 6),
    "cifar": (0.4, 0.6, 0.7, 0.8, 1),
}


@corruption("gaussian_blur", family="imagenet_c_extra", params=PARAMS, random=False)
def gaussian_blur(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Per-channel Gaussian blur (edge-replicated border, kernel radius ``4 sigma``).

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, scale = reference_set(*x.shape[-2:])
    return _blur(x, PARAMS[table][severity - 1] * scale)
