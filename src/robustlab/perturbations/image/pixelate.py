"""Pixelate: box-downsample, then upsample back with nearest neighbours."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Downsampling factor (lower = coarser), severity 1..5.
PARAMS = {
    "imagenet": (0.6, 0.5, 0.4, 0.3, 0.25),
    "cifar": (0.95, 0.9, 0.85, 0.75, 0.65),
}


def box_weights(size_in: int, size_out: int, like: torch.Tensor) -> torch.Tensor:
    """Pillow's BOX resampling as a (size_out, size_in) matrix.

    Output pixel ``o`` averages the input pixels whose centres fall in its footprint
    ``((o + 0.5) * s - s/2, (o + 0.5) * s + s/2]`` with ``s = size_in / size_out`` (at least one
    pixel wide when upsampling, which makes the upsampling a nearest-neighbour lookup).
    """
    scale = size_in / size_out
    support = 0.5 * max(scale, 1.0)
    centre = (torch.arange(size_out, dtype=torch.float64) + 0.5) * scale
    pos = torch.arange(size_in, dtype=torch.float64) + 0.5
    dist = (pos[None, :] - centre[:, None]) / max(scale, 1.0)
    lo = torch.clamp((centre - support + 0.5).floor(), min=0)
    hi = torch.clamp((centre + support + 0.5).floor(), max=size_in)
    idx = torch.arange(size_in, dtype=torch.float64)[None, :]
    inside = (dist > -0.5) & (dist <= 0.5) & (idx >= lo[:, None]) & (idx < hi[:, None])
    w = inside.to(torch.float64)
    w = w / w.sum(dim=1, keepdim=True)
    return w.to(device=like.device, dtype=like.dtype)


def resize_box(x: torch.Tensor, h_out: int, w_out: int) -> torch.Tensor:
    """Resize the last two axes with :func:`box_weights`."""
    n, c, h, w = x.shape
    rows = box_weights(h, h_out, x)
    cols = box_weights(w, w_out, x)
    # One large 2-D product for the columns, then one batched product for the rows: no
    # transposed copies (a dense product beats gathering the few taps on the CPU).
    y = (x.reshape(-1, w) @ cols.T).reshape(n * c, h, w_out)
    return torch.matmul(rows, y).reshape(n, c, h_out, w_out)


def upsample_nearest(x: torch.Tensor, h_out: int, w_out: int) -> torch.Tensor:
    """Pillow's BOX (and NEAREST) upsampling: output ``o`` copies input ``floor((o + 0.5) s)``.

    That is torch's ``"nearest-exact"`` mode.
    """
    return F.interpolate(x, size=(h_out, w_out), mode="nearest-exact")


# Not monotonic: near-1 CIFAR factors (30, 28, 27 px of 32) alias differently, so a coarser
# grid can change a smooth image less.
@corruption("pixelate", family="imagenet_c", params=PARAMS, random=False, monotonic=False)
def pixelate(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Box-resize to ``int(side * c)`` and back (Pillow semantics, without uint8 rounding).

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    factor = PARAMS[table][severity - 1]
    h, w = x.shape[-2:]
    small = resize_box(x, max(1, math.floor(h * factor)), max(1, math.floor(w * factor)))
    return upsample_nearest(small, h, w)
