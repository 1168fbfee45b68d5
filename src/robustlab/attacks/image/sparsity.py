"""Adversarial sparsity: how many pixels must be free to change for an Linf attack to succeed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robustlab.attacks.image._base import check_float, check_int, resolve_bounds
from robustlab.attacks.image.curves import SEARCHES, search_grid
from robustlab.errors import ConfigError
from robustlab.models.base import Model

__all__ = ["SparsityResult", "adversarial_sparsity"]


@dataclass
class SparsityResult:
    """Per example, the fewest pixels an Linf attack at ``epsilon`` needed.

    Attributes:
        pixels: Fewest free pixels ``(n,)`` (float; NaN for clean-misclassified examples,
            ``inf`` where even every pixel free did not break the example).
        fraction: ``pixels`` over the pixels of an image.
        adversarial: The adversarial input at that count (the clean input where none).
        clean_correct: ``(n,)``.
        evaluations: Masked attacks run (points times counts tried).
        total_pixels: Pixels per image (``H * W``; all channels of a pixel move together).
    """

    pixels: torch.Tensor
    fraction: torch.Tensor
    adversarial: torch.Tensor
    clean_correct: torch.Tensor
    evaluations: int
    total_pixels: int


def adversarial_sparsity(
    model: Model,
    inputs: Any,
    targets: Any,
    *,
    epsilon: float,
    steps: int = 20,
    search: str = "binary",
    bounds: tuple[float, float] | None = None,
) -> SparsityResult:
    """The fewest pixels, by a search over the count, that an Linf PGD at ``epsilon`` must be
    free to change to break each example. The free pixels are the ``k`` of largest loss-gradient
    magnitude at the clean input (summed over channels), so the masks are nested and breaking
    is monotone in ``k`` for the search; the count is an upper bound on the true sparsity.

    References:
        "How many perturbations break this model? Evaluating trustworthiness beyond
        adversarial accuracy" (adversarial sparsity), 2022; Madry et al., ICLR 2018 (PGD).
    """
    owner = "adversarial_sparsity()"
    check_float(owner, "epsilon", epsilon)
    check_int(owner, "steps", steps)
    if search not in SEARCHES:
        raise ConfigError(f"The 'search' parameter of {owner} must be one of {list(SEARCHES)}.")
    if "gradients" not in model.capabilities:
        raise ConfigError(f"{owner} needs a white-box model (gradients), e.g. a TorchModel.")
    low, high = resolve_bounds(model, bounds, owner)
    x = torch.as_tensor(inputs if torch.is_tensor(inputs) else np.asarray(inputs)).float().cpu()
    y = torch.as_tensor(targets if torch.is_tensor(targets) else np.asarray(targets)).long().cpu()
    if x.ndim != 4:
        raise ConfigError(
            f"{owner} counts pixels of images shaped (N, C, H, W); got inputs shaped "
            f"{tuple(x.shape)}."
        )
    device = model.device
    n, _, h, w = x.shape
    total = h * w

    def logits(batch: torch.Tensor) -> torch.Tensor:
        return model.forward(batch.to(device))  # type: ignore[attr-defined]

    with torch.no_grad():
        clean_correct = logits(x).argmax(dim=1).cpu() == y
    xg = x.clone().requires_grad_(True)
    with torch.enable_grad():
        loss = torch.nn.functional.cross_entropy(logits(xg), y.to(device), reduction="sum")
        (grad,) = torch.autograd.grad(loss, xg)
    saliency = grad.abs().sum(dim=1).flatten(1)  # (n, H*W)
    rank = torch.empty_like(saliency, dtype=torch.long)
    rank.scatter_(
        1,
        saliency.argsort(dim=1, descending=True),
        torch.arange(total).expand(n, total).contiguous(),
    )
    adversarial = x.clone()
    best_k = torch.full((n,), float("inf"))
    counts = list(range(1, total + 1))
    candidates = clean_correct.nonzero().squeeze(1)

    def attack_at(j: int, rows: torch.Tensor) -> torch.Tensor:
        idx = candidates[rows]
        k = counts[j]
        mask = (rank[idx] < k).view(len(idx), 1, h, w).to(x.dtype)
        xs, ys = x[idx].to(device), y[idx].to(device)
        mask = mask.to(device)
        delta = torch.zeros_like(xs)
        hit = torch.zeros(len(idx), dtype=torch.bool, device=device)
        found = xs.clone()
        step = 2.5 * epsilon / steps
        for i in range(steps + 1):
            probe = delta.clone().requires_grad_(True)
            with torch.enable_grad():
                out = logits(xs + probe)
                g = torch.autograd.grad(
                    torch.nn.functional.cross_entropy(out, ys, reduction="sum"), probe
                )[0]
            broken = (out.argmax(dim=1) != ys) & ~hit
            found[broken] = (xs + delta)[broken].detach()
            hit |= broken
            if i == steps or bool(hit.all()):
                break
            delta = (delta + step * g.sign() * mask).clamp(-epsilon, epsilon)
            delta = (xs + delta).clamp(low, high) - xs
        hit = hit.cpu()
        smaller = hit & (k < best_k[idx])
        adversarial[idx[smaller]] = found.cpu()[smaller]
        best_k[idx[smaller]] = float(k)
        return hit

    upper = torch.full((len(candidates),), len(counts), dtype=torch.long)
    first, spent = search_grid(upper, attack_at, search=search)
    pixels = torch.full((n,), float("nan"))
    pixels[candidates] = torch.where(
        first < len(counts), (first + 1).float(), torch.tensor(float("inf"))
    )
    return SparsityResult(pixels, pixels / total, adversarial, clean_correct, spent, total)
