"""Dotted line (MNIST-C): a dashed line across the image."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._lines import line_layer, line_width
from robustlab.perturbations.image._ops import MNIST_SIZE
from robustlab.seeding import Draws

# MNIST-C defines one level: dash length in pixels at 28 px, the same for every severity.
PARAMS = {"mnist": (2, 2, 2, 2, 2)}


@corruption(
    "dotted_line", family="mnist_c", params=PARAMS, monotonic=False, severity_dependent=False
)
def dotted_line(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Add a line from column 0 to the last column, random rows at each end, with every other
    dash (starting with the first) removed; clipped to [0, 1].

    Line width and dash length scale with ``min(H, W) / 28``.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    n, _, h, w = x.shape
    scale = min(h, w) / MNIST_SIZE
    ends = generator.randint(0, h - 1, (n, 2), device=x.device).T.to(x.dtype)
    zeros = torch.zeros(n, dtype=x.dtype, device=x.device)
    layer = line_layer(zeros, ends[0], zeros + (w - 1), ends[1], h, w, line_width(scale))
    dash = max(1, round(PARAMS["mnist"][severity - 1] * scale))
    cols = torch.arange(w, device=x.device)
    layer = torch.where((cols // dash) % 2 == 0, torch.zeros_like(layer), layer)
    return x + layer
