"""Expected calibration error over equal-mass (adaptive) confidence bins, with a bootstrap
interval."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.metrics._calibration import N_BINS, binned_estimate, check_bins, ece_of
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records


@METRICS.register("ece_equal_mass")
@dataclass(frozen=True)
class EqualMassCalibrationError(Metric):
    """Expected calibration error over ``n_bins`` bins holding equally many examples.

    Examples are sorted by confidence (ties broken by correctness, so the value does not depend
    on the order of the records) and cut into ``n_bins`` consecutive runs whose sizes differ by
    at most one; ECE is then ``sum_b |B_b|/n * |accuracy(B_b) - confidence(B_b)|`` as for
    :class:`~robustlab.metrics.ece.ExpectedCalibrationError`. Unlike equal-width bins, none is
    sparsely filled when confidences crowd near 1. With fewer examples than bins every example is
    its own bin and the remaining bins are empty and skipped.

    The interval is a percentile bootstrap over examples (bins recut in every resample), widened
    to contain the point value. ``details`` holds the reliability diagram of the non-empty bins:
    ``lower`` and ``upper`` (the bin's smallest and largest confidence), ``count``, ``accuracy``
    and ``mean_confidence``.

    Args:
        n_bins: Number of equal-mass bins.

    References:
        Nixon et al., Measuring Calibration in Deep Learning, CVPR Workshops 2019.
    """

    name = "ece_equal_mass"
    higher_is_better = False
    description = "expected calibration error over 15 equal-mass (adaptive) confidence bins"
    axis = "calibration"

    n_bins: int = N_BINS

    def __post_init__(self) -> None:
        check_bins(self.name, self.n_bins)

    def _compute(self, records: Records, seed: int) -> Estimate:
        return binned_estimate(records, ece_of, self.n_bins, "equal-mass", seed)
