"""JPEG on several threads with the direct libjpeg decode is bit-exact with Pillow one image at a
time (issue 17 item 5)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from robustlab.perturbations import image as corruptions


def _pillow(batch: torch.Tensor, quality: int) -> torch.Tensor:
    out = []
    for image in batch.numpy():
        pixels = np.rint(image * np.float32(255)).astype(np.uint8)
        pil = Image.fromarray(pixels[0] if len(pixels) == 1 else pixels.transpose(1, 2, 0))
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=quality)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())), dtype=np.float32)
        decoded = decoded[None] if decoded.ndim == 2 else decoded.transpose(2, 0, 1)
        out.append(decoded / np.float32(255))
    return torch.from_numpy(np.stack(out))


@pytest.mark.parametrize("shape", [(9, 3, 32, 32), (6, 1, 28, 28), (5, 3, 40, 24)])
@pytest.mark.parametrize("threads", [1, 2])
def test_threaded_jpeg_equals_pillow_image_by_image(shape, threads) -> None:
    x = torch.rand(shape, generator=torch.Generator().manual_seed(sum(shape)))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for severity in (1, 3, 5):
            quality = (80, 65, 58, 50, 40)[severity - 1]  # CIFAR table (small images)
            out = corruptions.apply(x, "jpeg_compression", severity)
            assert torch.equal(out, _pillow(x, quality))
    finally:
        torch.set_num_threads(before)
