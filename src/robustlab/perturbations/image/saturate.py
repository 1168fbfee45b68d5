"""Saturate: scale and shift the HSV saturation channel (held-out ImageNet-C corruption)."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# (factor, offset) applied to S in HSV, severity 1..5.
PARAMS = {
    "imagenet": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
    "cifar": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
}


def resaturate(x: torch.Tensor, factor: float, offset: float) -> torch.Tensor:
    """``S' = clip(S * factor + offset)`` with hue and value kept, in closed form.

    With V = max and delta = max - min, every channel is ``V - S V (V - x) / delta`` for the
    image's own hue, so the new image is ``V - S' V (V - x) / delta``. Gray pixels (delta = 0)
    have hue 0 (red) in the HSV convention, so a positive offset tints them red, as in the
    reference. A 1-channel image has no saturation and is returned unchanged, as the reference
    does (it converts to RGB and keeps the red channel, which equals V).
    """
    if x.shape[1] == 1:
        return x.clone()
    v = x.amax(dim=1, keepdim=True)
    delta = v - x.amin(dim=1, keepdim=True)
    s = torch.where(v > 0, delta / v.clamp_min(1e-12), torch.zeros_like(v))
    s_new = (s * factor + offset).clamp(0, 1)
    coloured = v - s_new * v * (v - x) / delta.clamp_min(1e-12)
    gray = torch.cat([v, v * (1 - s_new), v * (1 - s_new)], dim=1)
    return torch.where(delta > 0, coloured, gray)


@corruption(
    "saturate",
    family="imagenet_c_extra",
    params=PARAMS,
    random=False,
    monotonic=False,
    changes_grayscale=False,
)
def saturate(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """See :func:`resaturate`; severities 1-2 desaturate and 3-5 oversaturate.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    factor, offset = PARAMS[table][severity - 1]
    return resaturate(x, factor, offset)
