"""Moved to :mod:`robustlab.analysis.seeds`; this import path keeps working."""

from robustlab.analysis.seeds import seed_groups

__all__ = ["seed_groups"]
