"""Maximum calibration error over equal-width confidence bins, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics._calibration import N_BINS, binned_estimate, check_bins, mce_of
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("max_calibration_error")
@dataclass(frozen=True)
class MaxCalibrationError(Metric):
    """Maximum calibration error, ``max_b |accuracy(B_b) - confidence(B_b)|``.

    Same ``n_bins`` equal-width bins as ``ece``; the maximum runs over the non-empty bins only,
    and every non-empty bin counts however few examples it holds, so a bin of one example can
    set the value (the worst case is the point of this metric: read ``count`` in ``details``).
    Not to be confused with ``mce``, the mean corruption error summary.

    The interval is a percentile bootstrap over examples, widened to contain the point value.
    ``details`` holds the same reliability diagram as ``ece``.

    Args:
        n_bins: Number of equal-width bins.

    References:
        Naeini et al., Obtaining Well Calibrated Probabilities Using Bayesian Binning, AAAI 2015.
        Guo et al., On Calibration of Modern Neural Networks, ICML 2017.
    """

    name = "max_calibration_error"
    higher_is_better = False
    description = "largest |accuracy - confidence| over non-empty equal-width confidence bins"
    axis = "calibration"

    n_bins: int = N_BINS

    def __post_init__(self) -> None:
        check_bins(self.name, self.n_bins)

    def _compute(self, records: Records, seed: int) -> Estimate:
        return binned_estimate(records, mce_of, self.n_bins, "equal-width", seed)
