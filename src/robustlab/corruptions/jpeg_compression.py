"""JPEG compression: encode and decode each image with Pillow at a low quality."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from robustlab.corruptions._base import corruption
from robustlab.corruptions._ops import reference_set

# Pillow JPEG quality, severity 1..5.
PARAMS = {
    "imagenet": (25, 18, 15, 10, 7),
    "cifar": (80, 65, 58, 50, 40),
}


@corruption("jpeg_compression", family="imagenet_c", params=PARAMS, random=False)
def jpeg_compression(x: torch.Tensor, severity: int, generator: torch.Generator) -> torch.Tensor:
    """Round to 8 bits, JPEG-encode at ``quality`` (Pillow defaults otherwise), decode.

    1-channel images are encoded as grayscale JPEGs. Runs on the CPU, one image at a time.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    quality = PARAMS[table][severity - 1]
    pixels = (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    decoded = []
    for image in pixels:
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        array = np.asarray(Image.open(buffer), dtype=np.uint8)
        decoded.append(array.reshape(image.shape))
    out = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2)
    return out.to(device=x.device, dtype=x.dtype) / 255
