"""Impulse (salt-and-pepper) noise: a fraction of values set to 0 or 1."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Fraction of values replaced (half by 1, half by 0), severity 1..5.
PARAMS = {
    "imagenet": (0.03, 0.06, 0.09, 0.17, 0.27),
    "cifar": (0.01, 0.02, 0.03, 0.05, 0.07),
}
MNIST_PARAMS = {"mnist": PARAMS["imagenet"]}


def _salt_and_pepper(x: torch.Tensor, amount: float, generator: Draws) -> torch.Tensor:
    # Each value (pixel and channel) flips independently, as skimage.util.random_noise("s&p"),
    # to 1 or 0 with equal probability: one uniform draw below amount / 2 salts, between
    # amount / 2 and amount peppers (the same law as two independent draws, half the cost).
    u = generator.rand(x.shape, device=x.device, dtype=x.dtype)
    return x.masked_fill(u < amount, 0.0).masked_fill_(u < amount / 2, 1.0)


@corruption("impulse_noise", family="imagenet_c", params=PARAMS)
def impulse_noise(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Replace a fraction ``amount`` of values, each by 1 or 0 with equal probability.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    return _salt_and_pepper(x, PARAMS[table][severity - 1], generator)


@corruption("mnist_impulse_noise", family="mnist_c", params=MNIST_PARAMS, reference_severity=4)
def mnist_impulse_noise(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Impulse noise with the ImageNet-C amounts at every image size, as MNIST-C applies it.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    return _salt_and_pepper(x, MNIST_PARAMS["mnist"][severity - 1], generator)
