"""Honest-evaluation checks: warnings that say when an attack's robust accuracy cannot be trusted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from robustlab.attacks.image._base import (
    build_attack,
    check_seed,
    prepare_batch,
    resolve_bounds,
)
from robustlab.attacks.image._losses import ce_loss
from robustlab.attacks.image._result import AttackWarning
from robustlab.models.base import Model

__all__ = [
    "AttackWarning",
    "cheap_checks",
    "check_convergence",
    "check_curve",
    "check_gradients",
    "check_large_epsilon",
    "check_logits",
    "check_randomized",
    "check_square_vs_whitebox",
    "check_train_mode",
]

_SAMPLE = 64


def check_train_mode(model: Model) -> list[AttackWarning]:
    """Warn if a torch model is in train mode (dropout and batch-norm statistics change outputs)."""
    if getattr(model, "training", False):
        return [
            AttackWarning(
                "train-mode",
                f"Model {model.name!r} is in train mode, so dropout and batch-norm statistics make "
                f"its outputs depend on the batch and on chance.",
                "Call module.eval() (or build TorchModel with eval_mode=True) before attacking; if "
                "the randomness is intended, evaluate with version='rand'.",
            )
        ]
    return []


def check_logits(model: Model, inputs: Any) -> list[AttackWarning]:
    """Warn if a model declared as returning logits returns probability vectors."""
    if model.output != "logits":
        return []
    scores = model.predict_scores(torch.as_tensor(inputs)[:_SAMPLE])
    sums = scores.sum(dim=1)
    if (scores >= 0).all() and (scores <= 1).all() and (sums - 1).abs().max() < 1e-3:
        return [
            AttackWarning(
                "probabilities-not-logits",
                f"Model {model.name!r} declares output='logits' but its outputs are non-negative "
                f"and sum to 1 per row: it seems to end in a softmax, which flattens the "
                f"cross-entropy gradients attacks follow.",
                "Remove the final softmax and pass logits, or declare output='probabilities'; "
                "rely on the DLR-based attacks (the standard ensemble), which are scale invariant.",
            )
        ]
    return []


def check_randomized(model: Model, inputs: Any, version: str = "standard") -> list[AttackWarning]:
    """Warn if the same inputs get different outputs on two passes and ``version`` is not rand."""
    if version == "rand":
        return []
    x = torch.as_tensor(inputs)[:_SAMPLE]
    first, second = model.predict_scores(x), model.predict_scores(x)
    spread = float((first - second).abs().max())
    if spread > 1e-5 * max(1.0, float(first.abs().max())):
        return [
            AttackWarning(
                "randomized-model",
                f"Model {model.name!r} gives different outputs for the same inputs (largest "
                f"difference {spread:.3g}), so single-sample gradients and scores are noisy.",
                "Evaluate with version='rand' (expectation over transformation), or make the model "
                "deterministic if the randomness is unintended.",
            )
        ]
    return []


def check_gradients(
    model: Model, inputs: Any, targets: Any, bounds: tuple[float, float] | None = None
) -> list[AttackWarning]:
    """Warn about NaN, zero or vanishing input gradients of the cross-entropy (white box only)."""
    if "gradients" not in model.capabilities:
        return []
    low_high = resolve_bounds(model, bounds, "check_gradients()")
    x, y = prepare_batch(inputs, targets, model.device, low_high, "check_gradients()")
    x, y = x[:_SAMPLE].clone().requires_grad_(True), y[:_SAMPLE]
    with torch.enable_grad():
        out = model.forward(x)  # type: ignore[attr-defined]
        if model.output == "probabilities":
            out = out.clamp(min=1e-12).log()
        (grad,) = torch.autograd.grad(ce_loss(out, y).sum(), x)
    flat = grad.flatten(1)
    n = len(flat)
    found: list[AttackWarning] = []
    nan = int((~torch.isfinite(flat)).any(dim=1).sum())
    if nan:
        found.append(
            AttackWarning(
                "nan-gradients",
                f"The input gradient is NaN or infinite for {nan} of {n} sampled inputs.",
                "Check the model for non-differentiable or numerically unstable operations "
                "(log of 0, division); attacks cannot follow NaN gradients.",
            )
        )
    norms = flat.nan_to_num(0.0).norm(dim=1)
    zero = int((norms == 0).sum())
    tiny = int(((norms > 0) & (norms < 1e-8)).sum())
    if zero:
        found.append(
            AttackWarning(
                "zero-gradients",
                f"The input gradient is exactly zero for {zero} of {n} sampled inputs.",
                "Gradient attacks cannot move these points; the robust accuracy may be "
                "overestimated. Trust the black-box Square attack's result for them, and look for "
                "saturating or quantising layers.",
            )
        )
    if tiny:
        found.append(
            AttackWarning(
                "vanishing-gradients",
                f"The input gradient norm is below 1e-8 for {tiny} of {n} sampled inputs.",
                "Outputs may be saturated (very confident softmax, large logit scale); the "
                "scale-invariant DLR loss (APGD-T in the standard ensemble) is robust to this.",
            )
        )
    return found


def check_square_vs_whitebox(
    per_attack: Mapping[str, int], n: int, threshold: float = 0.002
) -> list[AttackWarning]:
    """Warn if the black-box Square attack broke points the white-box attacks before it missed."""
    white = [k for k in per_attack if k != "square"]
    broke = per_attack.get("square", 0)
    if white and n > 0 and broke / n > threshold:
        return [
            AttackWarning(
                "square-beats-white-box",
                f"The black-box Square attack broke {broke} of {n} points that the gradient "
                f"attacks ({', '.join(white)}) did not: a sign of gradient masking.",
                "The gradients do not reflect the model's behaviour; do not trust white-box "
                "results alone, and check for non-differentiable or randomized components.",
            )
        ]
    return []


def check_curve(
    epsilons: Sequence[float], robust_accuracy: Sequence[float], tolerance: float = 0.05
) -> list[AttackWarning]:
    """Warn if robust accuracy does not approach 0 at the largest epsilon of a curve."""
    if len(epsilons) == 0 or len(epsilons) != len(robust_accuracy):
        raise ValueError("check_curve() needs as many robust accuracies as epsilons, at least one.")
    largest = max(range(len(epsilons)), key=lambda i: epsilons[i])
    value = float(robust_accuracy[largest])
    if value > tolerance:
        return [_large_epsilon_warning(float(epsilons[largest]), value)]
    return []


def _large_epsilon_warning(eps: float, value: float) -> AttackWarning:
    return AttackWarning(
        "robust-at-large-epsilon",
        f"Robust accuracy is still {value:.1%} at epsilon={eps:g}, where an attack can reach "
        f"almost any input.",
        "The attack is failing rather than the model resisting: suspect gradient masking or an "
        "attack that is too weak, and try more steps, restarts or the black-box attacks.",
    )


def check_large_epsilon(
    model: Model,
    inputs: Any,
    targets: Any,
    *,
    norm: str = "linf",
    seed: int = 0,
    bounds: tuple[float, float] | None = None,
    tolerance: float = 0.0,
) -> list[AttackWarning]:
    """Attack with a budget spanning the whole input range; robust accuracy should reach 0.

    PGD runs on white-box models and Square (``linf``/``l2``) on black boxes.
    """
    low, high = resolve_bounds(model, bounds, "check_large_epsilon()")
    d = torch.as_tensor(inputs)[0].numel()
    eps = (high - low) * {"linf": 1.0, "l2": d**0.5, "l1": float(d)}[norm]
    if "gradients" in model.capabilities:
        attack = build_attack("pgd", steps=50, step_size=0.1 * eps)
    else:
        attack = build_attack("square", n_queries=1000)
    result = attack.run(model, inputs, targets, norm=norm, epsilon=eps, seed=seed, bounds=bounds)
    if result.robust_accuracy > tolerance:
        return [_large_epsilon_warning(eps, result.robust_accuracy)]
    return []


def check_convergence(
    model: Model,
    inputs: Any,
    targets: Any,
    attack: str = "apgd",
    *,
    norm: str = "linf",
    epsilon: float,
    steps: int = 100,
    seed: int = 0,
    threshold: float = 0.01,
    **params: Any,
) -> list[AttackWarning]:
    """Run ``attack`` with ``steps`` and ``2 * steps``; warn if doubling lowers robust accuracy."""
    check_seed("check_convergence()", seed)
    short = build_attack(attack, steps=steps, **params).run(
        model, inputs, targets, norm=norm, epsilon=epsilon, seed=seed
    )
    long = build_attack(attack, steps=2 * steps, **params).run(
        model, inputs, targets, norm=norm, epsilon=epsilon, seed=seed
    )
    drop = short.robust_accuracy - long.robust_accuracy
    if drop > threshold:
        return [
            AttackWarning(
                "not-converged",
                f"Doubling the iterations of {attack!r} from {steps} to {2 * steps} lowered robust "
                f"accuracy by {drop:.1%} ({short.robust_accuracy:.1%} to "
                f"{long.robust_accuracy:.1%}).",
                "The attack has not converged: report the result with more iterations (and "
                "restarts) until doubling them no longer changes robust accuracy.",
            )
        ]
    return []


def cheap_checks(
    model: Model,
    inputs: Any,
    targets: Any,
    *,
    version: str = "standard",
    bounds: tuple[float, float] | None = None,
) -> list[AttackWarning]:
    """The checks costing a few forward/backward passes, as the ensemble runs them."""
    return [
        *check_train_mode(model),
        *check_logits(model, inputs),
        *check_randomized(model, inputs, version),
        *check_gradients(model, inputs, targets, bounds),
    ]
