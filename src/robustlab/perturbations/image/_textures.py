"""Procedural frost textures, generated once per device from a fixed seed (no image assets)."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._ops import gaussian_blur, motion_blur, plasma_fractal

__all__ = ["FROST_SIZE", "frost_textures"]

FROST_SIZE = 384
_SEED = 20190101
# The reference crops a random patch of one of five photographs (imagecorruptions'
# frost1.png .. frost5.jpg; frost2 and frost3 are the same photograph): 224 px from the
# photograph itself for ImageNet-C, 32 px after resizing it by 0.2 for CIFAR-10-C. These are
# the quantiles (at _LEVELS) of each RGB channel over all such crops, i.e. of the pixels
# weighted by how many crops contain them, measured once per table; each procedural texture
# is mapped onto one photograph's quantiles, weighted the same way by our crops (below).
_LEVELS = (
    0.0,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    0.95,
    0.975,
    0.99,
    1.0,
)
# fmt: off
_FROST_QUANTILES: dict[str, tuple[tuple[tuple[float, ...], ...], ...]] = {
    "imagenet": (
        (  # frost1.png: R, G, B; mean 0.508
            (0.059, 0.114, 0.133, 0.149, 0.173, 0.204, 0.231, 0.259, 0.282,
             0.314, 0.349, 0.396, 0.459, 0.514, 0.557, 0.604, 0.788),
            (0.388, 0.455, 0.471, 0.482, 0.498, 0.522, 0.541, 0.557, 0.573,
             0.592, 0.612, 0.635, 0.667, 0.694, 0.718, 0.741, 0.902),
            (0.451, 0.529, 0.541, 0.553, 0.569, 0.592, 0.608, 0.627, 0.643,
             0.659, 0.675, 0.694, 0.722, 0.741, 0.761, 0.784, 0.922),
        ),
        (  # frost2.png: R, G, B; mean 0.799
            (0.216, 0.537, 0.584, 0.627, 0.671, 0.718, 0.749, 0.769, 0.788,
             0.808, 0.824, 0.843, 0.863, 0.882, 0.898, 0.910, 0.992),
            (0.220, 0.545, 0.596, 0.639, 0.682, 0.733, 0.765, 0.788, 0.808,
             0.824, 0.843, 0.863, 0.886, 0.902, 0.918, 0.929, 1.000),
            (0.235, 0.569, 0.624, 0.667, 0.714, 0.765, 0.800, 0.824, 0.843,
             0.863, 0.882, 0.902, 0.925, 0.941, 0.953, 0.965, 1.000),
        ),
        (  # frost3.png: R, G, B; mean 0.799
            (0.216, 0.537, 0.584, 0.627, 0.671, 0.718, 0.749, 0.769, 0.788,
             0.808, 0.824, 0.843, 0.863, 0.882, 0.898, 0.910, 0.992),
            (0.220, 0.545, 0.596, 0.639, 0.682, 0.733, 0.765, 0.788, 0.808,
             0.824, 0.843, 0.863, 0.886, 0.902, 0.918, 0.929, 1.000),
            (0.235, 0.569, 0.624, 0.667, 0.714, 0.765, 0.800, 0.824, 0.843,
             0.863, 0.882, 0.902, 0.925, 0.941, 0.953, 0.965, 1.000),
        ),
        (  # frost4.jpg: R, G, B; mean 0.624
            (0.059, 0.286, 0.341, 0.388, 0.435, 0.490, 0.522, 0.549, 0.573,
             0.596, 0.620, 0.647, 0.690, 0.733, 0.776, 0.843, 0.984),
            (0.094, 0.341, 0.400, 0.447, 0.494, 0.549, 0.580, 0.608, 0.631,
             0.655, 0.678, 0.706, 0.749, 0.792, 0.835, 0.902, 1.000),
            (0.122, 0.380, 0.439, 0.490, 0.541, 0.592, 0.627, 0.655, 0.682,
             0.706, 0.729, 0.761, 0.808, 0.851, 0.902, 0.965, 1.000),
        ),
        (  # frost5.jpg: R, G, B; mean 0.441
            (0.055, 0.133, 0.153, 0.180, 0.216, 0.263, 0.302, 0.341, 0.376,
             0.420, 0.463, 0.518, 0.596, 0.671, 0.733, 0.808, 1.000),
            (0.098, 0.176, 0.200, 0.224, 0.263, 0.310, 0.349, 0.388, 0.424,
             0.463, 0.510, 0.561, 0.639, 0.710, 0.773, 0.839, 1.000),
            (0.141, 0.224, 0.247, 0.271, 0.310, 0.361, 0.400, 0.435, 0.471,
             0.510, 0.553, 0.604, 0.682, 0.749, 0.808, 0.871, 1.000),
        ),
    ),
    "cifar": (
        (  # frost1.png: R, G, B; mean 0.509
            (0.075, 0.118, 0.133, 0.153, 0.176, 0.208, 0.231, 0.259, 0.282,
             0.314, 0.345, 0.392, 0.451, 0.506, 0.553, 0.600, 0.788),
            (0.400, 0.459, 0.471, 0.482, 0.502, 0.525, 0.541, 0.561, 0.576,
             0.592, 0.612, 0.635, 0.667, 0.694, 0.714, 0.745, 0.878),
            (0.463, 0.529, 0.541, 0.553, 0.569, 0.592, 0.612, 0.627, 0.643,
             0.659, 0.675, 0.698, 0.722, 0.741, 0.761, 0.784, 0.906),
        ),
        (  # frost2.png: R, G, B; mean 0.802
            (0.216, 0.549, 0.592, 0.631, 0.675, 0.722, 0.749, 0.773, 0.792,
             0.808, 0.824, 0.843, 0.863, 0.882, 0.894, 0.910, 0.984),
            (0.220, 0.561, 0.604, 0.647, 0.686, 0.737, 0.765, 0.788, 0.808,
             0.827, 0.843, 0.863, 0.886, 0.902, 0.918, 0.929, 0.992),
            (0.235, 0.588, 0.635, 0.675, 0.718, 0.769, 0.804, 0.827, 0.847,
             0.867, 0.882, 0.902, 0.925, 0.941, 0.953, 0.965, 0.996),
        ),
        (  # frost3.png: R, G, B; mean 0.802
            (0.216, 0.549, 0.592, 0.631, 0.675, 0.722, 0.749, 0.773, 0.792,
             0.808, 0.824, 0.843, 0.863, 0.882, 0.894, 0.910, 0.984),
            (0.220, 0.561, 0.604, 0.647, 0.686, 0.737, 0.765, 0.788, 0.808,
             0.827, 0.843, 0.863, 0.886, 0.902, 0.918, 0.929, 0.992),
            (0.235, 0.588, 0.635, 0.675, 0.718, 0.769, 0.804, 0.827, 0.847,
             0.867, 0.882, 0.902, 0.925, 0.941, 0.953, 0.965, 0.996),
        ),
        (  # frost4.jpg: R, G, B; mean 0.618
            (0.118, 0.271, 0.329, 0.380, 0.431, 0.482, 0.514, 0.541, 0.569,
             0.588, 0.612, 0.643, 0.686, 0.729, 0.787, 0.867, 0.976),
            (0.145, 0.322, 0.384, 0.435, 0.490, 0.541, 0.573, 0.600, 0.624,
             0.647, 0.671, 0.702, 0.745, 0.788, 0.847, 0.925, 1.000),
            (0.149, 0.357, 0.420, 0.478, 0.533, 0.588, 0.620, 0.647, 0.675,
             0.698, 0.722, 0.757, 0.800, 0.851, 0.910, 0.988, 1.000),
        ),
        (  # frost5.jpg: R, G, B; mean 0.448
            (0.075, 0.133, 0.157, 0.180, 0.216, 0.267, 0.310, 0.349, 0.388,
             0.427, 0.475, 0.529, 0.612, 0.678, 0.749, 0.816, 1.000),
            (0.114, 0.176, 0.200, 0.224, 0.263, 0.314, 0.353, 0.392, 0.431,
             0.475, 0.518, 0.573, 0.651, 0.718, 0.780, 0.847, 1.000),
            (0.153, 0.224, 0.247, 0.275, 0.314, 0.365, 0.404, 0.443, 0.482,
             0.522, 0.565, 0.616, 0.690, 0.757, 0.816, 0.875, 1.000),
        ),
    ),
}
# fmt: on
_cache: dict[tuple[str, torch.dtype, str], torch.Tensor] = {}
_patterns_cache: dict[str, torch.Tensor] = {}


def _standardise(t: torch.Tensor) -> torch.Tensor:
    flat = t.reshape(t.shape[0], -1)
    mean = flat.mean(dim=1).view(-1, 1, 1, 1)
    std = flat.std(dim=1).view(-1, 1, 1, 1).clamp_min(1e-6)
    return (t - mean) / std


def _patterns() -> torch.Tensor:
    """The five 1-channel frost patterns (5, 1, FROST_SIZE, FROST_SIZE), before colouring."""
    # Built on the CPU in float64 so every device gets the same textures.
    g = torch.Generator().manual_seed(_SEED)
    like = torch.zeros((), dtype=torch.float64)
    k, size = len(_FROST_QUANTILES["imagenet"]), FROST_SIZE
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
    return gaussian_blur(texture, 0.6)


def crop_coverage(size: int, crop: int) -> torch.Tensor:
    """How likely each of ``size`` texture rows is to fall inside a crop of ``crop`` rows whose
    start is uniform on [0, size - 1 - crop] (frost's crops), up to a constant."""
    r = torch.arange(size, dtype=torch.float64)
    return (torch.minimum(r, torch.tensor(size - 1.0 - crop)) - (r - crop).clamp(min=0)).clamp(
        min=0
    ) + 1e-3


def _match_quantiles(patterns: torch.Tensor, table: str, crop: int) -> torch.Tensor:
    """Colour each 1-channel pattern with one photograph's per-channel quantile functions.

    A pixel whose pattern value has weighted rank ``u`` (the share of crop coverage on lower
    values, plus half its own) takes the photograph's quantile at ``u``, linear between the
    tabulated levels. So the pixels our crops show have the distribution of the pixels the
    reference's crops show, in every channel, and the channels keep the pattern's shape.
    """
    k, _, h, w = patterns.shape
    flat = patterns.reshape(k, -1)
    cover = (crop_coverage(h, crop)[:, None] * crop_coverage(w, crop)[None, :]).reshape(-1)
    order = flat.argsort(dim=1)
    weights = cover[order]
    cdf = (weights.cumsum(dim=1) - weights / 2) / weights.sum(dim=1, keepdim=True)
    u = torch.empty_like(cdf).scatter_(1, order, cdf)
    levels = torch.tensor(_LEVELS, dtype=torch.float64)
    quantiles = torch.tensor(_FROST_QUANTILES[table], dtype=torch.float64)  # (k, 3, levels)
    upper = torch.searchsorted(levels, u, right=True).clamp(1, len(_LEVELS) - 1)
    weight = ((u - levels[upper - 1]) / (levels[upper] - levels[upper - 1]))[:, None]
    m = flat.shape[1]
    below = quantiles.gather(2, (upper - 1)[:, None].expand(k, 3, m))
    above = quantiles.gather(2, upper[:, None].expand(k, 3, m))
    return (below + weight * (above - below)).reshape(k, 3, h, w)


def frost_textures(like: torch.Tensor, table: str, crop: int) -> torch.Tensor:
    """The five RGB frost textures (5, 3, FROST_SIZE, FROST_SIZE) on ``like``'s device.

    Args:
        like: any tensor on the target device and dtype.
        table: ``"imagenet"`` or ``"cifar"``: whose crops' colour distribution to match.
        crop: the side, in texture pixels, of the crops frost takes.
    """
    key = (str(like.device), like.dtype, f"{table}/{crop}")
    if key not in _cache:
        if "patterns" not in _patterns_cache:
            _patterns_cache["patterns"] = _patterns()
        textures = _match_quantiles(_patterns_cache["patterns"], table, crop)
        _cache[key] = textures.to(device=like.device, dtype=like.dtype)
    return _cache[key]
