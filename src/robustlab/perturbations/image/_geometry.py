"""Centred affine warps on the MNIST-C convention (bilinear, black outside the image)."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._ops import warp_affine
from robustlab.seeding import Draws

__all__ = ["centred_warp", "random_signs"]


def centred_warp(
    x: torch.Tensor, linear: torch.Tensor, shift: torch.Tensor | None = None
) -> torch.Tensor:
    """Resample ``x`` so that output pixel p reads input ``A (p - c) + c + shift``.

    Args:
        x: (N, C, H, W).
        linear: (N, 2, 2) or (2, 2) matrix ``A`` acting on (column, row) coordinates.
        shift: (N, 2) or None, in (column, row) pixels.

    As skimage.transform.warp with an inverse map centred on ``c = ((W - 1) / 2, (H - 1) / 2)``,
    which is how MNIST-C builds its shear, rotation and scale; outside the image is 0.
    """
    n, _, h, w = x.shape
    a = linear.to(x.dtype).expand(n, 2, 2)
    centre = torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=x.dtype, device=x.device)
    offset = centre - a @ centre
    if shift is not None:
        offset = offset + shift.to(x.dtype)
    return warp_affine(x, torch.cat([a, offset[..., None]], dim=2), "zeros")


def random_signs(
    shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator | Draws
) -> torch.Tensor:
    """Independent +1 / -1 values with equal probability."""
    if isinstance(generator, Draws):
        bits = generator.randint(0, 2, shape, device=like.device)
    else:
        bits = torch.randint(0, 2, shape, generator=generator, device=like.device)
    return (2 * bits - 1).to(like.dtype)
