"""The analysis layer: scorecard, robustness curves, drops, seed variance, comparisons and
effective robustness of stored runs, computed in one place into a typed, versioned result that
the report, the exports, the leaderboard and :class:`robustlab.ScanResult` read."""

from robustlab.analysis.analyse import analyse, analyse_run
from robustlab.analysis.axes import AXES, Axis, axis_definition, axis_scores, scorecard
from robustlab.analysis.result import (
    ANALYSIS_SCHEMA_VERSION,
    Analysis,
    AxisScore,
    Comparison,
    ConfirmationPoint,
    ProbeComparison,
    RobustnessCurve,
    RunAnalysis,
    SeedGroup,
    SeedProbe,
    SeverityCurve,
)

__all__ = [
    "ANALYSIS_SCHEMA_VERSION",
    "AXES",
    "Analysis",
    "Axis",
    "AxisScore",
    "Comparison",
    "ConfirmationPoint",
    "ProbeComparison",
    "RobustnessCurve",
    "RunAnalysis",
    "SeedGroup",
    "SeedProbe",
    "SeverityCurve",
    "analyse",
    "analyse_run",
    "axis_definition",
    "axis_scores",
    "scorecard",
]
