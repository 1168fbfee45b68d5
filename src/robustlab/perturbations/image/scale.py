"""Scale (MNIST-C): shrink the image about its centre."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._geometry import centred_warp
from robustlab.seeding import Draws

# Inverse-map scale factor (1 / output size ratio), severity 1..5.
PARAMS = {"mnist": (1 / 0.9, 1 / 0.8, 1 / 0.7, 1 / 0.6, 1 / 0.5)}


@corruption("scale", family="mnist_c", params=PARAMS, random=False, reference_severity=3)
def scale(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Output pixel p reads the input at ``s (p - c) + c``: the content shrinks by ``1 / s``.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    factor = PARAMS["mnist"][severity - 1]
    return centred_warp(x, torch.eye(2, dtype=x.dtype, device=x.device) * factor)
