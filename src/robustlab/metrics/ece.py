"""Expected calibration error over equal-width confidence bins, with a bootstrap interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics._calibration import N_BINS, binned_estimate, check_bins, ece_of
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("ece")
@dataclass(frozen=True)
class ExpectedCalibrationError(Metric):
    """Expected calibration error, ``sum_b |B_b|/n * |accuracy(B_b) - confidence(B_b)|``.

    Examples are binned by the confidence of their predicted class into ``n_bins`` equal-width
    bins ``((b-1)/B, b/B]`` (a confidence of exactly 0 falls in the first bin). Empty bins are
    skipped: they weigh 0. A single example is a bin of its own, so its ECE is
    ``|correct - confidence|``. This is the plug-in ECE, kept under its name so that stored
    numbers stay comparable: it is biased upwards on few examples (even a perfectly calibrated
    model scores above 0), so compare models on the same number of examples, and read
    ``ece_debiased`` (Kumar et al. 2019) for an estimate centred on the true calibration error.

    The interval is a percentile bootstrap over examples (bins fixed, examples redrawn), widened
    to contain the point value: an interval for the plug-in statistic, which need not contain
    the true calibration error (for a calibrated model it never contains 0). ``details`` holds the reliability diagram: every bin's ``lower``
    and ``upper`` edge, ``count``, ``accuracy`` and ``mean_confidence`` (None for empty bins).

    Args:
        n_bins: Number of equal-width bins.

    References:
        Naeini et al., Obtaining Well Calibrated Probabilities Using Bayesian Binning, AAAI 2015.
        Guo et al., On Calibration of Modern Neural Networks, ICML 2017.
    """

    name = "ece"
    higher_is_better = False
    description = "expected calibration error over 15 equal-width confidence bins"
    axis = "calibration"

    n_bins: int = N_BINS

    def __post_init__(self) -> None:
        check_bins(self.name, self.n_bins)

    def _compute(self, records: Records, seed: int) -> Estimate:
        return binned_estimate(records, ece_of, self.n_bins, "equal-width", seed)
