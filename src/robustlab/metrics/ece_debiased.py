"""Debiased calibration error (Kumar et al. 2019) with an interval that covers the truth."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics._calibration import N_BINS, check_bins
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.metrics.intervals import debiased_calibration_error
from robustlab.records import Records


@METRICS.register("ece_debiased")
@dataclass(frozen=True)
class DebiasedCalibrationError(Metric):
    """Calibration error estimated without the plug-in ECE's upward bias: the root of Kumar et
    al.'s debiased squared binned error over ``n_bins`` equal-mass bins (at least two examples
    each), ``sqrt(max(sum_b n_b/n ((y_b - c_b)^2 - y_b (1 - y_b)/(n_b - 1)), 0))``.

    It estimates the same quantity as ECE where the model's miscalibration is the same across
    confidences (an over-confident model by 0.08 has both 0.08), and 0 for a calibrated model,
    where the plug-in ``ece`` stays above 0 (0.034 on average at 300 examples) and its
    interval misses 0. The squared estimate is unbiased; its root, clipped at 0, still averages
    0.017 there, but the interval holds 0. The interval is Wald's on the squared scale mapped back by the root (see
    :func:`robustlab.metrics.intervals.debiased_calibration_error`); it contains 0 whenever the
    data do not rule perfect calibration out. Simulated coverage of the 95% interval (1,000 data
    sets of 300): 0.96 for a calibrated model, 0.94 for one over-confident by 0.08.
    ``details``: ``squared`` (the unclipped squared estimate, negative when the model looks
    better than calibrated), its standard error and the number of bins.

    Args:
        n_bins: Number of equal-mass bins (fewer when there are under two examples per bin).

    References:
        Kumar, Liang & Ma, Verified Uncertainty Calibration, NeurIPS 2019.
    """

    name = "ece_debiased"
    higher_is_better = False
    description = "debiased calibration error (Kumar et al. 2019), 15 equal-mass bins"
    axis = "calibration"

    n_bins: int = N_BINS

    def __post_init__(self) -> None:
        check_bins(self.name, self.n_bins)

    def _compute(self, records: Records, seed: int) -> Estimate:
        out = debiased_calibration_error(records.confidence, records.correct, self.n_bins)
        details = {k: out[k] for k in ("squared", "se_squared", "n_bins")}
        return Estimate(
            out["value"],
            out["ci_low"],
            out["ci_high"],
            len(records),
            "wald-debiased",
            0.95,
            details,
        )
