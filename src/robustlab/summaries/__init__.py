"""Summaries: statistics across probes of a run (mean corruption accuracy, mCE, worst case)."""

from robustlab.registry import import_submodules
from robustlab.summaries.base import (
    SUMMARIES,
    ProbeErrors,
    Summary,
    UndefinedSummary,
    evaluate_summary,
)

import_submodules(__name__)

__all__ = ["SUMMARIES", "ProbeErrors", "Summary", "UndefinedSummary", "evaluate_summary"]
