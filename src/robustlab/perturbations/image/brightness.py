"""Brightness: add to the HSV value channel."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Amount added to V in HSV, severity 1..5.
PARAMS = {
    "imagenet": (0.1, 0.2, 0.3, 0.4, 0.5),
    "cifar": (0.05, 0.1, 0.15, 0.2, 0.3),
}
MNIST_PARAMS = {"mnist": PARAMS["imagenet"]}


def brighten(x: torch.Tensor, amount: float) -> torch.Tensor:
    """Raise HSV value by ``amount`` (clipped), keeping hue and saturation.

    With hue and saturation fixed, every RGB channel is proportional to V, so the HSV round
    trip reduces to ``x * V' / V`` (and ``V'`` on black pixels, whose hue and saturation are 0).
    On 1-channel images V is the pixel itself.
    """
    if x.shape[1] == 1:
        return (x + amount).clamp(0, 1)
    v = x.amax(dim=1, keepdim=True)
    v_new = (v + amount).clamp(0, 1)
    ratio = v_new / v.clamp_min(1e-12)
    # Black pixels (V = 0) are 0 in every channel, so adding V' there alone gives them V'.
    return x.mul(ratio).add_(torch.where(v > 0, 0.0, v_new))


@corruption("brightness", family="imagenet_c", params=PARAMS, random=False)
def brightness(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """See :func:`brighten`.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    return brighten(x, PARAMS[table][severity - 1])


@corruption(
    "mnist_brightness", family="mnist_c", params=MNIST_PARAMS, random=False, reference_severity=5
)
def mnist_brightness(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Brightness with the ImageNet-C amounts at every size, as MNIST-C applies it to digits.

    References: Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer Vision", 2019.
    """
    return brighten(x, MNIST_PARAMS["mnist"][severity - 1])
