"""Zigzag (MNIST-C): a zigzag line across the image."""

from __future__ import annotations

import math

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._lines import line_layer, line_width
from robustlab.perturbations.image._ops import MNIST_SIZE
from robustlab.seeding import Draws

# MNIST-C defines one level: (half period, amplitude, first column, last column, max tilt) in
# pixels at 28 px, the same for every severity.
PARAMS = {"mnist": ((2.0, 2.0, 2, 25, 5),) * 5}


def _vertices(
    a: float, b: float, c0: float, c1: float, r0: float, r1: float
) -> list[tuple[float, float]]:
    # The zigzag runs along a tilted baseline from (c0, r0) towards (c1, r1): peaks alternate
    # +-b every a pixels, and the last vertex lands on the baseline's end.
    theta = math.atan((r1 - r0) / (c1 - c0))
    length = (c1 - c0) / math.cos(theta)
    points = [(0.0, 0.0)]
    r_i = 0.0
    for i in range(int((length - a) // (2 * a)) + 1):
        r_i = (-1) ** i * b
        points.append(((2 * i + 1) * a, r_i))
    full = (2 * a) * (length // (2 * a))
    if length != full:
        points.append((length, r_i / (2 * (length - full))))
    cos, sin = math.cos(theta), math.sin(theta)
    return [(cos * c - sin * r + c0, sin * c + cos * r + r0) for c, r in points]


@corruption("zigzag", family="mnist_c", params=PARAMS, monotonic=False, severity_dependent=False)
def zigzag(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Add a zigzag polyline at a random height and tilt, clipping after each segment.

    All lengths scale with ``min(H, W) / 28``.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    n, _, h, w = x.shape
    scale = min(h, w) / MNIST_SIZE
    a, b, first, last, tilt = PARAMS["mnist"][severity - 1]
    starts = generator.randint(0, h - 1, (n,), device=x.device).tolist()
    tilts = generator.randint(-tilt, tilt, (n,), device=x.device).tolist()
    paths = [
        _vertices(a * scale, b * scale, first * scale, last * scale, r, r + t * scale)
        for r, t in zip(starts, tilts)
    ]
    segments = max(len(p) for p in paths) - 1
    # Images with fewer vertices repeat their last one: a zero-length segment draws nothing.
    padded = [p + [p[-1]] * (segments + 1 - len(p)) for p in paths]
    coords = torch.tensor(padded, dtype=x.dtype, device=x.device)  # (N, V, 2) as (col, row)
    width = line_width(scale)
    for k in range(segments):
        layer = line_layer(
            coords[:, k, 0], coords[:, k, 1], coords[:, k + 1, 0], coords[:, k + 1, 1], h, w, width
        )
        x = (x + layer).clamp(0, 1)
    return x
