"""Moved to :mod:`robustlab.analysis.compare`; this import path keeps working."""

from robustlab.analysis.compare import compare_runs, mcnemar_exact

__all__ = ["compare_runs", "mcnemar_exact"]
