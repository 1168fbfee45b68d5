"""Motion blur: a one-sided Gaussian-weighted streak at a random angle per image."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import MNIST_SIZE, reference_set, uniform
from robustlab.perturbations.image._ops import motion_blur as _streak
from robustlab.seeding import Draws

# (radius, sigma) in pixels at the reference size, severity 1..5; angle ~ U(-45, 45) degrees.
PARAMS = {
    "imagenet": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
    "cifar": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
}
MNIST_PARAMS = {"mnist": PARAMS["imagenet"]}


def _blur(x: torch.Tensor, radius: float, sigma: float, generator: Draws) -> torch.Tensor:
    angles = uniform((x.shape[0],), -45.0, 45.0, x, generator)
    return _streak(x, max(1, round(radius)), max(sigma, 1e-3), angles)


@corruption("motion_blur", family="imagenet_c", params=PARAMS)
def motion_blur(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """ImageMagick-style motion blur (see :func:`robustlab.perturbations.image._ops.motion_blur`).

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, scale = reference_set(*x.shape[-2:])
    radius, sigma = PARAMS[table][severity - 1]
    return _blur(x, radius * scale, sigma * scale, generator)


@corruption("mnist_motion_blur", family="mnist_c", params=MNIST_PARAMS, reference_severity=1)
def mnist_motion_blur(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Motion blur with the ImageNet-C radii at 28 px, as MNIST-C; scaled by ``min(H, W) / 28``.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    scale = min(x.shape[-2:]) / MNIST_SIZE
    radius, sigma = MNIST_PARAMS["mnist"][severity - 1]
    return _blur(x, radius * scale, sigma * scale, generator)
