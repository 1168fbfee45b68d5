"""Glass blur: blur, locally scramble pixels, blur again."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import MNIST_SIZE, gaussian_blur, reference_set

# (sigma, max_delta, iterations) in pixels at the reference size, severity 1..5.
PARAMS = {
    "imagenet": ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
    "cifar": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
}
MNIST_PARAMS = {"mnist": PARAMS["imagenet"]}


def _glass(
    x: torch.Tensor,
    sigma: float,
    delta: int,
    iterations: int,
    move_prob: float,
    generator: torch.Generator,
) -> torch.Tensor:
    n, c, h, w = x.shape
    x = torch.floor(gaussian_blur(x, sigma) * 255) / 255  # the reference rounds down to uint8
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    # The reference visits interior pixels (more than delta from the top/left border, at least
    # delta from the bottom/right) and swaps each with a neighbour offset by -delta..delta-1.
    interior = ((rows > delta) & (rows <= h - delta))[:, None] & (
        (cols > delta) & (cols <= w - delta)
    )[None, :]
    flat = x.reshape(n, c, h * w)
    base = (rows[:, None] * w + cols[None, :]).expand(n, h, w)
    for _ in range(iterations):
        shape = (n, 2, h, w)
        offsets = torch.randint(-delta, delta, shape, generator=generator, device=x.device)
        moved = interior[None] & (
            torch.rand((n, h, w), generator=generator, device=x.device) < move_prob
        )
        src_r = (rows[None, :, None] + offsets[:, 0]).clamp(0, h - 1)
        src_c = (cols[None, None, :] + offsets[:, 1]).clamp(0, w - 1)
        src = torch.where(moved, src_r * w + src_c, base).reshape(n, 1, h * w).expand(n, c, -1)
        flat = torch.gather(flat, 2, src)
    return gaussian_blur(flat.reshape(n, c, h, w), sigma)


@corruption("glass_blur", family="imagenet_c", params=PARAMS, monotonic=False)
def glass_blur(x: torch.Tensor, severity: int, generator: torch.Generator) -> torch.Tensor:
    """Gaussian blur, ``iterations`` rounds of local pixel scrambling, Gaussian blur.

    The reference swaps pixels one at a time in a Python loop; here each round moves every
    interior pixel at once to a random neighbour within the same offsets (-max_delta to
    max_delta - 1), which vectorises over the batch and keeps the glass-like look.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, scale = reference_set(*x.shape[-2:])
    sigma, delta, iterations = PARAMS[table][severity - 1]
    return _glass(x, sigma * scale, max(1, round(delta * scale)), iterations, 1.0, generator)


@corruption(
    "mnist_glass_blur",
    family="mnist_c",
    params=MNIST_PARAMS,
    monotonic=False,
    reference_severity=1,
)
def mnist_glass_blur(x: torch.Tensor, severity: int, generator: torch.Generator) -> torch.Tensor:
    """Glass blur with ImageNet-C parameters at 28 px and half the pixels moved, as MNIST-C.

    Spatial parameters scale with ``min(H, W) / 28``.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    scale = min(x.shape[-2:]) / MNIST_SIZE
    sigma, delta, iterations = MNIST_PARAMS["mnist"][severity - 1]
    return _glass(x, sigma * scale, max(1, round(delta * scale)), iterations, 0.5, generator)
