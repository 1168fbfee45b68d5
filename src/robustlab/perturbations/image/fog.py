"""Fog: a diamond-square plasma fractal added to a contrast-reduced image."""

from __future__ import annotations

import math

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import (
    MNIST_SIZE,
    next_power_of_2,
    plasma_fractal,
    reference_set,
)
from robustlab.seeding import Draws

# (fog strength, wibble decay of the fractal) at the reference size, severity 1..5.
PARAMS = {
    "imagenet": ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)),
    "cifar": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
}
MNIST_PARAMS = {"mnist": PARAMS["imagenet"]}
_MNIST_MAPSIZE = 256  # MNIST-C crops its 28 px from a 256 px fractal: a smoother fog
_MAX_MAPSIZE = 256


def _fog(
    x: torch.Tensor, strength: float, decay: float, mapsize: int, generator: Draws
) -> torch.Tensor:
    n, _, h, w = x.shape
    plasma = plasma_fractal(n, mapsize, decay, x, generator)[:, None, :h, :w]
    max_val = x.reshape(n, -1).max(dim=1).values.view(n, 1, 1, 1)
    return (x + strength * plasma) * max_val / (max_val + strength)


@corruption("fog", family="imagenet_c", params=PARAMS)
def fog(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """``(x + s * plasma) * max(x) / (max(x) + s)``, plasma on the next power of two >= side.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    strength, decay = PARAMS[table][severity - 1]
    return _fog(x, strength, decay, next_power_of_2(max(x.shape[-2:])), generator)


# Not monotonic: the strength plateaus at 2.5 while the fractal gets rougher (severities 3-4).
@corruption(
    "mnist_fog", family="mnist_c", params=MNIST_PARAMS, monotonic=False, reference_severity=5
)
def mnist_fog(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Fog with ImageNet-C strengths, cropped from a fractal ~9x the image side, as MNIST-C.

    The fractal is ``256 * side / 28`` pixels (next power of two, at most 256, so images larger
    than 28 px see a rougher fog) and the image takes its top-left corner.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    strength, decay = MNIST_PARAMS["mnist"][severity - 1]
    side = max(x.shape[-2:])
    mapsize = min(next_power_of_2(math.ceil(_MNIST_MAPSIZE * side / MNIST_SIZE)), _MAX_MAPSIZE)
    return _fog(x, strength, decay, max(mapsize, next_power_of_2(side)), generator)
