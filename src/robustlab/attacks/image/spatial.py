"""Rotation and translation threat model (Engstrom et al.): up to 30 degrees and 3 px at 32 px."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from robustlab.attacks.threat import ParametricThreat, register_threat

__all__ = ["RotationTranslation"]


@register_threat("rotation_translation")
@dataclass(frozen=True)
class RotationTranslation(ParametricThreat):
    """Rotations up to ``strength * 30`` degrees and translations up to ``strength * 3`` pixels
    per axis at 32 px (scaled by the image side), zero padding, bilinear resampling.

    References:
        Engstrom et al., "Exploring the landscape of spatial robustness", ICML 2019.
    """

    parameters: ClassVar[tuple[str, ...]] = ("degrees", "dx", "dy")
    degrees: ClassVar[float] = 30.0
    pixels: ClassVar[float] = 3.0

    def limits(self, shape: Sequence[int]) -> torch.Tensor:
        side = float(shape[-1])
        px = self.strength * self.pixels * side / 32.0
        return torch.tensor([self.strength * self.degrees, px, px])

    def transform(
        self, x: torch.Tensor, theta: torch.Tensor, bounds: tuple[float, float]
    ) -> torch.Tensor:
        n, _, h, w = x.shape
        t = theta.to(device=x.device, dtype=x.dtype).reshape(n, 3)
        angle = t[:, 0] * math.pi / 180.0
        cos, sin = angle.cos(), angle.sin()
        # affine_grid works in [-1, 1] coordinates: a shift of one pixel is 2 / side.
        matrix = torch.stack(
            [
                torch.stack([cos, -sin, -2.0 * t[:, 1] / w], dim=1),
                torch.stack([sin, cos, -2.0 * t[:, 2] / h], dim=1),
            ],
            dim=1,
        )
        grid = F.affine_grid(matrix, list(x.shape), align_corners=False)
        low = bounds[0]
        out = F.grid_sample(
            x - low, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        return (out + low).clamp(bounds[0], bounds[1])

    def describe(self) -> str:
        lim = self.limits((32, 32))
        return (
            f"rotations up to {float(lim[0]):.3g}° and shifts up to {float(lim[1]):.3g} px at 32 px"
        )
