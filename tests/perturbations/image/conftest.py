"""Shared test images for the corruption tests: smooth, structured and seeded."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


def structured_images(n: int, channels: int, size: int, seed: int = 0) -> torch.Tensor:
    """Smooth random colour fields plus a bright square: edges, flat areas and mid-tones."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, channels, 4, 4, generator=g)
    images = torch.nn.functional.interpolate(
        coarse, size=(size, size), mode="bilinear", align_corners=False
    )
    images = 0.15 + 0.7 * images
    q = size // 4
    images[:, :, q : 2 * q, q : 2 * q] = 0.95
    return images.clamp(0, 1)


@pytest.fixture
def make_images() -> Callable[..., torch.Tensor]:
    """``make_images(n, channels, size, seed=0)``: see :func:`structured_images`."""
    return structured_images
