"""Defocus blur: convolution with an anti-aliased disk."""

from __future__ import annotations

import math

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import filter2d, reference_set
from robustlab.seeding import Draws

# (disk radius in pixels at the reference size, anti-aliasing sigma), severity 1..5.
PARAMS = {
    "imagenet": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    "cifar": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
}


def disk_kernel(radius: float, alias_blur: float, like: torch.Tensor) -> torch.Tensor:
    """The reference's disk: a binary disk summing to 1, smoothed by a small Gaussian.

    The disk lives on a grid of half-width ``max(8, ceil(radius))`` and is smoothed with a 3x3
    (radius <= 8) or 5x5 Gaussian of sigma ``alias_blur`` with reflected borders, without
    renormalising, as OpenCV's GaussianBlur does in the reference.
    """
    half = 8 if radius <= 8 else math.ceil(radius)
    ksize = 3 if radius <= 8 else 5
    t = torch.arange(-half, half + 1, dtype=like.dtype, device=like.device)
    disk = ((t[:, None] ** 2 + t[None, :] ** 2) <= radius**2).to(like.dtype)
    disk = disk / disk.sum()
    g = torch.arange(ksize, dtype=like.dtype, device=like.device) - (ksize - 1) / 2
    g = torch.exp(-(g**2) / (2 * alias_blur**2))
    g = g / g.sum()
    smooth = filter2d(disk[None, None], g[:, None] * g[None, :], "reflect101")[0, 0]
    # Rows and columns that are exactly zero do not change the result; dropping them keeps the
    # kernel small on small images.
    nz = smooth.abs().sum(dim=0).nonzero()
    r = int(max(half - int(nz.min()), int(nz.max()) - half))
    return smooth[half - r : half + r + 1, half - r : half + r + 1]


@corruption("defocus_blur", family="imagenet_c", params=PARAMS, random=False)
def defocus_blur(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Per-channel convolution with :func:`disk_kernel` (reflected borders).

    On images smaller than the reference the radius shrinks with the size, but not below
    ``min(radius, 1)`` pixel.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, scale = reference_set(*x.shape[-2:])
    radius, alias = PARAMS[table][severity - 1]
    # A disk narrower than one pixel is a single pixel, so shrinking never goes below
    # min(radius, 1); the anti-aliasing sigma acts on the kernel's own grid and is not rescaled.
    radius = max(radius * scale, min(radius, 1.0))
    return filter2d(x, disk_kernel(radius, alias, x), "reflect101")
