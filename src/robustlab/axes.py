"""Robustness axes; moved to :mod:`robustlab.analysis.axes` (this path keeps working)."""

from robustlab.analysis.axes import AXES, Axis, axis_scores

__all__ = ["AXES", "Axis", "axis_scores"]
