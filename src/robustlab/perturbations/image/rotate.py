"""Rotate (MNIST-C): a rotation of random sign about the image centre."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._geometry import centred_warp, random_signs
from robustlab.seeding import Draws

# Rotation angle in radians (sign drawn per image), severity 1..5.
PARAMS = {"mnist": (0.2, 0.4, 0.6, 0.8, 1.0)}


def rotation_matrix(angles: torch.Tensor) -> torch.Tensor:
    """[[cos a, -sin a], [sin a, cos a]] on (column, row) coordinates."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    return torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], dim=-2)


@corruption("rotate", family="mnist_c", params=PARAMS, reference_severity=2)
def rotate(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Output pixel p reads the input at ``R (p - c) + c`` (bilinear, black outside).

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    angles = PARAMS["mnist"][severity - 1] * random_signs((x.shape[0],), x, generator)
    return centred_warp(x, rotation_matrix(angles))
