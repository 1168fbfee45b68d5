"""AugMix: train on mixtures of chains of corruptions with a Jensen-Shannon consistency loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from robustlab.errors import ConfigError
from robustlab.training._base import Recipe, Step
from robustlab.training._registry import register_recipe
from robustlab.validation import check_int, check_number, fail

__all__ = ["AugMix"]


@register_recipe("augmix")
@dataclass(frozen=True)
class AugMix(Recipe):
    """Each view mixes ``width`` chains of 1 to ``depth`` corruptions from ``operations``
    (``robustlab.perturbations.image``) with Dirichlet weights, then blends the mixture with the
    clean image by a Beta weight; the loss is the clean loss plus ``jsd_weight`` times the
    Jensen-Shannon divergence between the clean and two augmented views' predictions.

    A chain applies each operation to the whole batch (one draw of operation and severity per
    chain and batch), not per image as the paper does. Train on corruptions you will not
    evaluate on: by default the geometric MNIST-C ones, disjoint from ImageNet-C's 15.

    References:
        Hendrycks et al., "AugMix: a simple data processing method to improve robustness and
        uncertainty", ICLR 2020.

    Args:
        operations: Corruption names to draw from.
        width: Chains per view.
        depth: Most operations per chain.
        severity: Highest severity drawn (1..5).
        alpha: Parameter of the Dirichlet and Beta mixing weights.
        jsd_weight: Weight of the consistency loss (the paper's 12).
    """

    operations: tuple[str, ...] = ("rotate", "shear", "translate", "scale")
    width: int = 3
    depth: int = 3
    severity: int = 3
    alpha: float = 1.0
    jsd_weight: float = 12.0

    def _check(self, owner: str) -> None:
        from robustlab.perturbations import image as corruptions

        if isinstance(self.operations, str) or not self.operations:
            raise fail(owner, "operations", "a non-empty list of corruption names", self.operations)
        object.__setattr__(self, "operations", tuple(self.operations))
        for name in self.operations:
            corruptions.CORRUPTIONS.get(name)  # unknown names: did-you-mean
        check_int(owner, "width", self.width)
        check_int(owner, "depth", self.depth)
        check_int(owner, "severity", self.severity, maximum=5)
        check_number(owner, "alpha", self.alpha)
        check_number(owner, "jsd_weight", self.jsd_weight, low_inclusive=True)

    def check_data(
        self,
        bounds: tuple[float, float],
        dim: int,
        num_groups: int,
        shape: tuple[int, ...] = (),
    ) -> None:
        super().check_data(bounds, dim, num_groups, shape)
        if len(shape) != 3 or shape[0] not in (1, 3) or bounds != (0.0, 1.0):
            raise ConfigError(
                f"Recipe 'augmix' corrupts images shaped (C, H, W) with 1 or 3 channels in "
                f"[0, 1]. Got examples of shape {shape} with bounds {bounds}; use another recipe "
                f"for tabular data."
            )

    def _view(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        from robustlab.perturbations import image as corruptions

        cpu = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
        weights = torch.distributions.Dirichlet(torch.full((self.width,), self.alpha))
        w = _sample(weights, cpu)
        m = float(_sample(torch.distributions.Beta(self.alpha, self.alpha), cpu))
        mix = torch.zeros_like(x)
        for i in range(self.width):
            out = x
            for _ in range(int(torch.randint(1, self.depth + 1, (1,), generator=cpu))):
                op = self.operations[int(torch.randint(len(self.operations), (1,), generator=cpu))]
                sev = int(torch.randint(1, self.severity + 1, (1,), generator=cpu))
                seed = int(torch.randint(0, 2**31 - 1, (1,), generator=cpu))
                out = corruptions.apply(out, op, severity=sev, seed=seed)
            mix = mix + float(w[i]) * out
        return (1 - m) * x + m * mix

    def objective(self, step: Step) -> torch.Tensor:
        x = step.inputs
        g = torch.Generator().manual_seed(
            int(torch.randint(0, 2**31 - 1, (1,), generator=step.generator))
        )
        views = torch.cat([x, self._view(x, g), self._view(x, g)])
        logits = step.forward(views)
        clean, a1, a2 = logits.split(len(x))
        loss = self.per_example_loss(clean, step).mean()
        p = [t.softmax(dim=1) for t in (clean, a1, a2)]
        mean = torch.stack(p).mean(0).clamp(1e-7, 1).log()
        jsd = torch.stack([F.kl_div(mean, q, reduction="batchmean") for q in p]).mean()
        step.info["jsd"] = float(jsd.detach())
        return loss + self.jsd_weight * jsd


def _sample(dist: torch.distributions.Distribution, g: torch.Generator) -> torch.Tensor:
    """One draw from ``dist`` reproducible from ``g`` (distributions use the global RNG)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
        return dist.sample()
