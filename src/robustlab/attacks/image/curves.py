"""Robust accuracy as a function of epsilon, and the distribution of minimal perturbation sizes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from robustlab.attacks.image._base import build_attack
from robustlab.attacks.image._result import AttackResult
from robustlab.errors import ConfigError, DataError
from robustlab.models.base import Model

__all__ = ["EpsilonSweep", "epsilon_sweep", "perturbation_summary", "robust_accuracy_curve"]


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
