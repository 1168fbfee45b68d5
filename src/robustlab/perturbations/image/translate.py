"""Translate (MNIST-C): shift by a whole number of pixels along both axes, random signs."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._geometry import centred_warp, random_signs
from robustlab.perturbations.image._ops import MNIST_SIZE
from robustlab.seeding import Draws

# Shift in pixels at 28 px along each axis (each sign drawn per image), severity 1..5.
PARAMS = {"mnist": (1, 2, 3, 4, 5)}


@corruption("translate", family="mnist_c", params=PARAMS, reference_severity=3)
def translate(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Output pixel p reads the input at ``p + (dx, dy)``, ``|dx| = |dy| = d``, black outside.

    ``d`` scales with ``min(H, W) / 28`` and is rounded to whole pixels (at least 1).

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    d = max(1, round(PARAMS["mnist"][severity - 1] * min(x.shape[-2:]) / MNIST_SIZE))
    shift = d * random_signs((x.shape[0], 2), x, generator)
    return centred_warp(x, torch.eye(2, dtype=x.dtype, device=x.device), shift)
