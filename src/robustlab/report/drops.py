"""Moved to :mod:`robustlab.analysis.drops`; this import path keeps working."""

from robustlab.analysis.drops import domain_drops, drops_of

__all__ = ["domain_drops", "drops_of"]
