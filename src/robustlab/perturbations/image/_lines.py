"""Soft anti-aliased line drawing for MNIST-C's line corruptions, batched over images."""

from __future__ import annotations

import torch

__all__ = ["line_layer", "line_width"]

_THICKNESS = 2.3  # MNIST-C's line half-width in pixels at 28 px
_MIN_THICKNESS = 1.5  # below this a line misses whole columns on tiny images


def line_width(scale: float) -> float:
    """Line half-width for images ``scale`` times MNIST's 28 px."""
    return max(_THICKNESS * scale, _MIN_THICKNESS)


def line_layer(
    c0: torch.Tensor,
    r0: torch.Tensor,
    c1: torch.Tensor,
    r1: torch.Tensor,
    h: int,
    w: int,
    thickness: float,
) -> torch.Tensor:
    """Intensity (N, 1, H, W) of segments from (c0, r0) to (c1, r1), one per image.

    Intensity is ``clip(1 + log(1 - d / thickness), 0, 1)`` for the vertical distance ``d`` to
    the line, restricted to columns ``floor(c0) .. ceil(c1) - 1``; vertical segments
    (``c0 == c1``) draw nothing, as in MNIST-C.
    """
    dtype, device = c0.dtype, c0.device
    cols = torch.arange(w, dtype=dtype, device=device).view(1, 1, w)
    rows = torch.arange(h, dtype=dtype, device=device).view(1, h, 1)
    run = c1 - c0
    valid = run != 0
    slope = torch.where(valid, (r1 - r0) / torch.where(valid, run, torch.ones_like(run)), 0.0)
    on_line = slope.view(-1, 1, 1) * (cols - c0.view(-1, 1, 1)) + r0.view(-1, 1, 1)
    dist = (rows - on_line).abs().clamp(max=thickness * (1 - 1e-10))
    value = (torch.log(1 - dist / thickness) + 1).clamp(0, 1)
    inside = (cols >= torch.floor(c0).view(-1, 1, 1)) & (cols < torch.ceil(c1).view(-1, 1, 1))
    value = torch.where(inside & valid.view(-1, 1, 1), value, torch.zeros_like(value))
    return value[:, None]
