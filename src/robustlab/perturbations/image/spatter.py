"""Spatter: water drops (severities 1-3) or mud splashes (4-5) over the image."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import (
    MNIST_SIZE,
    filter2d,
    gaussian_blur,
    hysteresis,
    luminance,
    reference_set,
)
from robustlab.seeding import Draws

# (mean, std, blur sigma, threshold, intensity or mud sigma, mud?) at the reference size,
# severity 1..5; the blur sigma, and the fifth entry when mud is 1, are in pixels.
PARAMS = {
    "imagenet": (
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ),
    "cifar": (
        (0.62, 0.1, 0.7, 0.7, 0.5, 0),
        (0.65, 0.1, 0.8, 0.7, 0.5, 0),
        (0.65, 0.3, 1, 0.69, 0.5, 0),
        (0.65, 0.1, 0.7, 0.69, 0.6, 1),
        (0.65, 0.1, 0.5, 0.68, 0.6, 1),
    ),
}
MNIST_PARAMS = {"mnist": PARAMS["imagenet"]}
_WATER = (175 / 255, 238 / 255, 238 / 255)  # pale turquoise
_MUD = (63 / 255, 42 / 255, 20 / 255)  # brown
_GRAY = (0.2989, 0.587, 0.114)
_EMBOSS = ((-2.0, -1.0, 0.0), (-1.0, 1.0, 1.0), (0.0, 1.0, 2.0))
_SHIFT = 15
_TG22 = int(0.4142135623730950488016887242097 * (1 << _SHIFT) + 0.5)  # tan(22.5), fixed point


def opencv_canny(
    image: torch.Tensor, low: float, high: float, l2_gradient: bool = False
) -> torch.Tensor:
    """Edges of integer-valued (N, 1, H, W) images in 0..255 by OpenCV's rules (``cv2.Canny``).

    3x3 Sobel derivatives with replicated borders; magnitude ``|gx| + |gy|`` (or
    ``gx^2 + gy^2`` against squared thresholds with ``l2_gradient``); the direction sector
    from OpenCV's fixed-point tan(22.5) and tan(67.5) tests. Non-maximum suppression keeps a
    pixel strictly above its neighbour on the left, above or upper diagonal and at least
    equal to the one on the right or below, and strictly above both diagonal neighbours.
    Pixels above ``low`` (strictly) are candidates, above ``high`` seeds; hysteresis keeps
    the 8-connected candidates joined to a seed. Magnitudes outside the image are 0.

    References: Canny, "A Computational Approach to Edge Detection", TPAMI 1986.
    """
    h, w = image.shape[-2:]
    # Sobel on integers, from one replicate-padded copy.
    p = F.pad(image, (1, 1, 1, 1), mode="replicate").round().to(torch.int32)
    rows = p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]
    cols = p[..., :, :-2] + 2 * p[..., :, 1:-1] + p[..., :, 2:]
    gx = rows[..., 2:] - rows[..., :-2]
    gy = cols[..., 2:, :] - cols[..., :-2, :]
    if l2_gradient:
        magnitude = gx * gx + gy * gy
        low, high = (min(t, 32767.0) ** 2 if t > 0 else t for t in (low, high))
    else:
        magnitude = gx.abs() + gy.abs()
    low_int, high_int = math.floor(low), math.floor(high)
    ax, ay = gx.abs(), gy.abs() * (1 << _SHIFT)
    tg22x = ax * _TG22
    horizontal = ay < tg22x
    vertical = ay > tg22x + ax * (1 << (_SHIFT + 1))
    padded = F.pad(magnitude, (1, 1, 1, 1))

    def at(dr: int, dc: int) -> torch.Tensor:
        return padded[..., 1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]

    m = magnitude
    # Rows grow downwards: same-sign gradients point to the lower right.
    same_sign = (gx ^ gy) >= 0
    diagonal = torch.where(
        same_sign, (m > at(-1, -1)) & (m > at(1, 1)), (m > at(-1, 1)) & (m > at(1, -1))
    )
    peak = torch.where(
        horizontal,
        (m > at(0, -1)) & (m >= at(0, 1)),
        torch.where(vertical, (m > at(-1, 0)) & (m >= at(1, 0)), diagonal),
    )
    weak = peak & (m > low_int)
    return hysteresis(weak, weak & (m > high_int))


def _liquid(
    x: torch.Tensor,
    mean: float,
    std: float,
    sigma: float,
    threshold: float,
    generator: Draws,
) -> torch.Tensor:
    n, _, h, w = x.shape
    layer = mean + std * generator.randn((n, 1, h, w), device=x.device, dtype=x.dtype)
    layer = gaussian_blur(layer, sigma)
    return torch.where(layer < threshold, torch.zeros_like(layer), layer)


# OpenCV's 5x5 chamfer mask for DIST_L2 (1, 1.4, 2.1969) in its 16-bit fixed point.
_CHAMFER_SHIFT = 16
_CHAMFER = (
    (65536, ((0, 1), (0, -1), (1, 0), (-1, 0))),
    (91750, ((1, 1), (1, -1), (-1, 1), (-1, -1))),
    (143976, ((1, 2), (1, -2), (-1, 2), (-1, -2), (2, 1), (2, -1), (-2, 1), (-2, -1))),
)


def chamfer_distance(edges: torch.Tensor, limit: int, dtype: torch.dtype) -> torch.Tensor:
    """``cv2.distanceTransform(~edges, DIST_L2, 5)`` truncated at ``limit``, per image.

    OpenCV's 5x5 chamfer distance: the cheapest path to an edge pixel in steps of 1 (to a
    4-neighbour), 1.4 (diagonal) and 2.1969 (knight's move), in OpenCV's fixed point. Its two
    raster passes give the exact cheapest path, which ``limit`` rounds of relaxing every pixel
    against its 16 neighbours also give for every distance up to ``limit`` (each step costs at
    least 1). An image without edges comes out at the limit.
    """
    n, _, h, w = edges.shape
    cap = (limit + 1) << _CHAMFER_SHIFT
    padded = torch.full((n, h + 4, w + 4), cap, dtype=torch.int32, device=edges.device)
    dist = padded[:, 2:-2, 2:-2]
    dist.copy_(torch.where(edges[:, 0], 0, cap))
    step, relaxed = torch.empty_like(dist), torch.empty_like(dist)

    def shifted(dy: int, dx: int) -> torch.Tensor:
        return padded[:, 2 + dy : 2 + dy + h, 2 + dx : 2 + dx + w]

    for _ in range(limit):
        relaxed.copy_(dist)
        for cost, moves in _CHAMFER:
            step.copy_(shifted(*moves[0]))
            for move in moves[1:]:
                torch.minimum(step, shifted(*move), out=step)
            torch.minimum(relaxed, step.add_(cost), out=relaxed)
        if torch.equal(relaxed, dist):
            break
        dist.copy_(relaxed)
    out = dist.to(torch.float64) / (1 << _CHAMFER_SHIFT)
    return out.clamp_(max=limit).to(dtype)[:, None]


def _equalise(img: torch.Tensor) -> torch.Tensor:
    """OpenCV's equalizeHist per image on integer-valued (N, 1, H, W) input in 0..255."""
    n = img.shape[0]
    levels = img.reshape(n, -1).long().clamp_(0, 255)
    offsets = 256 * torch.arange(n, device=img.device)[:, None]
    hist = torch.bincount((levels + offsets).view(-1), minlength=256 * n)
    hist = hist.view(n, 256).to(torch.float64)
    total = hist.sum(dim=1, keepdim=True)
    first = (hist > 0).to(torch.int64).argmax(dim=1, keepdim=True)
    first_count = hist.gather(1, first)
    cdf = hist.cumsum(dim=1) - first_count
    lut = torch.round(cdf * 255 / (total - first_count).clamp_min(1)).clamp(0, 255)
    lut = torch.where(torch.arange(256, device=img.device)[None] < first, 0.0, lut)
    flat_image = (first_count == total).expand(-1, 256)
    lut = torch.where(flat_image, first.to(lut.dtype).expand(-1, 256), lut)
    return lut.gather(1, levels).view_as(img).to(img.dtype)


def _water(x: torch.Tensor, liquid: torch.Tensor, intensity: float) -> torch.Tensor:
    # Box sums of integer values are exact; dividing once keeps floor() away from rounding.
    ones = torch.ones((3, 3), dtype=x.dtype, device=x.device)
    liquid8 = torch.floor(liquid * 255).clamp(0, 255)
    edges = opencv_canny(liquid8, 50.0, 150.0)
    dist = chamfer_distance(edges, 20, x.dtype)
    dist = torch.floor(filter2d(dist, ones) / 9)
    dist = _equalise(dist)
    dist = filter2d(dist, torch.tensor(_EMBOSS, dtype=x.dtype, device=x.device))
    dist = filter2d(torch.round(dist).clamp(0, 255), ones) / 9
    m = liquid8 * dist
    m = m / m.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12) * intensity
    colour = m * torch.tensor(_WATER, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    if x.shape[1] == 1:
        return x + luminance(colour.clamp(0, 1), _GRAY)
    return x + colour


def _mud(
    x: torch.Tensor,
    liquid: torch.Tensor,
    threshold: float,
    sigma: float,
    colour: tuple[float, float, float],
) -> torch.Tensor:
    m = gaussian_blur((liquid > threshold).to(x.dtype), sigma)
    m = torch.where(m < 0.8, torch.zeros_like(m), m)
    paint = m * torch.tensor(colour, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    if x.shape[1] == 1:
        paint = luminance(paint, _GRAY)
    return x * (1 - m) + paint


@corruption("spatter", family="imagenet_c_extra", params=PARAMS, monotonic=False)
def spatter(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Thresholded blurred noise becomes water drops or mud.

    Water: Canny edges of the liquid layer, distance to them (truncated at 20 px), histogram
    equalisation, an emboss filter and box blurs shade the drops, which are added in pale
    turquoise. The edges and the distance follow OpenCV's rules exactly (``cv2.Canny``, see
    :func:`opencv_canny`; ``cv2.distanceTransform`` with the 5x5 mask, see
    :func:`chamfer_distance`). Mud: the blurred mask darkens the image towards brown.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, scale = reference_set(*x.shape[-2:])
    mean, std, sigma, threshold, fifth, mud = PARAMS[table][severity - 1]
    liquid = _liquid(x, mean, std, sigma * scale, threshold, generator)
    if mud:
        return _mud(x, liquid, threshold, fifth * scale, _MUD)
    return _water(x, liquid, fifth)


@corruption(
    "mnist_spatter", family="mnist_c", params=MNIST_PARAMS, monotonic=False, reference_severity=4
)
def mnist_spatter(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """MNIST-C's spatter: gray (63/255) mud blots at every severity.

    The mask sigma is the fifth table entry in every row, in pixels at 28 px; spatial
    parameters scale with ``min(H, W) / 28``.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    scale = min(x.shape[-2:]) / MNIST_SIZE
    mean, std, sigma, threshold, fifth, _ = MNIST_PARAMS["mnist"][severity - 1]
    liquid = _liquid(x, mean, std, sigma * scale, threshold, generator)
    return _mud(x, liquid, threshold, fifth * scale, (63 / 255,) * 3)
