"""Zoom blur: the average of the image zoomed into its centre by increasing factors."""

from __future__ import annotations

import numpy as np
import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import clipped_zoom, reference_set
from robustlab.seeding import Draws


def _factors(stop: float, step: float) -> tuple[float, ...]:
    # numpy's arange, as the reference (its float rounding adds a last factor in some rows).
    return tuple(float(f) for f in np.arange(1, stop, step))


# Zoom factors averaged (with the clean image), severity 1..5.
PARAMS = {
    "imagenet": tuple(
        _factors(*a) for a in ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03))
    ),
    "cifar": tuple(
        _factors(*a) for a in ((1.06, 0.01), (1.11, 0.01), (1.16, 0.01), (1.21, 0.01), (1.26, 0.01))
    ),
}


@corruption("zoom_blur", family="imagenet_c", params=PARAMS, random=False)
def zoom_blur(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """``(x + sum_f clipped_zoom(x, f)) / (len(factors) + 1)``.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    factors = PARAMS[table][severity - 1]
    out = x.clone()
    for f in factors:
        out += clipped_zoom(x, f)
    return out / (len(factors) + 1)
