"""Stripe (MNIST-C): invert the left and right quarters of the image."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.seeding import Draws

# MNIST-C defines one level; the same table entry serves every severity.
PARAMS = {"mnist": (0.25, 0.25, 0.25, 0.25, 0.25)}


@corruption(
    "stripe",
    family="mnist_c",
    params=PARAMS,
    random=False,
    monotonic=False,
    severity_dependent=False,
)
def stripe(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """``1 - x`` on columns ``[0, W // 4)`` and ``[3W // 4, W)`` (7 and 7 of 28 in MNIST-C).

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    w = x.shape[-1]
    cols = torch.arange(w, device=x.device)
    band = (cols < w // 4) | (cols >= (3 * w) // 4)
    return torch.where(band, 1 - x, x)
