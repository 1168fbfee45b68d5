"""Snow: a thresholded, motion-blurred noise layer over a brightened image."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import (
    clipped_zoom,
    luminance,
    motion_blur,
    reference_set,
    uniform,
)
from robustlab.seeding import Draws

# (mean, std, zoom, threshold, blur radius, blur sigma, blend) at the reference size,
# severity 1..5; radius and sigma are in pixels.
PARAMS = {
    "imagenet": (
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ),
    "cifar": (
        (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
    ),
}


@corruption("snow", family="imagenet_c", params=PARAMS, monotonic=False)
def snow(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Snowflakes: N(mean, std) noise, zoomed, thresholded, motion-blurred at -135..-45 deg.

    The image is first blended (weight ``blend``) with ``max(x, 1.5 * gray + 0.5)``; the flake
    layer and its 180-degree rotation are then added.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, scale = reference_set(*x.shape[-2:])
    mean, std, zoom, threshold, radius, sigma, blend = PARAMS[table][severity - 1]
    n, c, h, w = x.shape
    flakes = mean + std * generator.randn((n, 1, h, w), device=x.device, dtype=x.dtype)
    flakes = clipped_zoom(flakes, zoom)
    flakes = torch.where(flakes < threshold, torch.zeros_like(flakes), flakes).clamp(0, 1)
    angles = uniform((n,), -135.0, -45.0, x, generator)
    flakes = motion_blur(flakes, max(1, round(radius * scale)), max(sigma * scale, 1e-3), angles)
    flakes = torch.round(flakes * 255) / 255  # the reference stores the layer as uint8
    gray = luminance(x, (0.299, 0.587, 0.114)) if c == 3 else x
    x = blend * x + (1 - blend) * torch.maximum(x, gray * 1.5 + 0.5)
    return x + flakes + torch.flip(flakes, dims=(-2, -1))
