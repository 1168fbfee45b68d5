"""Measured duration of each built-in image suite, shown by ``robustlab list suites``.

Seconds per 1,000 small images: scikit-learn's 8x8 grayscale digits (539 test images), the
demo's digits CNN (``robustlab.demo.train_digits_cnn``, 3 epochs), measured with
``robustlab scan --estimate`` (16 + 48 examples timed per probe, scaled to the data) on a shared
2-core x86-64 CPU with 1 torch thread and the local backend, 2026-12-04, load average about 9
(other jobs ran). Larger images and models cost more per image; ``--estimate`` measures yours.
"""

from __future__ import annotations

__all__ = ["MEASURED_ON", "SECONDS_PER_1000"]

MEASURED_ON = (
    "per 1,000 8x8 digit images, digits CNN, shared 2-core CPU, 1 torch thread (--estimate, "
    "2026-12-04)"
)

#: Suite name -> expected seconds per 1,000 such images.
SECONDS_PER_1000: dict[str, float] = {
    "quick": 237.0,
    "standard-cpu": 446.0,
    "mnist-c": 16.0,
    "imagenet-c": 83.0,
    "imagenet-p": 32.0,
    "standard": 1833.0,
}
