"""Mean corruption error normalised by a baseline model (ImageNet-C's mCE)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np

from robustlab.analysis.specs import perturbation_of
from robustlab.summaries.base import SUMMARIES, ProbeErrors, Summary, UndefinedSummary, of_axis

#: Which corruption probes a scoped summary reads: ImageNet-C's 15 benchmark corruptions
#: (``benchmark``) or every other corruption probe (``extra``: the held-out set, MNIST-C, ...).
SCOPES = ("benchmark", "extra")


def by_corruption(probes: list[ProbeErrors]) -> dict[str, list[ProbeErrors]]:
    """The probes grouped by the perturbation they apply (a corruption at several severities)."""
    groups: dict[str, list[ProbeErrors]] = {}
    for p in probes:
        found = perturbation_of(p.spec)
        groups.setdefault(p.key if found is None else found[0], []).append(p)
    return groups


@cache
def benchmark_corruptions() -> frozenset[str]:
    """The 15 corruptions ImageNet-C's mCE averages over (the ``imagenet_c`` family)."""
    from robustlab.perturbations.image import names

    return frozenset(names(family="imagenet_c"))


def in_scope(probe: ProbeErrors, scope: str) -> bool:
    """Whether a corruption probe is one of ImageNet-C's 15 (``benchmark``) or not (``extra``)."""
    found = perturbation_of(probe.spec)
    benchmark = found is not None and found[0] in benchmark_corruptions()
    return benchmark if scope == "benchmark" else not benchmark


def scoped(probes: list[ProbeErrors], axis: str, scope: str) -> list[ProbeErrors]:
    """The probes of ``axis`` in ``scope`` (see :data:`SCOPES`)."""
    return [p for p in of_axis(probes, axis) if in_scope(p, scope)]


@SUMMARIES.register("mce")
@dataclass(frozen=True)
class MCE(Summary):
    """``CE_c = sum_s E(s, c) / sum_s E_base(s, c)``, averaged over ImageNet-C's 15 corruptions.

    Only the 15 benchmark corruptions count, as in the paper; the suite's other corruption
    probes (held-out, MNIST-C, ...) are averaged separately by :class:`MCEExtra` (``mce_extra``).

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019.
    """

    name = "mce"
    higher_is_better = False
    description = (
        "mean corruption error over ImageNet-C's 15 corruptions, relative to the baseline run "
        "(1.0 = as robust)"
    )
    axis = "corruptions"
    needs_baseline = True
    scope: ClassVar[str] = "benchmark"

    def probes(self, probes: list[ProbeErrors]) -> list[ProbeErrors]:
        return scoped(probes, self.axis, self.scope)

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
                raise UndefinedSummary(
                    f"The baseline makes no errors under {corruption!r}, so mCE is undefined; "
                    f"choose a weaker baseline model."
                )
            den = np.where(den > 1e-12, den, np.nan)  # undefined in that resample
            ces.append(np.sum([rates[p.key] for p in group], axis=0) / den)
        return np.mean(ces, axis=0)


@SUMMARIES.register("mce_extra")
@dataclass(frozen=True)
class MCEExtra(MCE):
    """mCE over the suite's corruptions other than ImageNet-C's 15 (held-out, MNIST-C, ...)."""

    name = "mce_extra"
    description = (
        "mean corruption error over the corruptions outside ImageNet-C's 15, relative to the "
        "baseline run (1.0 = as robust)"
    )
    scope = "extra"
