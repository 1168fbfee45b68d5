"""Batched torch building blocks shared by the corruptions: padding, filters, resampling, noise."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from robustlab.seeding import Draws

__all__ = [
    "CIFAR_SIZE",
    "IMAGENET_SIZE",
    "MNIST_SIZE",
    "blur_matrix",
    "canny",
    "clipped_zoom",
    "filter2d",
    "gaussian_blur",
    "gaussian_kernel1d",
    "hysteresis",
    "luminance",
    "motion_blur",
    "next_power_of_2",
    "pad2d",
    "plasma_fractal",
    "reference_set",
    "sample",
    "sep_filter",
    "sobel",
    "uniform",
    "warp_affine",
]

CIFAR_SIZE = 32
IMAGENET_SIZE = 224
MNIST_SIZE = 28
_SPLIT = math.sqrt(CIFAR_SIZE * IMAGENET_SIZE)  # ~84.7 px: nearer to 32 or to 224 in log scale
_MIN_SCALE = 0.5


def reference_set(h: int, w: int) -> tuple[str, float]:
    """Pick the reference parameter table for an image size, and the spatial scale factor.

    The rule: let ``side = min(h, w)``. Images nearer (in log scale) to CIFAR-10's 32 px than to
    ImageNet's 224 px, i.e. ``side <= 84``, use the CIFAR-10-C table with spatial parameters
    (blur radii and sigmas, shift distances) multiplied by ``max(side / 32, 0.5)``; larger
    images use the ImageNet-C table with spatial parameters multiplied by ``side / 224``. At 32
    and 224 px the scale is 1, which reproduces the published datasets. The floor of 0.5 keeps
    the mildest CIFAR blurs from vanishing on tiny images (below 16 px a 0.4 px sigma would
    scale to a kernel of one pixel).
    """
    side = min(h, w)
    if side <= _SPLIT:
        return "cifar", max(side / CIFAR_SIZE, _MIN_SCALE)
    return "imagenet", side / IMAGENET_SIZE


def uniform(
    shape: tuple[int, ...],
    low: float,
    high: float,
    like: torch.Tensor,
    generator: torch.Generator | Draws,
) -> torch.Tensor:
    """Uniform samples in [low, high) on ``like``'s device and dtype; per example (its first
    dimension) from a :class:`~robustlab.seeding.Draws`."""
    if isinstance(generator, Draws):
        u = generator.rand(shape, device=like.device, dtype=like.dtype)
    else:
        u = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
    return low + (high - low) * u


def next_power_of_2(n: int) -> int:
    return 1 if n <= 1 else 2 ** (n - 1).bit_length()


def luminance(x: torch.Tensor, weights: tuple[float, float, float]) -> torch.Tensor:
    """Weighted sum over the channel axis of an (N, 3, H, W) tensor, keeping the axis."""
    w = torch.tensor(weights, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def _pad_index(n: int, before: int, after: int, mode: str, device: torch.device) -> torch.Tensor:
    idx = torch.arange(-before, n + after, device=device)
    if mode == "edge" or n == 1:
        return idx.clamp(0, n - 1)
    if mode == "reflect101":  # d c b | a b c d | c b a (OpenCV's default, torch's "reflect")
        period = 2 * (n - 1)
        idx = idx.remainder(period)
        return torch.where(idx >= n, period - idx, idx)
    if mode == "symmetric":  # c b a | a b c d | d c b (scipy.ndimage's "reflect")
        period = 2 * n
        idx = idx.remainder(period)
        return torch.where(idx >= n, period - 1 - idx, idx)
    raise ValueError(f"unknown padding mode {mode!r}")


def pad2d(x: torch.Tensor, top: int, bottom: int, left: int, right: int, mode: str) -> torch.Tensor:
    """Pad the last two axes by any amount (even beyond the image size) in ``mode``.

    Modes: ``"edge"``, ``"reflect101"``, ``"symmetric"`` or ``"constant"`` (zeros).
    """
    if mode == "constant":
        return F.pad(x, (left, right, top, bottom))
    h, w = x.shape[-2:]
    # torch's own padding is several times faster than indexing, where it applies.
    if mode == "edge":
        return F.pad(x, (left, right, top, bottom), mode="replicate")
    if mode == "reflect101" and max(top, bottom) < h and max(left, right) < w:
        return F.pad(x, (left, right, top, bottom), mode="reflect")
    rows = _pad_index(x.shape[-2], top, bottom, mode, x.device)
    cols = _pad_index(x.shape[-1], left, right, mode, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


_SHIFT_TAPS = 9
_SHIFT_MAX_TAPS = 64
_SHIFT_WORK = 8_000_000
"""A filter with at most ``_SHIFT_TAPS`` non-zero taps, or with up to ``_SHIFT_MAX_TAPS`` taps
on few enough values that taps x values <= ``_SHIFT_WORK``, is a sum of shifted slices rather
than a convolution: grouped conv2d has a fixed cost of milliseconds per call on the CPU that
small kernels and small chunks (a few 1-channel images) never amortise."""


def filter2d(x: torch.Tensor, kernel: torch.Tensor, mode: str = "reflect101") -> torch.Tensor:
    """Correlate every channel of (N, C, H, W) ``x`` with one 2-D kernel (same-size output)."""
    kh, kw = kernel.shape
    n, c, h, w = x.shape
    padded = pad2d(x, kh // 2, kh - 1 - kh // 2, kw // 2, kw - 1 - kw // 2, mode)
    taps = []
    if x.device.type == "cpu" and kh * kw <= _SHIFT_MAX_TAPS:
        values = kernel.detach().cpu().numpy()
        taps = [(i, j, float(v)) for (i, j), v in np.ndenumerate(values) if v != 0]
    if 0 < len(taps) <= _SHIFT_TAPS or 0 < len(taps) * x.numel() <= _SHIFT_WORK:
        i, j, v = taps[0]
        out = padded[..., i : i + h, j : j + w] * v
        for i, j, v in taps[1:]:
            out.add_(padded[..., i : i + h, j : j + w], alpha=v)
        return out
    # One group per channel-image: much faster on CPU than a batch of 1-channel images.
    weight = kernel.to(x)[None, None].expand(n * c, 1, kh, kw).contiguous()
    out = F.conv2d(padded.reshape(1, n * c, *padded.shape[-2:]), weight, groups=n * c)
    return out.reshape(n, c, h, w)


def sep_filter(
    x: torch.Tensor, k_rows: torch.Tensor, k_cols: torch.Tensor, mode: str
) -> torch.Tensor:
    """Separable filtering: ``k_rows`` along the height axis, ``k_cols`` along the width axis."""
    x = filter2d(x, k_rows.view(-1, 1), mode)
    return filter2d(x, k_cols.view(1, -1), mode)


def gaussian_kernel1d(sigma: float, truncate: float, like: torch.Tensor) -> torch.Tensor:
    """scipy.ndimage's Gaussian kernel: radius ``int(truncate * sigma + 0.5)``, normalised."""
    radius = int(truncate * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=like.dtype, device=like.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(
    x: torch.Tensor, sigma: float, mode: str = "edge", truncate: float = 4.0
) -> torch.Tensor:
    """Per-channel Gaussian blur as skimage.filters.gaussian (default border: nearest edge)."""
    if sigma <= 0:
        return x
    k = gaussian_kernel1d(sigma, truncate, x)
    return sep_filter(x, k, k, mode)


def motion_blur(
    x: torch.Tensor, radius: int, sigma: float, angles_deg: torch.Tensor
) -> torch.Tensor:
    """One-sided motion blur along a per-image angle, as ImageMagick's ``-motion-blur``.

    The image is shifted by ``i`` pixels (rounded) along the angle for ``i`` in ``0..2r``,
    replicating the border, and the shifts are averaged with Gaussian weights
    ``exp(-i^2 / 2 sigma^2)``. Shifts longer than the image are dropped without renormalising,
    as in the reference.
    """
    n, _, h, w = x.shape
    width = 2 * radius + 1
    i = torch.arange(width, dtype=x.dtype, device=x.device)
    weights = torch.exp(-(i**2) / (2 * sigma**2))
    weights = weights / weights.sum()
    rad = torch.deg2rad(angles_deg.to(x.dtype))
    dy = -torch.ceil(i[None, :] * torch.sin(rad)[:, None] - 0.5).long()  # (N, width)
    dx = -torch.ceil(i[None, :] * torch.cos(rad)[:, None] - 0.5).long()
    inside = (dy.abs() < h) & (dx.abs() < w)
    inside = torch.cumprod(inside.long(), dim=1).bool()  # the reference stops at the first miss
    # The sum of edge-replicated shifts is a convolution of the edge-padded image with a sparse
    # per-image kernel; one FFT product does all shifts of all images at once.
    pad_y, pad_x = min(width - 1, h - 1), min(width - 1, w - 1)
    padded = F.pad(x, (pad_x, pad_x, pad_y, pad_y), mode="replicate")
    hp, wp = padded.shape[-2:]
    flat_index = dy.remainder(hp) * wp + dx.remainder(wp)
    kernel = torch.zeros(n, hp * wp, dtype=x.dtype, device=x.device)
    kernel.scatter_add_(1, flat_index, weights[None, :] * inside.to(x.dtype))
    spectrum = torch.fft.rfft2(padded) * torch.fft.rfft2(kernel.view(n, 1, hp, wp))
    out = torch.fft.irfft2(spectrum, s=(hp, wp))
    return out[..., pad_y : pad_y + h, pad_x : pad_x + w]


def clipped_zoom(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom into the centre by ``factor`` keeping the size (bilinear, corner-aligned).

    As the reference's ``clipped_zoom``: crop the central ``ceil(side / factor)`` pixels,
    resize them by ``factor`` with scipy.ndimage.zoom(order=1) semantics, and trim the centre.
    """
    h, w = x.shape[-2:]
    ch, cw = math.ceil(h / factor), math.ceil(w / factor)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = x[..., top : top + ch, left : left + cw]
    oh, ow = max(round(ch * factor), h), max(round(cw * factor), w)
    zoomed = F.interpolate(crop, size=(oh, ow), mode="bilinear", align_corners=True)
    t, lft = (oh - h) // 2, (ow - w) // 2
    return zoomed[..., t : t + h, lft : lft + w]


def plasma_fractal(
    n: int, mapsize: int, wibbledecay: float, like: torch.Tensor, generator: torch.Generator | Draws
) -> torch.Tensor:
    """``n`` diamond-square height maps (n, mapsize, mapsize), each rescaled to [0, 1].

    References: Fournier, Fussell & Carpenter, "Computer rendering of stochastic models", 1982.
    """
    assert mapsize & (mapsize - 1) == 0, "mapsize must be a power of two"
    maps = torch.zeros(n, mapsize, mapsize, dtype=like.dtype, device=like.device)
    step = mapsize
    wibble = 100.0

    def wibbled_mean(total: torch.Tensor) -> torch.Tensor:
        return total / 4 + wibble * uniform(tuple(total.shape), -wibble, wibble, like, generator)

    while step >= 2:
        half = step // 2
        corners = maps[:, 0::step, 0::step]
        square = corners + torch.roll(corners, -1, dims=1)
        square = square + torch.roll(square, -1, dims=2)
        maps[:, half::step, half::step] = wibbled_mean(square)
        centres = maps[:, half::step, half::step]
        corners = maps[:, 0::step, 0::step]
        left_total = centres + torch.roll(centres, 1, dims=1) + corners + torch.roll(corners, -1, 2)
        maps[:, 0::step, half::step] = wibbled_mean(left_total)
        top_total = centres + torch.roll(centres, 1, dims=2) + corners + torch.roll(corners, -1, 1)
        maps[:, half::step, 0::step] = wibbled_mean(top_total)
        step = half
        wibble /= wibbledecay
    flat = maps.reshape(n, -1)
    lo = flat.min(dim=1).values.view(n, 1, 1)
    hi = flat.max(dim=1).values.view(n, 1, 1)
    return (maps - lo) / (hi - lo).clamp_min(1e-12)


def warp_affine(x: torch.Tensor, matrix: torch.Tensor, padding: str = "zeros") -> torch.Tensor:
    """Bilinear resampling: output pixel (row, col) reads the input at ``matrix @ (col, row, 1)``.

    Args:
        x: (N, C, H, W).
        matrix: (N, 2, 3) or (2, 3), mapping output pixel coordinates (x = column, y = row) to
            input pixel coordinates.
        padding: ``"zeros"``, ``"border"`` or ``"reflection"`` (about the edge pixel centres).
    """
    n, _, h, w = x.shape
    m = matrix.to(x.dtype).expand(n, 2, 3)
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=x.dtype, device=x.device),
        torch.arange(w, dtype=x.dtype, device=x.device),
        indexing="ij",
    )
    coords = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).view(1, h * w, 3)
    src = coords @ m.transpose(1, 2)  # (N, H*W, 2) as (x, y)
    return sample(x, src[..., 0].view(n, h, w), src[..., 1].view(n, h, w), padding)


def sample(x: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, padding: str) -> torch.Tensor:
    """Bilinear sampling of ``x`` at pixel coordinates ``xs`` (columns) and ``ys`` (rows)."""
    h, w = x.shape[-2:]
    gx = 2 * xs / max(w - 1, 1) - 1
    gy = 2 * ys / max(h - 1, 1) - 1
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=True)


def blur_matrix(
    n: int, sigma: float, truncate: float, mode: str, like: torch.Tensor
) -> torch.Tensor:
    """The (n, n) matrix of a 1-D Gaussian filter with boundary ``mode`` folded in.

    Cheaper than a convolution when the kernel is wider than the image (elastic transform).
    """
    k = gaussian_kernel1d(sigma, truncate, like)
    radius = (k.numel() - 1) // 2
    idx = _pad_index(n, radius, radius, mode, like.device)  # (n + 2r,)
    taps = idx.unfold(0, k.numel(), 1)  # (n, 2r + 1): input index of each tap
    m = torch.zeros(n, n, dtype=like.dtype, device=like.device)
    m.scatter_add_(1, taps, k.expand(n, -1).contiguous())
    return m


def sobel(x: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel derivatives (d/d column, d/d row) of (N, 1, H, W) ``x``, unnormalised."""
    smooth = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    diff = torch.tensor([-1.0, 0.0, 1.0], dtype=x.dtype, device=x.device)
    gx = sep_filter(x, smooth, diff, mode)
    gy = sep_filter(x, diff, smooth, mode)
    return gx, gy


_TAN_22_5 = math.tan(math.radians(22.5))
_TAN_67_5 = math.tan(math.radians(67.5))


def canny(
    magnitude: torch.Tensor, gx: torch.Tensor, gy: torch.Tensor, low: float, high: float
) -> torch.Tensor:
    """Canny's non-maximum suppression and hysteresis on precomputed gradients (N, 1, H, W).

    References: Canny, "A Computational Approach to Edge Detection", TPAMI 1986.
    """
    # Quantise the gradient direction (degrees mod 180) to 0, 45, 90 or 135 and compare with the
    # two neighbours along it. Comparing |gy| with tan(22.5) |gx| and tan(67.5) |gx| gives the
    # same sectors as rounding atan2 without computing it.
    ax, ay = gx.abs(), gy.abs()
    horizontal = ay <= _TAN_22_5 * ax
    vertical = ay > _TAN_67_5 * ax
    rising = (gx * gy) > 0  # 0..90 degrees, else 90..180
    padded = F.pad(magnitude, (1, 1, 1, 1))
    h, w = magnitude.shape[-2:]

    def larger(a: tuple[int, int], b: tuple[int, int]) -> torch.Tensor:
        return torch.maximum(
            padded[..., 1 + a[0] : 1 + a[0] + h, 1 + a[1] : 1 + a[1] + w],
            padded[..., 1 + b[0] : 1 + b[0] + h, 1 + b[1] : 1 + b[1] + w],
        )

    # Rows grow downwards, so a gradient at +45 degrees points to (row - 1, col + 1). A pixel
    # is kept when it is at least as large as both neighbours along its sector.
    neighbour = torch.where(rising, larger((-1, 1), (1, -1)), larger((-1, -1), (1, 1)))
    neighbour = torch.where(vertical, larger((-1, 0), (1, 0)), neighbour)
    neighbour = torch.where(horizontal, larger((0, 1), (0, -1)), neighbour)
    keep = magnitude >= neighbour
    weak = keep & (magnitude >= low)
    strong = keep & (magnitude >= high)
    return hysteresis(weak, strong)


def hysteresis(weak: torch.Tensor, strong: torch.Tensor) -> torch.Tensor:
    """Keep the 8-connected components of ``weak`` that contain a ``strong`` pixel."""
    # Connected-component labelling has no batched torch kernel; scipy's takes milliseconds,
    # while growing the strong set one pixel per step takes as many steps as the longest edge.
    weak_np = weak.detach().cpu().numpy()
    strong_np = strong.detach().cpu().numpy()
    structure = np.zeros((3, 3, 3, 3), dtype=bool)
    structure[1, 1] = True  # connect within an image, never across images or channels
    labels, count = ndimage.label(weak_np, structure=structure)
    keep = np.bincount(labels[strong_np & weak_np], minlength=count + 1) > 0
    keep[0] = False
    return torch.from_numpy(keep[labels]).to(weak.device)
