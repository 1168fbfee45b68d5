"""Mean corruption error normalised by a baseline model (ImageNet-C's mCE)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from robustlab.analysis.specs import perturbation_of
from robustlab.errors import ConfigError
from robustlab.summaries.base import SUMMARIES, ProbeErrors, Summary


def by_corruption(probes: list[ProbeErrors]) -> dict[str, list[ProbeErrors]]:
    """The probes grouped by the perturbation they apply (a corruption at several severities)."""
    groups: dict[str, list[ProbeErrors]] = {}
    for p in probes:
        found = perturbation_of(p.spec)
        groups.setdefault(p.key if found is None else found[0], []).append(p)
    return groups


@SUMMARIES.register("mce")
@dataclass(frozen=True)
class MCE(Summary):
    """``CE_c = sum_s E(s, c) / sum_s E_base(s, c)``, averaged over corruptions ``c``.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019.
    """

    name = "mce"
    higher_is_better = False
    description = "mean corruption error relative to the baseline run (1.0 = as robust)"
    axis = "corruptions"
    needs_baseline = True

    def statistic(
        self,
        rates: Mapping[str, np.ndarray],
        probes: list[ProbeErrors],
        baseline: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        assert baseline is not None
        ces = []
        for corruption, group in by_corruption(probes).items():
            den = np.sum([baseline[p.key] for p in group], axis=0)
            if np.all(den == 0):
                raise ConfigError(
                    f"The baseline makes no errors under {corruption!r}, so mCE is undefined; "
                    f"choose a weaker baseline model."
                )
            den = np.where(den > 1e-12, den, np.nan)  # undefined in that resample
            ces.append(np.sum([rates[p.key] for p in group], axis=0) / den)
        return np.mean(ces, axis=0)
