"""Glass blur: blur, locally scramble pixels, blur again."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import MNIST_SIZE, gaussian_blur, reference_set
from robustlab.seeding import Draws

# (sigma, max_delta, iterations) in pixels at the reference size, severity 1..5.
PARAMS = {
    "imagenet": ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
    "cifar": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
}
MNIST_PARAMS = {"mnist": PARAMS["imagenet"]}


def visits(h: int, w: int, delta: int, device: torch.device) -> torch.Tensor:
    """Flat indices of the pixels the reference visits, in its order (K,).

    Rows ``h - delta`` down to ``delta + 1``, and in each row columns ``w - delta`` down to
    ``delta + 1``: the reference's ``range(h - delta, delta, -1)`` loops.
    """
    rows = torch.arange(delta + 1, max(h - delta, delta) + 1, device=device).flip(0)
    cols = torch.arange(delta + 1, max(w - delta, delta) + 1, device=device).flip(0)
    return (rows[:, None] * w + cols[None, :]).reshape(-1)


def swap_sources(visited: torch.Tensor, targets: torch.Tensor, size: int) -> torch.Tensor:
    """Where each pixel's content comes from after swapping ``visited[:, k]`` with
    ``targets[:, k]`` for k = 0, 1, ... in turn (a pixel may move again after it was swapped).

    Args:
        visited: (K,) or (N, K) flat pixel indices, the k-th swap's first pixel.
        targets: (N, K) flat pixel indices, the k-th swap's second pixel (may equal the first).
        size: pixels per image (H * W).

    Returns:
        (N, size) flat indices: output pixel i holds the input pixel ``result[:, i]``.

    The sequence is resolved without a loop over it. Swap k has a node for each of its two
    pixels; after the swap a node's pixel holds what the other pixel held just before, i.e.
    what that pixel's previous node left there (or its input when it has none). Sorting the
    nodes by pixel (stably, so by time within a pixel) gives every node's previous node;
    these links point strictly back in time, so pointer doubling resolves every chain in at
    most log2(2K) rounds.
    """
    n, k = targets.shape
    device = targets.device
    pixels = torch.arange(size, device=device).expand(n, size)
    if k == 0:
        return pixels.clone()
    # Node 2k is swap k's first pixel, node 2k + 1 its second: nodes are in time order.
    where = torch.stack([visited.expand(n, k), targets], dim=2).reshape(n, 2 * k)
    by_pixel, order = torch.sort(where, dim=1, stable=True)
    same = by_pixel[:, 1:] == by_pixel[:, :-1]
    previous_sorted = torch.cat(
        [torch.full((n, 1), -1, device=device), torch.where(same, order[:, :-1], -1)], dim=1
    )
    previous = torch.empty_like(order).scatter_(1, order, previous_sorted)
    node = torch.arange(2 * k, device=device)
    sibling = (node ^ 1).expand(n, -1)
    # A swap of a pixel with itself reads its own pixel: its first node's previous node (the
    # second node's previous node is the first).
    still = (where[:, 0::2] == where[:, 1::2]).repeat_interleave(2, dim=1)
    pointer = torch.where(still, previous, previous.gather(1, sibling))
    label = torch.where(still, where, where.gather(1, sibling))  # when there is no previous node
    # Nodes without a previous node are the roots; they point to themselves.
    pointer = torch.where(pointer >= 0, pointer, node)
    while True:
        jumped = pointer.gather(1, pointer)
        if torch.equal(jumped, pointer):
            break
        pointer = jumped
    label = label.gather(1, pointer)
    # A pixel ends with what its last node left; pixels no swap touched keep their input.
    last = torch.cat([~same, torch.ones((n, 1), dtype=torch.bool, device=device)], dim=1)
    slot = torch.where(last, by_pixel, size)
    final = torch.full((n, size + 1), -1, device=device).scatter_(1, slot, order)[:, :size]
    return torch.where(final >= 0, label.gather(1, final.clamp(min=0)), pixels)


def copy_sources(visited: torch.Tensor, targets: torch.Tensor, size: int) -> torch.Tensor:
    """Where each pixel's content comes from after ``pixel[visited[:, k]] = pixel[targets[:, k]]``
    for k = 0, 1, ... in turn: what the reference's swap does to an RGB image.

    The reference writes ``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` on an (H, W, 3) array,
    where both right-hand sides are views: the first assignment overwrites the visited pixel
    with its neighbour, and the second copies that (already overwritten) pixel back into the
    neighbour, so the visited pixel gets a copy of its neighbour and the neighbour keeps its
    value. A visited pixel is written only at its own visit, so it ends with what
    its neighbour held then: the neighbour's final content when the neighbour was visited
    earlier, else its input. Pointer doubling resolves these chains.

    Args and returns as :func:`swap_sources`.
    """
    n, k = targets.shape
    device = targets.device
    pixels = torch.arange(size, device=device).expand(n, size)
    if k == 0:
        return pixels.clone()
    visited = visited.expand(n, k)
    time = torch.full((n, size), k, device=device)
    time.scatter_(1, visited, torch.arange(k, device=device).expand(n, k))
    read = pixels.clone().scatter_(1, visited, targets)
    earlier = time.gather(1, read) < time
    pointer = torch.where(earlier, read, pixels)
    while True:
        jumped = pointer.gather(1, pointer)
        if torch.equal(jumped, pointer):
            break
        pointer = jumped
    return read.gather(1, pointer)


def scramble(
    shape: tuple[int, int, int, int],
    delta: int,
    iterations: int,
    move_prob: float,
    generator: Draws,
    device: torch.device,
) -> torch.Tensor:
    """The reference's ``iterations`` rounds of local swaps on (N, C, H, W) images, composed.

    Returns (N, H * W) flat indices: output pixel i holds input pixel ``result[:, i]``.
    """
    n, c, h, w = shape
    visited = visits(h, w, delta, device)
    k = visited.numel()
    # The reference's swap is a true swap on a 2-D (grayscale) array and a copy on RGB.
    resolve = swap_sources if c == 1 else copy_sources
    total = torch.arange(h * w, device=device).expand(n, h * w)
    for _ in range(iterations):
        # Each visited pixel swaps with the one offset by (dy, dx) in -delta..delta-1.
        offsets = generator.randint(-delta, delta, (n, k, 2), device=device)
        moved = generator.rand((n, k), device=device) < move_prob
        step = torch.where(moved, offsets[..., 0] * w + offsets[..., 1], 0)
        total = total.gather(1, resolve(visited, visited + step, h * w))
    return total


def _glass(
    x: torch.Tensor,
    sigma: float,
    delta: int,
    iterations: int,
    move_prob: float,
    generator: Draws,
) -> torch.Tensor:
    n, c, h, w = x.shape
    x = torch.floor(gaussian_blur(x, sigma) * 255) / 255  # the reference rounds down to uint8
    src = scramble((n, c, h, w), delta, iterations, move_prob, generator, x.device)
    flat = torch.gather(x.reshape(n, c, h * w), 2, src[:, None].expand(n, c, -1))
    return gaussian_blur(flat.reshape(n, c, h, w), sigma)


@corruption("glass_blur", family="imagenet_c", params=PARAMS, monotonic=False)
def glass_blur(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Gaussian blur, ``iterations`` rounds of local pixel swaps, Gaussian blur.

    As the reference, each round visits the interior pixels from the bottom-right corner
    backwards, one after another, and "swaps" each with a random neighbour offset by
    -max_delta to max_delta - 1 in each direction. On RGB images the reference's swap copies
    the neighbour into the visited pixel (see :func:`copy_sources`), so content is copied
    along chains of visits; on 1-channel images it is a true swap (:func:`swap_sources`) and a
    swapped pixel can move again. Each round's result is computed for the whole batch at once
    and is exactly the sequential one.

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
def mnist_glass_blur(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Glass blur with ImageNet-C parameters at 28 px and half the visits swapping, as MNIST-C.

    Spatial parameters scale with ``min(H, W) / 28``.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    scale = min(x.shape[-2:]) / MNIST_SIZE
    sigma, delta, iterations = MNIST_PARAMS["mnist"][severity - 1]
    return _glass(x, sigma * scale, max(1, round(delta * scale)), iterations, 0.5, generator)
