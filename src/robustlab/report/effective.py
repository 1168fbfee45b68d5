"""Moved to :mod:`robustlab.analysis.effective`; this import path keeps working."""

from robustlab.analysis.effective import (
    MIN_MODELS,
    effective_robustness,
    fit_logit_line,
    fit_logit_plane,
)

__all__ = ["MIN_MODELS", "effective_robustness", "fit_logit_line", "fit_logit_plane"]
