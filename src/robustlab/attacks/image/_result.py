"""What an attack returns: adversarial inputs, per-example success, norms, queries and warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["AttackResult", "AttackWarning"]


@dataclass(frozen=True)
class AttackWarning:
    """A reason the evaluation itself may not be trustworthy.

    Attributes:
        code: Stable identifier, e.g. ``probabilities-not-logits``.
        message: What was observed, with the numbers.
        advice: What to do about it, in one or two sentences.
    """

    code: str
    message: str
    advice: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "advice": self.advice}


@dataclass
class AttackResult:
    """Outcome of an attack (or ensemble) on a batch.

    Attributes:
        adversarial: Adversarial inputs on the CPU, shaped like the inputs. Where the attack failed,
            and where the clean input is already misclassified, this is the clean input.
        success: Bool ``(N,)``: the criterion counts ``adversarial`` as broken (by default: the
            prediction differs from the target; True for inputs broken already when clean).
        norms: Float ``(N,)``: norm of ``adversarial - inputs`` in ``norm`` (0 where the clean
            input is returned).
        queries: Int ``(N,)`` model queries spent per example by black-box attacks, else ``None``.
        clean_correct: Bool ``(N,)``: the criterion does not count the clean input as broken
            (by default: it is classified as its target).
        attack: Registered attack name (or ``standard`` / ``rand`` for the ensembles).
        params: The attack's parameters as stored in its spec.
        norm: ``linf``, ``l2`` or ``l1``.
        epsilon: Perturbation budget, or ``None`` for an unbounded minimal-norm attack.
        seed: Seed of the run.
        warnings: Honest-evaluation warnings raised while attacking.
        per_attack: For ensembles, how many points each attack broke (in order).
        elapsed_s: Wall time of the attack in seconds.
        criterion: Spec of the criterion that decided success (``None``: misclassification).
    """

    adversarial: torch.Tensor
    success: torch.Tensor
    norms: torch.Tensor
    queries: torch.Tensor | None
    clean_correct: torch.Tensor
    attack: str
    params: dict[str, Any]
    norm: str
    epsilon: float | None
    seed: int
    warnings: list[AttackWarning] = field(default_factory=list)
    per_attack: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    criterion: dict[str, Any] | None = None

    @property
    def clean_accuracy(self) -> float:
        """Fraction of inputs classified correctly before the attack."""
        return float(self.clean_correct.float().mean())

    @property
    def robust_accuracy(self) -> float:
        """Fraction of inputs still classified correctly after the attack."""
        return float((~self.success).float().mean())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (no tensors) for the store and the report."""
        broken = self.success & self.clean_correct
        return {
            "attack": self.attack,
            "params": dict(self.params),
            "norm": self.norm,
            "epsilon": self.epsilon,
            "seed": self.seed,
            "n": int(self.success.numel()),
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": self.robust_accuracy,
            "median_norm_broken": float(self.norms[broken].median()) if broken.any() else None,
            "mean_queries": None if self.queries is None else float(self.queries.float().mean()),
            "per_attack": dict(self.per_attack),
            "warnings": [w.to_dict() for w in self.warnings],
            "elapsed_s": self.elapsed_s,
            **({} if _plain(self.criterion) else {"criterion": dict(self.criterion or {})}),
        }


def _plain(criterion: dict[str, Any] | None) -> bool:
    return criterion is None or criterion.get("criterion") == "misclassified"
