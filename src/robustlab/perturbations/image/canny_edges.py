"""Canny edges (MNIST-C): replace the image by its binary edge map."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import MNIST_SIZE, canny, gaussian_blur, luminance, sobel
from robustlab.seeding import Draws

# MNIST-C defines one level: (smoothing sigma in pixels at 28 px, low, high threshold).
PARAMS = {"mnist": ((1.0, 0.1, 0.2),) * 5}


@corruption(
    "canny_edges",
    family="mnist_c",
    params=PARAMS,
    random=False,
    monotonic=False,
    severity_dependent=False,
)
def canny_edges(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """skimage.feature.canny's defaults: normalised Gaussian smoothing, Sobel gradients,
    non-maximum suppression, hysteresis at 0.1 and 0.2, no edges on the 1-pixel border.

    RGB images are reduced to luminance first and the edge map is copied to every channel.
    The smoothing sigma scales with ``min(H, W) / 28`` (at least 0.5).

    References: Canny, "A Computational Approach to Edge Detection", TPAMI 1986; Mu & Gilmer,
    "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    sigma, low, high = PARAMS["mnist"][severity - 1]
    sigma = max(sigma * min(x.shape[-2:]) / MNIST_SIZE, 0.5)
    gray = luminance(x, (0.2125, 0.7154, 0.0721)) if x.shape[1] == 3 else x
    # skimage smooths with zeros outside and divides by the smoothed mask of ones.
    weight = gaussian_blur(torch.ones_like(gray), sigma, mode="constant")
    smooth = gaussian_blur(gray, sigma, mode="constant") / weight
    gx, gy = sobel(smooth, "symmetric")
    edges = canny(torch.hypot(gx, gy), gx, gy, low, high)
    border = F.pad(torch.ones_like(gray[..., 1:-1, 1:-1]), (1, 1, 1, 1)) > 0
    return (edges & border).to(x.dtype).expand_as(x).clone()
