"""Robust accuracy as a function of epsilon, and the distribution of minimal perturbation sizes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from robustlab.attacks.image._base import build_attack
from robustlab.attacks.image._result import AttackResult
from robustlab.attacks.threat import TOLERANCE
from robustlab.errors import ConfigError, DataError
from robustlab.models.base import Model

__all__ = [
    "SEARCHES",
    "EpsilonSweep",
    "GridCurve",
    "check_grid",
    "epsilon_sweep",
    "grid_curve",
    "perturbation_summary",
    "robust_accuracy_curve",
    "search_grid",
]

#: How :func:`grid_curve` confirms the minimal-norm run: a binary search over the grid per example
#: (``binary``) or the bounded attack at every grid value the minimal run left robust (``full``).
SEARCHES = ("binary", "full")


def _as_1d(name: str, values: Any, dtype: torch.dtype) -> torch.Tensor:
    t = torch.as_tensor(values).detach().cpu().to(dtype)
    if t.ndim != 1 or t.numel() == 0:
        raise DataError(
            f"The {name!r} argument must be a non-empty 1-D sequence. Got shape {tuple(t.shape)}."
        )
    return t


def _check_epsilons(epsilons: Sequence[float]) -> torch.Tensor:
    eps = _as_1d("epsilons", list(epsilons), torch.float64)
    if not torch.isfinite(eps).all() or (eps < 0).any():
        raise ConfigError(
            f"The 'epsilons' parameter must be finite non-negative floats. Got {list(epsilons)!r}."
        )
    return eps


def robust_accuracy_curve(norms: Any, success: Any, epsilons: Sequence[float]) -> torch.Tensor:
    """Robust accuracy at each epsilon from one minimal-norm attack.

    An example is robust at ``eps`` unless the attack succeeded with a perturbation of norm at
    most ``eps``. Clean-misclassified examples (success with norm 0) are never robust.

    Args:
        norms: Minimal perturbation norms ``(N,)`` (``AttackResult.norms``).
        success: Bool ``(N,)`` (``AttackResult.success``).
        epsilons: Budgets at which to evaluate.

    Returns:
        Float64 tensor ``(len(epsilons),)`` of robust accuracies in [0, 1].

    Raises:
        DataError: Empty or mismatched inputs.
    """
    n = _as_1d("norms", norms, torch.float64)
    s = _as_1d("success", success, torch.bool)
    if n.shape != s.shape:
        raise DataError(f"norms and success must have the same length; got {len(n)} and {len(s)}.")
    eps = _check_epsilons(epsilons)
    broken_at = torch.where(s, n, torch.full_like(n, float("inf")))
    return (broken_at[None, :] > eps[:, None]).double().mean(dim=1)


def perturbation_summary(norms: Any, success: Any, targets: Any | None = None) -> dict[str, Any]:
    """Distribution of minimal adversarial perturbation sizes over the broken examples.

    Clean-misclassified examples (norm 0) are excluded, and examples the attack did not break
    are counted, not averaged in.

    Args:
        norms: Minimal perturbation norms ``(N,)``.
        success: Bool ``(N,)``.
        targets: Optional class labels ``(N,)`` for a per-class breakdown.

    Returns:
        ``{"n_broken", "n_unbroken", "median", "quantiles": {"0.1", "0.25", "0.5", "0.75", "0.9"},
        "per_class": {label: {"n_broken", "median"}}}``; statistics are ``None`` when no example
        was broken.
    """
    n = _as_1d("norms", norms, torch.float64)
    s = _as_1d("success", success, torch.bool)
    if n.shape != s.shape:
        raise DataError(f"norms and success must have the same length; got {len(n)} and {len(s)}.")
    broken = s & (n > 0)
    values = n[broken]
    qs = (0.1, 0.25, 0.5, 0.75, 0.9)
    out: dict[str, Any] = {
        "n_broken": int(broken.sum()),
        "n_unbroken": int((~s).sum()),
        "median": float(values.median()) if len(values) else None,
        "quantiles": {str(q): float(values.quantile(q)) if len(values) else None for q in qs},
    }
    if targets is not None:
        t = _as_1d("targets", targets, torch.long)
        if t.shape != n.shape:
            raise DataError(f"targets must have the same length as norms; got {len(t)}.")
        out["per_class"] = {
            int(c): {
                "n_broken": int((broken & (t == c)).sum()),
                "median": float(n[broken & (t == c)].median())
                if (broken & (t == c)).any()
                else None,
            }
            for c in t.unique().tolist()
        }
    return out


@dataclass
class EpsilonSweep:
    """Robust accuracy against epsilon, from a minimal-norm attack and fixed-epsilon runs.

    Attributes:
        epsilons: The budgets.
        from_minimal: Robust accuracy implied by the minimal-norm attack.
        confirmed: Robust accuracy of the fixed-epsilon attack at each budget.
        combined: Per-example worst case of both (an example is robust only if neither broke it).
        minimal: The minimal-norm attack's result.
    """

    epsilons: list[float]
    from_minimal: list[float]
    confirmed: list[float]
    combined: list[float]
    minimal: AttackResult


def epsilon_sweep(
    model: Model,
    inputs: Any,
    targets: Any,
    epsilons: Sequence[float],
    *,
    norm: str = "linf",
    minimal_attack: str = "fab",
    confirm_attack: str = "apgd",
    seed: int = 0,
    bounds: tuple[float, float] | None = None,
    minimal_params: dict[str, Any] | None = None,
    confirm_params: dict[str, Any] | None = None,
) -> EpsilonSweep:
    """The robust-accuracy curve from one minimal-norm run, confirmed at each epsilon by a
    fixed-epsilon attack (e.g. ``apgd`` or ``pgd``) so that neither attack's blind spots bias it.
    """
    eps = _check_epsilons(epsilons)
    if (eps <= 0).any():
        raise ConfigError(
            f"The 'epsilons' parameter must be positive floats. Got {list(epsilons)!r}."
        )
    minimal = build_attack(minimal_attack, **(minimal_params or {}))
    if not minimal.minimal:
        raise ConfigError(
            f"The 'minimal_attack' parameter of epsilon_sweep() must name a minimal-norm attack "
            f"(fab, deepfool, cw, hop_skip_jump). Got {minimal_attack!r} instead."
        )
    base = minimal.run(model, inputs, targets, norm=norm, epsilon=None, seed=seed, bounds=bounds)
    curve = robust_accuracy_curve(base.norms, base.success, epsilons)
    broken_at = torch.where(base.success, base.norms.double(), torch.tensor(float("inf")))
    confirmed, combined = [], []
    confirm = build_attack(confirm_attack, **(confirm_params or {}))
    for e in eps.tolist():
        r = confirm.run(model, inputs, targets, norm=norm, epsilon=e, seed=seed, bounds=bounds)
        confirmed.append(r.robust_accuracy)
        robust = ~r.success & (broken_at > e)
        combined.append(float(robust.double().mean()))
    return EpsilonSweep(eps.tolist(), curve.tolist(), confirmed, combined, base)


def check_grid(owner: str, values: Any, what: str = "epsilons") -> list[float]:
    """A strength grid as a list of floats, or a ConfigError: it must be non-empty, finite,
    positive and strictly increasing (a point robust at one strength is robust at every smaller
    one only along an ordered grid)."""
    from robustlab.validation import parse_fraction

    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not len(values):
        raise ConfigError(
            f"The {what!r} parameter of {owner} must be a non-empty list of increasing positive "
            f"numbers, e.g. [2/255, 4/255, 8/255]. Got {values!r} instead."
        )
    grid = [
        parse_fraction(v, f"{what!r} parameter of {owner}") if isinstance(v, str) else v
        for v in values
    ]
    bad = [
        v
        for v in grid
        if isinstance(v, bool)
        or not isinstance(v, (int, float))
        or not torch.isfinite(torch.tensor(float(v)))
        or v <= 0
    ]
    if bad:
        raise ConfigError(
            f"The {what!r} parameter of {owner} must hold finite positive numbers. Got {bad!r} "
            f"in {list(values)!r}."
        )
    out = [float(v) for v in grid]
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise ConfigError(
            f"The {what!r} parameter of {owner} must be strictly increasing (each strength "
            f"larger than the one before). Got {out!r}; sort it and drop repeats."
        )
    return out


def search_grid(
    upper: torch.Tensor,
    attack_at: Callable[[int, torch.Tensor], torch.Tensor],
    *,
    search: str = "binary",
) -> tuple[torch.Tensor, int]:
    """The first grid index at which each example breaks, and the attacked points spent.

    ``upper`` ``(n,)`` holds, per example, a grid index at which it is known broken (e.g. from a
    minimal-norm run), or the grid length when none is known. ``attack_at(j, rows)`` runs the
    bounded attack at grid value ``j`` on the examples ``rows`` and returns which it broke. An
    example broken at ``j`` is broken at every larger value, robust at ``j`` robust at every
    smaller one; so ``binary`` needs about ``log2(len(grid))`` attacks per example, ``full``
    attacks each example at every grid value below its ``upper``. The result is the grid length
    where the example never breaks.
    """
    n_grid = int(upper.max()) if len(upper) else 0
    lo = torch.zeros_like(upper)
    hi = upper.clone()
    spent = 0
    if search == "full":
        first = upper.clone()
        for j in range(n_grid):
            rows = (first > j).nonzero().squeeze(1)
            if not len(rows):
                continue
            spent += len(rows)
            broken = attack_at(j, rows)
            first[rows[broken]] = j
        return first, spent
    while bool((lo < hi).any()):
        active = (lo < hi).nonzero().squeeze(1)
        mid = (lo[active] + hi[active]) // 2
        for j in mid.unique().tolist():
            rows = active[mid == j]
            spent += len(rows)
            broken = attack_at(int(j), rows)
            hi[rows[broken]] = j
            lo[rows[~broken]] = j + 1
    return hi, spent


@dataclass
class GridCurve:
    """Robust accuracy on a strength grid from one minimal-norm run, confirmed per example by a
    bounded attack at the grid values the search needs.

    Attributes:
        epsilons: The grid.
        robust_accuracy: Confirmed robust accuracy at each grid value (an example is robust at
            ``eps`` when neither the minimal run nor the bounded attack broke it within ``eps``).
        from_minimal: Robust accuracy implied by the minimal-norm run alone.
        broken_at: Per example, the index of the first grid value at which it is broken (0 for
            clean-misclassified examples, ``len(epsilons)`` where it never breaks).
        adversarial: Per example the smallest adversarial input found (the input where none).
        norms: Its size in the norm (``inf`` where none was found).
        evaluations: Points the bounded attack was run on, over all grid values.
        full_evaluations: Points a bounded attack at every grid value would run on (every
            clean-correct point at every value).
        search: ``binary`` or ``full``.
        minimal: The minimal-norm attack's result.
    """

    epsilons: list[float]
    robust_accuracy: list[float]
    from_minimal: list[float]
    broken_at: torch.Tensor
    adversarial: torch.Tensor
    norms: torch.Tensor
    evaluations: int
    full_evaluations: int
    search: str
    minimal: AttackResult
    elapsed_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


def grid_curve(
    model: Model,
    inputs: Any,
    targets: Any,
    epsilons: Sequence[float],
    *,
    norm: str = "linf",
    minimal_attack: str = "fmn",
    confirm_attack: str = "apgd",
    search: str = "binary",
    seed: int = 0,
    bounds: tuple[float, float] | None = None,
    minimal_params: dict[str, Any] | None = None,
    confirm_params: dict[str, Any] | None = None,
) -> GridCurve:
    """Robust accuracy at every value of ``epsilons`` from one minimal-norm run (FMN by
    default), confirmed by a binary search over the grid per example with a bounded attack
    (APGD by default) instead of one bounded attack per grid value.

    References:
        Pintor et al., "Fast minimum-norm adversarial attacks through adaptive norm
        constraints", NeurIPS 2021.
    """
    import time

    from robustlab.validation import check_choice

    start = time.perf_counter()
    owner = "grid_curve()"
    grid = check_grid(owner, list(epsilons) if not isinstance(epsilons, str) else epsilons)
    check_choice(owner, "search", search, SEARCHES)
    minimal = build_attack(minimal_attack, **(minimal_params or {}))
    if not minimal.minimal:
        raise ConfigError(
            f"The 'minimal_attack' parameter of {owner} must name a minimal-norm attack "
            f"(fmn, fab, deepfool, cw, hop_skip_jump). Got {minimal_attack!r} instead."
        )
    confirm = build_attack(confirm_attack, **(confirm_params or {}))
    if norm not in getattr(confirm, "norms", ()):
        raise ConfigError(
            f"The 'confirm_attack' {confirm_attack!r} of {owner} does not support norm {norm!r}; "
            f"use one that does (pgd supports linf, l2 and l1)."
        )
    base = minimal.run(model, inputs, targets, norm=norm, epsilon=None, seed=seed, bounds=bounds)
    x = torch.as_tensor(inputs if torch.is_tensor(inputs) else np.asarray(inputs)).float().cpu()
    y = torch.as_tensor(targets if torch.is_tensor(targets) else np.asarray(targets)).long().cpu()
    eps = torch.tensor(grid, dtype=torch.float64)
    found = base.success & base.clean_correct
    sizes = torch.where(found, base.norms.double(), torch.full_like(base.norms.double(), torch.inf))
    adversarial = base.adversarial.clone()
    # Broken at a grid value when within it up to the float slack LpBall.contains allows.
    upper = torch.searchsorted(eps * (1 + TOLERANCE) + TOLERANCE, sizes, side="left")
    upper = torch.where(found, upper, torch.full_like(upper, len(grid)))
    candidates = base.clean_correct.nonzero().squeeze(1)

    def attack_at(j: int, rows: torch.Tensor) -> torch.Tensor:
        idx = candidates[rows]
        r = confirm.run(model, x[idx], y[idx], norm=norm, epsilon=grid[j], seed=seed, bounds=bounds)
        hit = r.success & r.clean_correct
        smaller = hit & (r.norms.double() < sizes[idx])
        adversarial[idx[smaller]] = r.adversarial[smaller]
        sizes[idx[smaller]] = r.norms.double()[smaller]
        return hit

    first, spent = search_grid(upper[candidates], attack_at, search=search)
    broken_at = torch.zeros(len(y), dtype=torch.long)
    broken_at[candidates] = first
    curve = [float((broken_at > j).double().mean()) for j in range(len(grid))]
    return GridCurve(
        epsilons=grid,
        robust_accuracy=curve,
        from_minimal=robust_accuracy_curve(base.norms, base.success, grid).tolist(),
        broken_at=broken_at,
        adversarial=adversarial,
        norms=sizes.float(),
        evaluations=spent,
        full_evaluations=len(candidates) * len(grid),
        search=search,
        minimal=base,
        elapsed_s=time.perf_counter() - start,
    )
