"""Gaussian-noise training: the base classifier that randomized smoothing certifies."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from robustlab.training._base import Recipe, Step
from robustlab.training._registry import register_recipe
from robustlab.validation import check_number

__all__ = ["GaussianNoise"]


@register_recipe("gaussian")
@dataclass(frozen=True)
class GaussianNoise(Recipe):
    """Train on ``x + sigma * N(0, I)``; the noise is not clipped to the bounds, as smoothing
    queries the base classifier on unclipped noisy inputs.

    References:
        Cohen, Rosenfeld & Kolter, "Certified adversarial robustness via randomized smoothing",
        ICML 2019.

    Args:
        sigma: Noise standard deviation in raw input units (the smoothing sigma).
    """

    sigma: float = 0.25

    def _check(self, owner: str) -> None:
        check_number(owner, "sigma", self.sigma)

    def objective(self, step: Step) -> torch.Tensor:
        x = step.inputs
        noise = torch.randn(x.shape, generator=step.generator, device=x.device)
        return self.per_example_loss(step.forward(x + self.sigma * noise), step).mean()
