"""Certified robustness: randomized smoothing and bound propagation (IBP, CROWN)."""

from robustlab.certify.bounds import UnsupportedLayerError, VerifyResult, verify
from robustlab.certify.smoothing import (
    ABSTAIN,
    SmoothingResult,
    min_samples,
    predict,
    smoothing,
)

__all__ = [
    "ABSTAIN",
    "SmoothingResult",
    "UnsupportedLayerError",
    "VerifyResult",
    "min_samples",
    "predict",
    "smoothing",
    "verify",
]
