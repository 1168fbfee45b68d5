"""Model soups: the uniform average of fine-tuned weights, and the greedy soup."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from robustlab.training.averaging._base import same_architecture

__all__ = ["SoupResult", "average_states", "greedy_soup", "held_out_accuracy", "uniform_soup"]

Evaluate = Callable[[nn.Module], float]


def average_states(
    modules: Sequence[nn.Module], weights: Sequence[float] | None = None
) -> dict[str, torch.Tensor]:
    """The weighted average of the modules' state dicts (integer buffers from the first)."""
    w = [1.0 / len(modules)] * len(modules) if weights is None else list(weights)
    states = [m.state_dict() for m in modules]
    out: dict[str, torch.Tensor] = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = sum(wi * s[key].detach().float() for wi, s in zip(w, states)).to(first.dtype)
        else:
            out[key] = first.clone()
    return out


def _from_state(template: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    out = copy.deepcopy(template)
    out.load_state_dict(state)
    return out


def uniform_soup(modules: Sequence[nn.Module]) -> nn.Module:
    """A new module whose weights are the mean of ``modules``' (same architecture required).

    References:
        Wortsman et al., "Model soups: averaging weights of multiple fine-tuned models improves
        accuracy without increasing inference time", ICML 2022.
    """
    same_architecture(modules, "uniform_soup()")
    return _from_state(modules[0], average_states(modules))


def held_out_accuracy(
    inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 512
) -> Evaluate:
    """An evaluation function: accuracy of a module (in eval mode) on ``(inputs, targets)``."""
    x, y = torch.as_tensor(inputs).float(), torch.as_tensor(targets).long()

    def evaluate(module: nn.Module) -> float:
        was = module.training
        module.eval()
        with torch.no_grad():
            pred = torch.cat([module(c).argmax(1) for c in x.split(batch_size)])
        module.train(was)
        return float((pred.cpu() == y).float().mean())

    return evaluate


def _evaluator(evaluate: Evaluate | tuple[Any, Any]) -> Evaluate:
    if callable(evaluate):
        return evaluate
    return held_out_accuracy(evaluate[0], evaluate[1])


@dataclass
class SoupResult:
    """A greedy soup: the module, which ingredients it holds, and the scores seen.

    Attributes:
        module: The souped network.
        ingredients: Indices (into the models given) of the ingredients kept, in the order added.
        scores: Held-out score of every individual model.
        score: Held-out score of the soup.
        trace: For each candidate in the order tried, ``{"index", "score", "kept"}``.
    """

    module: nn.Module
    ingredients: list[int]
    scores: list[float]
    score: float
    trace: list[dict[str, Any]] = field(default_factory=list)


def greedy_soup(modules: Sequence[nn.Module], evaluate: Evaluate | tuple[Any, Any]) -> SoupResult:
    """Add models, best first, to the soup only if the held-out score does not fall.

    The soup therefore scores at least as well as the best single model on the split it was
    selected on. ``evaluate`` is a function of a module, or an ``(inputs, targets)`` pair whose
    accuracy is the score.

    References:
        Wortsman et al., "Model soups: averaging weights of multiple fine-tuned models improves
        accuracy without increasing inference time", ICML 2022 (Recipe 1, greedy soup).
    """
    same_architecture(modules, "greedy_soup()")
    score_of = _evaluator(evaluate)
    scores = [float(score_of(m)) for m in modules]
    order = sorted(range(len(modules)), key=lambda i: -scores[i])
    kept = [order[0]]
    best = scores[order[0]]
    soup = copy.deepcopy(modules[order[0]])
    trace = [{"index": order[0], "score": best, "kept": True}]
    for i in order[1:]:
        candidate = _from_state(modules[0], average_states([modules[j] for j in [*kept, i]]))
        s = float(score_of(candidate))
        keep = s >= best
        trace.append({"index": i, "score": s, "kept": keep})
        if keep:
            kept.append(i)
            best, soup = s, candidate
    return SoupResult(soup, kept, scores, best, trace)
