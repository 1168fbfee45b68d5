"""Image corruptions (ImageNet-C, its held-out set, MNIST-C) and ImageNet-P sequences in torch.

Every corruption takes a float batch (N, C, H, W) in [0, 1] with 1 or 3 channels on any device
and returns a new tensor of the same shape, dtype and device::

    from robustlab.perturbations import image as corruptions
    corruptions.names(family="imagenet_c")          # the 15 benchmark corruptions
    out = corruptions.apply(images, "fog", severity=3, seed=0)
    frames = corruptions.sequence(images, "rotate", length=31)   # (T, N, C, H, W)
    corruptions.flip_rate(predictions)              # predictions (T, N)

Parameters follow the reference per severity: CIFAR-10-C's table for images up to 84 px,
ImageNet-C's above, spatial parameters scaled by the image size (see
:func:`robustlab.perturbations.image._ops.reference_set`). ``mnist_c`` entries follow MNIST-C.
"""

from robustlab.perturbations.image._base import (
    CORRUPTIONS,
    FAMILIES,
    Corruption,
    CorruptionPerturbation,
    apply,
    names,
)
from robustlab.perturbations.image._ops import reference_set
from robustlab.perturbations.image.sequences import (
    SEQUENCES,
    Sequence,
    flip_rate,
    sequence,
    sequence_names,
)
from robustlab.registry import import_submodules

import_submodules(__name__)  # every plugin module registers its corruption

__all__ = [
    "CORRUPTIONS",
    "FAMILIES",
    "SEQUENCES",
    "Corruption",
    "CorruptionPerturbation",
    "Sequence",
    "apply",
    "flip_rate",
    "names",
    "reference_set",
    "sequence",
    "sequence_names",
]
