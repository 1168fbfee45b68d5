"""Frost: blend the image with a crop of an ice texture."""

from __future__ import annotations

import torch

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import luminance, reference_set, sample, uniform
from robustlab.perturbations.image._textures import FROST_SIZE, frost_textures
from robustlab.seeding import Draws

# (image weight, frost weight), severity 1..5.
PARAMS = {
    "imagenet": ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)),
    "cifar": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
}
_CROP = FROST_SIZE // 2  # a crop covers about as much of a texture as the reference's crops


# Not monotonic: the image weight falls while the texture weight rises, so the change from
# the clean image depends on how bright the image is next to the texture.
@corruption("frost", family="imagenet_c", params=PARAMS, monotonic=False)
def frost(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """``a * x + b * frost`` with a random texture, crop position and mirroring per image.

    The textures are procedural (see ``_textures.py``); a crop covers half a texture's side
    whatever the image size, so the crystals keep their size relative to the image. Their
    colours are calibrated per table: the pixels our crops show have, channel by channel, the
    distribution of the pixels the reference's crops of its photographs show (224 px crops
    of the photographs for ImageNet-C, 32 px crops after resizing them by 0.2 for CIFAR-10-C),
    so the expected change at every severity matches the reference's. 1-channel images get
    the texture's gray level (weights 0.2989, 0.587, 0.114).

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    weight_x, weight_frost = PARAMS[table][severity - 1]
    n, c, h, w = x.shape
    bank = frost_textures(x, table, _CROP)
    which = generator.randint(0, bank.shape[0], (n,), device=x.device)
    left = uniform((n,), 0, FROST_SIZE - 1 - _CROP, x, generator)
    top = uniform((n,), 0, FROST_SIZE - 1 - _CROP, x, generator)
    flip = torch.where(uniform((n, 2), 0, 1, x, generator) < 0.5, -1.0, 1.0).to(x.dtype)
    step_x, step_y = _CROP / max(w - 1, 1), _CROP / max(h - 1, 1)
    matrix = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    matrix[:, 0, 0] = step_x * flip[:, 0]
    matrix[:, 0, 2] = torch.where(flip[:, 0] > 0, left, left + _CROP)
    matrix[:, 1, 1] = step_y * flip[:, 1]
    matrix[:, 1, 2] = torch.where(flip[:, 1] > 0, top, top + _CROP)
    texture = _crop(bank[which], matrix, h, w)
    if c == 1:
        texture = luminance(texture, (0.2989, 0.587, 0.114))
    return weight_x * x + weight_frost * texture


def _crop(textures: torch.Tensor, matrix: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Sample an (h, w) grid from each texture at ``matrix @ (col, row, 1)``."""
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=textures.dtype, device=textures.device),
        torch.arange(w, dtype=textures.dtype, device=textures.device),
        indexing="ij",
    )
    src_x = matrix[:, 0, 0, None, None] * xs + matrix[:, 0, 2, None, None]
    src_y = matrix[:, 1, 1, None, None] * ys + matrix[:, 1, 2, None, None]
    return sample(textures, src_x, src_y, "border")
