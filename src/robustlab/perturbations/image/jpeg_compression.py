"""JPEG compression: encode and decode each image with Pillow at a low quality."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from robustlab.perturbations.image._base import corruption
from robustlab.perturbations.image._ops import reference_set
from robustlab.seeding import Draws

# Pillow JPEG quality, severity 1..5.
PARAMS = {
    "imagenet": (25, 18, 15, 10, 7),
    "cifar": (80, 65, 58, 50, 40),
}


@corruption("jpeg_compression", family="imagenet_c", params=PARAMS, random=False)
def jpeg_compression(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Round to 8 bits, JPEG-encode at ``quality`` (Pillow defaults otherwise), decode.

    1-channel images are encoded as grayscale JPEGs. Runs on the CPU, one image at a time.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    quality = PARAMS[table][severity - 1]
    images = x.detach().cpu().numpy()
    result = torch.empty(x.shape, dtype=x.dtype)
    decoded = result.numpy()
    scale = decoded.dtype.type(255)  # a NumPy scalar keeps the arithmetic in the tensor's dtype
    for image, out in zip(images, decoded):
        # One image at a time, so the 8-bit conversions run on data that is still in cache.
        pixels = np.rint(image * scale).astype(np.uint8)
        if len(pixels) == 1:
            pil = Image.fromarray(pixels[0])
        else:
            pil = Image.merge("RGB", [Image.fromarray(plane) for plane in pixels])
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        jpeg = np.asarray(Image.open(buffer), dtype=np.uint8).reshape(*pixels.shape[1:], -1)
        np.divide(jpeg.transpose(2, 0, 1), scale, out=out)
    return result.to(x.device)
