"""Image corruptions (ImageNet-C, its held-out set, MNIST-C) and ImageNet-P sequences in torch.

Every corruption takes a float batch (N, C, H, W) in [0, 1] with 1 or 3 channels on any device
and returns a new tensor of the same shape, dtype and device::

    from robustlab import corruptions
    corruptions.names(family="imagenet_c")          # the 15 benchmark corruptions
    out = corruptions.apply(images, "fog", severity=3, seed=0)
    frames = corruptions.sequence(images, "rotate", length=31)   # (T, N, C, H, W)
    corruptions.flip_rate(predictions)              # predictions (T, N)

Parameters follow the reference per severity: CIFAR-10-C's table for images up to 84 px,
ImageNet-C's above, spatial parameters scaled by the image size (see
:func:`robustlab.corruptions._ops.reference_set`). ``mnist_c`` entries follow MNIST-C.
"""

from robustlab.corruptions import (  # noqa: F401  (importing a plugin module registers it)
    brightness,
    canny_edges,
    contrast,
    defocus_blur,
    dotted_line,
    elastic_transform,
    fog,
    frost,
    gaussian_blur,
    gaussian_noise,
    glass_blur,
    impulse_noise,
    jpeg_compression,
    motion_blur,
    pixelate,
    rotate,
    saturate,
    scale,
    shear,
    shot_noise,
    snow,
    spatter,
    speckle_noise,
    stripe,
    translate,
    zigzag,
    zoom_blur,
)
from robustlab.corruptions._base import CORRUPTIONS, FAMILIES, Corruption, apply, names
from robustlab.corruptions._ops import reference_set
from robustlab.corruptions.sequences import (
    SEQUENCES,
    Sequence,
    flip_rate,
    sequence,
    sequence_names,
)

__all__ = [
    "CORRUPTIONS",
    "FAMILIES",
    "SEQUENCES",
    "Corruption",
    "Sequence",
    "apply",
    "flip_rate",
    "names",
    "reference_set",
    "sequence",
    "sequence_names",
]
