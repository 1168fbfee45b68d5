"""pass@k with the unbiased estimator and ReCode's robust pass@k.

pass@k: Chen et al., "Evaluating Large Language Models Trained on Code", 2021 (the unbiased
estimator ``1 - C(n - c, k) / C(n, k)`` from ``n`` samples of which ``c`` pass). Robust pass@k
(RP_s@k): Wang et al., "ReCode: Robustness Evaluation of Code Generation Models", ACL 2023: a
sample counts as correct only if it passes under every one of the ``s`` perturbed variants of
its prompt (the worst case over the variants).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robustlab import validation
from robustlab.errors import ConfigError

__all__ = ["pass_at_k", "pass_at_k_per_problem", "robust_drop", "robust_pass_at_k"]


def pass_at_k_per_problem(n: int, c: int, k: int) -> float:
    """The unbiased estimate of pass@k for one problem with ``n`` samples, ``c`` correct."""
    owner = "pass_at_k"
    validation.check_int(owner, "n", n)
    validation.check_int(owner, "c", c, 0, n)
    validation.check_int(owner, "k", k)
    if k > n:
        raise ConfigError(
            f"pass@{k} needs at least {k} samples per problem; got n={n}. Generate more samples "
            f"(Decoding(num_samples={k}) or more) or ask for a smaller k."
        )
    if n - c < k:
        return 1.0
    # 1 - prod_{i=n-c+1}^{n} (1 - k / i): numerically stable (Chen et al., Figure 3)
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k(correct: Sequence[Sequence[bool]] | np.ndarray, k: int) -> float:
    """Mean pass@k over problems from a ``(problems, samples)`` array of test results (or one
    list of results per problem, of possibly different lengths)."""
    rows = [np.asarray(r, dtype=bool) for r in correct]
    if not rows:
        raise ConfigError("pass_at_k: no problems were given.")
    return float(np.mean([pass_at_k_per_problem(len(r), int(r.sum()), k) for r in rows]))


def robust_pass_at_k(correct: np.ndarray, k: int) -> float:
    """ReCode's robust pass@k from a ``(problems, variants, samples)`` boolean array: sample
    ``i`` of a problem is correct only if it passes on every variant (the worst case)."""
    arr = np.asarray(correct, dtype=bool)
    if arr.ndim != 3 or arr.shape[1] == 0:
        raise ConfigError(
            "robust_pass_at_k: needs a (problems, variants, samples) array of test results with "
            f"at least one variant; got shape {arr.shape}."
        )
    worst = np.asarray(arr.all(axis=1), dtype=bool)
    return pass_at_k(worst, k)


def robust_drop(nominal: float, robust: float) -> float:
    """ReCode's robust drop: the fraction of nominal pass@k lost in the worst case,
    ``(nominal - robust) / nominal`` (NaN when nothing passed nominally)."""
    return float("nan") if nominal <= 0 else (nominal - robust) / nominal
