"""Colour threat models: hue, saturation, brightness and contrast changes of a bounded size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch

from robustlab.attacks.image._ops import batch_view
from robustlab.attacks.threat import ParametricThreat, register_threat

__all__ = ["Brightness", "Contrast", "Hue", "Saturation"]

_LUMA = (0.299, 0.587, 0.114)


def _gray(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


@dataclass(frozen=True)
class _OneParameter(ParametricThreat):
    parameters: ClassVar[tuple[str, ...]] = ("amount",)

    def limits(self, shape: Sequence[int]) -> torch.Tensor:
        return torch.tensor([float(self.strength)])

    def _amount(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        return batch_view(theta.to(device=x.device, dtype=x.dtype).reshape(len(x)), x)


@register_threat("hue")
@dataclass(frozen=True)
class Hue(_OneParameter):
    """Hue rotations of up to ``strength * pi`` radians around the gray axis of RGB.

    References:
        Hosseini & Poovendran, "Semantic adversarial examples", CVPR Workshops 2018; Dai et al.,
        "MultiRobustBench", ICML 2023.
    """

    needs_channels: ClassVar[int | None] = 3

    def transform(
        self, x: torch.Tensor, theta: torch.Tensor, bounds: tuple[float, float]
    ) -> torch.Tensor:
        a = theta.to(device=x.device, dtype=x.dtype).reshape(len(x)) * math.pi
        k = torch.full((3,), 1 / math.sqrt(3.0), device=x.device, dtype=x.dtype)
        cross = torch.tensor(
            [[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], device=x.device, dtype=x.dtype
        ) / math.sqrt(3.0)
        eye = torch.eye(3, device=x.device, dtype=x.dtype)
        c, s = a.cos().view(-1, 1, 1), a.sin().view(-1, 1, 1)
        rot = c * eye + s * cross + (1 - c) * torch.outer(k, k)  # Rodrigues, per example
        out = torch.einsum("nij,njhw->nihw", rot, x)
        return out.clamp(bounds[0], bounds[1])

    def describe(self) -> str:
        return f"hue rotations up to {self.strength:.3g}π"


@register_threat("saturation")
@dataclass(frozen=True)
class Saturation(_OneParameter):
    """Saturation scaled by a factor in ``[1 - strength, 1 + strength]`` (blend with gray).

    References:
        Hosseini & Poovendran, "Semantic adversarial examples", CVPR Workshops 2018.
    """

    needs_channels: ClassVar[int | None] = 3

    def transform(
        self, x: torch.Tensor, theta: torch.Tensor, bounds: tuple[float, float]
    ) -> torch.Tensor:
        gray = _gray(x)
        return (gray + (1 + self._amount(x, theta)) * (x - gray)).clamp(bounds[0], bounds[1])

    def describe(self) -> str:
        return f"saturation scaled by 1 ± {self.strength:.3g}"


@register_threat("brightness")
@dataclass(frozen=True)
class Brightness(_OneParameter):
    """Brightness shifted by up to ``strength`` of the input range, every channel alike.

    References:
        Dai et al., "MultiRobustBench: benchmarking robustness against multiple attacks", ICML 2023.
    """

    def transform(
        self, x: torch.Tensor, theta: torch.Tensor, bounds: tuple[float, float]
    ) -> torch.Tensor:
        span = bounds[1] - bounds[0]
        return (x + span * self._amount(x, theta)).clamp(bounds[0], bounds[1])

    def describe(self) -> str:
        return f"brightness shifted by up to {self.strength:.3g} of the range"


@register_threat("contrast")
@dataclass(frozen=True)
class Contrast(_OneParameter):
    """Contrast scaled by a factor in ``[1 - strength, 1 + strength]`` around the image mean.

    References:
        Dai et al., "MultiRobustBench: benchmarking robustness against multiple attacks", ICML 2023.
    """

    def transform(
        self, x: torch.Tensor, theta: torch.Tensor, bounds: tuple[float, float]
    ) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (mean + (1 + self._amount(x, theta)) * (x - mean)).clamp(bounds[0], bounds[1])

    def describe(self) -> str:
        return f"contrast scaled by 1 ± {self.strength:.3g}"
