"""Contrast: pull every channel towards its mean."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Contrast factor (lower = flatter), severity 1..5.
PARAMS = {
    "imagenet": (0.4, 0.3, 0.2, 0.1, 0.05),
    "cifar": (0.75, 0.5, 0.4, 0.3, 0.15),
}


@corruption("contrast", family="imagenet_c", params=PARAMS, random=False)
def contrast(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """``(x - mean) * c + mean`` with the mean per image and channel.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    factor = PARAMS[table][severity - 1]
    mean = x.mean(dim=(-2, -1), keepdim=True)
    # One pass over the pixels: mean + factor * (x - mean) = mean * (1 - factor) + factor * x.
    return torch.add(mean * (1 - factor), x, alpha=factor)
