"""The pass@k metric of code-generation records (registered when the task is)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from robustlab.errors import ConfigError
from robustlab.llm.code.passk import pass_at_k_per_problem
from robustlab.metrics.base import METRICS, Estimate, Metric, bootstrap_ci
from robustlab.records import Records

__all__ = ["PassAtK"]


@METRICS.register("pass_at_k")
@dataclass(frozen=True)
class PassAtK(Metric):
    """Mean over problems of the unbiased pass@k estimate from each problem's samples, with a
    percentile-bootstrap interval over problems.

    References:
        Chen et al., Evaluating Large Language Models Trained on Code, 2021.
    """

    k: int = 1
    name = "pass_at_k"
    higher_is_better = True
    description = "probability that one of k sampled programs passes its tests"
    tasks: ClassVar[tuple[str, ...]] = ("code_generation",)

    def _compute(self, records: Records, seed: int) -> Estimate:
        n = np.asarray(records.num_samples, dtype=np.int64)
        c = np.asarray(records.num_correct, dtype=np.int64)
        if len(n) and int(n.min()) < self.k:
            raise ConfigError(
                f"pass_at_k with k={self.k} needs at least {self.k} samples per problem; the "
                f"records have {int(n.min())}. Raise the probe's num_samples."
            )
        per = np.array([pass_at_k_per_problem(int(a), int(b), self.k) for a, b in zip(n, c)])
        value = float(per.mean()) if len(per) else float("nan")
        low, high = bootstrap_ci(per, seed=seed) if len(per) > 1 else (value, value)
        return Estimate(value, low, high, len(per), "bootstrap", details={"k": self.k})
