"""Procedural frost textures, generated once per device from a fixed seed (no image assets)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from robustlab.perturbations.image._ops import gaussian_blur, motion_blur, plasma_fractal

__all__ = ["FROST_SIZE", "frost_textures"]

FROST_SIZE = 384
_SEED = 20190101
# Mean and spread (per RGB channel) of the reference's five frost photographs, measured once;
# each procedural texture is matched to one of them.
_FROST_STATS = (
    ((0.305, 0.585, 0.650), (0.106, 0.065, 0.060)),
    ((0.787, 0.805, 0.841), (0.084, 0.087, 0.089)),
    ((0.787, 0.805, 0.841), (0.084, 0.087, 0.089)),
    ((0.540, 0.599, 0.648), (0.112, 0.112, 0.117)),
    ((0.441, 0.484, 0.528), (0.174, 0.170, 0.163)),
)
_cache: dict[tuple[str, torch.dtype], torch.Tensor] = {}


def _standardise(t: torch.Tensor) -> torch.Tensor:
    flat = t.reshape(t.shape[0], -1)
    mean = flat.mean(dim=1).view(-1, 1, 1, 1)
    std = flat.std(dim=1).view(-1, 1, 1, 1).clamp_min(1e-6)
    return (t - mean) / std


def _generate() -> torch.Tensor:
    # Built on the CPU in float64 so every device gets the same textures.
    g = torch.Generator().manual_seed(_SEED)
    like = torch.zeros((), dtype=torch.float64)
    k, size = len(_FROST_STATS), FROST_SIZE
    # Ice veins: the ridges (|plasma - 1/2| near 0) of two fractals, sharpened.
    ridges = torch.zeros(k, 1, size, size, dtype=torch.float64)
    for decay in (1.6, 2.2):
        plasma = plasma_fractal(k, 512, decay, like, g)[:, None, :size, :size]
        ridges += (1 - 2 * (plasma - 0.5).abs()) ** 6
    # Needle crystals: sparse seeds smeared along a few random directions.
    needles = torch.zeros_like(ridges)
    for _ in range(4):
        seeds = (torch.rand(k, 1, size, size, generator=g, dtype=torch.float64) < 0.004).double()
        seeds *= torch.rand(k, 1, size, size, generator=g, dtype=torch.float64)
        angles = torch.rand(k, generator=g, dtype=torch.float64) * 360
        needles += motion_blur(seeds, 12, 6.0, angles) * 8
    cloud = plasma_fractal(k, 512, 1.8, like, g)[:, None, :size, :size]
    texture = 0.55 * _standardise(ridges) + 0.3 * _standardise(needles) + 0.6 * _standardise(cloud)
    texture = _standardise(gaussian_blur(texture, 0.6))
    means = torch.tensor([m for m, _ in _FROST_STATS], dtype=torch.float64).view(k, 3, 1, 1)
    stds = torch.tensor([s for _, s in _FROST_STATS], dtype=torch.float64).view(k, 3, 1, 1)
    # Frost is whiter where it is thicker, so the blue tint fades with intensity.
    tint = F.pad(torch.zeros(k, 2, 1, 1, dtype=torch.float64), (0, 0, 0, 0, 1, 0))
    return (means + stds * texture + 0.02 * tint * texture).clamp(0, 1)


def frost_textures(like: torch.Tensor) -> torch.Tensor:
    """The five RGB frost textures (5, 3, FROST_SIZE, FROST_SIZE) on ``like``'s device."""
    key = (str(like.device), like.dtype)
    if key not in _cache:
        _cache[key] = _generate().to(device=like.device, dtype=like.dtype)
    return _cache[key]
