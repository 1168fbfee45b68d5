"""Shear (MNIST-C): a horizontal shear of random sign about the image centre."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._geometry import centred_warp, random_signs
from robustlab.seeding import Draws

# Shear angle in radians (sign drawn per image), severity 1..5.
PARAMS = {"mnist": (0.2, 0.4, 0.6, 0.8, 1.0)}


def shear_matrix(angles: torch.Tensor) -> torch.Tensor:
    """skimage's AffineTransform(shear=a) linear part: [[1, -sin a], [0, cos a]]."""
    one, zero = torch.ones_like(angles), torch.zeros_like(angles)
    return torch.stack(
        [torch.stack([one, -torch.sin(angles)], -1), torch.stack([zero, torch.cos(angles)], -1)],
        dim=-2,
    )


@corruption("shear", family="mnist_c", params=PARAMS, reference_severity=2)
def shear(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Output pixel p reads the input at ``S (p - c) + c`` (bilinear, black outside).

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    angles = PARAMS["mnist"][severity - 1] * random_signs((x.shape[0],), x, generator)
    return centred_warp(x, shear_matrix(angles))
