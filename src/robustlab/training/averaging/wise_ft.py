"""WiSE-FT: interpolate zero-shot and fine-tuned weights, and sweep the mixing coefficient."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from robustlab.training.averaging._base import same_architecture
from robustlab.training.averaging.soups import _from_state, average_states
from robustlab.validation import check_number, fail

__all__ = ["interpolate", "wise_ft_sweep"]


def interpolate(base: nn.Module, finetuned: nn.Module, alpha: float) -> nn.Module:
    """A new module with weights ``(1 - alpha) * base + alpha * finetuned``.

    References:
        Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022 (WiSE-FT).
    """
    check_number("interpolate()", "alpha", alpha, low_inclusive=True, high=1.0)
    same_architecture([base, finetuned], "interpolate()")
    return _from_state(base, average_states([base, finetuned], [1.0 - alpha, alpha]))


def wise_ft_sweep(
    base: nn.Module,
    finetuned: nn.Module,
    evaluate: Callable[[nn.Module], float | dict[str, float]],
    alphas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
) -> list[dict[str, Any]]:
    """Evaluate the interpolation at every ``alpha``: one row ``{"alpha", <metrics>}`` each.

    ``evaluate`` returns a score or a mapping of scores (e.g. ID and OOD accuracy), so the
    sweep shows the trade-off WiSE-FT is chosen from.

    References:
        Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022 (WiSE-FT).
    """
    if len(alphas) == 0:
        raise fail("wise_ft_sweep()", "alphas", "a non-empty sequence of floats in [0, 1]", alphas)
    rows = []
    for a in alphas:
        scores = evaluate(interpolate(base, finetuned, float(a)))
        values = scores if isinstance(scores, dict) else {"score": float(scores)}
        rows.append({"alpha": float(a), **{k: float(v) for k, v in values.items()}})
    return rows
