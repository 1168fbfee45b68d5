"""Shot (Poisson) noise: photon counting at a severity-dependent exposure."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Photon count at full intensity (lower = noisier), severity 1..5.
PARAMS = {
    "imagenet": (60, 25, 12, 5, 3),
    "cifar": (500, 250, 100, 75, 50),
}
MNIST_PARAMS = {"mnist": PARAMS["imagenet"]}


def _shot(x: torch.Tensor, photons: float, generator: Draws) -> torch.Tensor:
    return generator.poisson(x * photons).div_(photons)


@corruption("shot_noise", family="imagenet_c", params=PARAMS)
def shot_noise(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """``clip(Poisson(x * c) / c)``.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    return _shot(x, PARAMS[table][severity - 1], generator)


@corruption("mnist_shot_noise", family="mnist_c", params=MNIST_PARAMS, reference_severity=5)
def mnist_shot_noise(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Shot noise with the ImageNet-C counts at every image size, as MNIST-C applies it.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    return _shot(x, MNIST_PARAMS["mnist"][severity - 1], generator)
