"""JPEG compression: encode and decode each image with Pillow at a low quality."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

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

#: Fewer images than this per call are encoded in the calling thread (a pool costs more).
_POOL_MIN_IMAGES = 4
_POOL: list[ThreadPoolExecutor] = []
_POOL_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """A thread pool of ``threads`` workers, kept between calls (rebuilt when the count
    changes, e.g. under ``scan(threads=...)``)."""
    with _POOL_LOCK:
        if not _POOL or _POOL[0]._max_workers != threads:
            if _POOL:
                _POOL.pop().shutdown(wait=False)
            _POOL.append(ThreadPoolExecutor(threads, thread_name_prefix="robustlab-jpeg"))
        return _POOL[0]


def _jpeg_one(image: np.ndarray, out: np.ndarray, quality: int) -> None:
    """Round one ``(C, H, W)`` image to 8 bits, JPEG-encode and decode it into ``out``."""
    scale = out.dtype.type(255)  # a NumPy scalar keeps the arithmetic in the tensor's dtype
    # One float buffer per image (still in cache), written channels-last as Pillow reads it:
    # the same rint(x * 255) as before, without a copy of the batch or a uint8 transpose.
    gray = len(image) == 1
    work = np.multiply(image[0] if gray else image.transpose(1, 2, 0), scale, order="C")
    np.rint(work, out=work)
    pil = Image.fromarray(work.astype(np.uint8))  # (H, W) -> L, (H, W, 3) -> RGB
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=quality)  # libjpeg runs without the GIL
    jpeg = np.asarray(_decode(buffer.getvalue(), pil.mode, pil.size), dtype=np.uint8)
    np.divide(jpeg.reshape(*image.shape[1:], -1).transpose(2, 0, 1), scale, out=out)


def _decode(data: bytes, mode: str, size: tuple[int, int]) -> Image.Image:
    """Decode our own baseline JPEG with Pillow's libjpeg decoder directly: the pixels of
    ``Image.open(...)`` without parsing the markers in Python (40 % of the time at 32 px)."""
    try:
        return Image.frombytes(mode, size, data, "jpeg", mode, "")
    except (ValueError, OSError, TypeError):  # a Pillow whose decoder takes other arguments
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im


@corruption("jpeg_compression", family="imagenet_c", params=PARAMS, random=False)
def jpeg_compression(x: torch.Tensor, severity: int, generator: Draws) -> torch.Tensor:
    """Round to 8 bits, JPEG-encode at ``quality`` (Pillow defaults otherwise), decode.

    1-channel images are encoded as grayscale JPEGs. Runs on the CPU: images are encoded and
    decoded in parallel on ``torch.get_num_threads()`` threads (Pillow releases the GIL in
    libjpeg), each from its own 8-bit copy; the result is bit-identical to one image at a time.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    table, _ = reference_set(*x.shape[-2:])
    quality = PARAMS[table][severity - 1]
    images = x.detach().cpu().numpy()
    result = torch.empty(x.shape, dtype=x.dtype)
    decoded = result.numpy()
    threads = min(torch.get_num_threads(), len(images))
    if threads < 2 or len(images) < _POOL_MIN_IMAGES:
        for image, out in zip(images, decoded):
            _jpeg_one(image, out, quality)
    else:
        # contiguous runs of images per task: fewer hand-offs than one task per image
        step = -(-len(images) // (threads * 4))

        def run(lo: int) -> None:
            for i in range(lo, min(lo + step, len(images))):
                _jpeg_one(images[i], decoded[i], quality)

        for done in [_pool(threads).submit(run, lo) for lo in range(0, len(images), step)]:
            done.result()
    return result.to(x.device)
