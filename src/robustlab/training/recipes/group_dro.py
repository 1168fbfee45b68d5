"""Group DRO: minimise the worst group's loss through exponentiated-gradient group weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from robustlab.training._base import Recipe, Step
from robustlab.training._registry import register_recipe
from robustlab.validation import check_number

__all__ = ["GroupDRO"]


@register_recipe("group_dro")
@dataclass(frozen=True)
class GroupDRO(Recipe):
    """Online Group DRO: after each batch the weight of group ``g`` is multiplied by
    ``exp(eta * loss_g)`` and the weights renormalised; the step minimises ``sum_g q_g loss_g``.

    References:
        Sagawa et al., "Distributionally robust neural networks for group shifts", ICLR 2020
        (Algorithm 1, with the group adjustment ``C / sqrt(n_g)``).

    Args:
        eta: Step size of the group weights (the paper's 0.01).
        adjustment: ``C`` of the generalisation adjustment ``C / sqrt(n_g)`` added to each
            group's loss, ``n_g`` counting the group's examples seen so far (0: none).
    """

    needs_groups = True
    eta: float = 0.01
    adjustment: float = 0.0

    def _check(self, owner: str) -> None:
        check_number(owner, "eta", self.eta)
        check_number(owner, "adjustment", self.adjustment, low_inclusive=True)

    def start(
        self, state: dict[str, Any], *, num_examples: int, num_groups: int, num_classes: int
    ) -> None:
        super().start(
            state, num_examples=num_examples, num_groups=num_groups, num_classes=num_classes
        )
        state["group_weights"] = torch.full((num_groups,), 1.0 / num_groups)
        state["group_counts"] = torch.zeros(num_groups)

    def objective(self, step: Step) -> torch.Tensor:
        assert step.groups is not None
        losses = self.per_example_loss(step.forward(step.inputs), step)
        q = step.state["group_weights"].to(losses.device)
        counts = step.state["group_counts"].to(losses.device)
        k = len(q)
        g = step.groups.to(losses.device)
        present = torch.bincount(g, minlength=k).float()
        counts = counts + present
        sums = torch.zeros(k, device=losses.device).index_add(0, g, losses)
        group_loss = sums / present.clamp(min=1)
        adjusted = group_loss + self.adjustment / counts.clamp(min=1).sqrt()
        with torch.no_grad():
            q = q * torch.exp(self.eta * adjusted.detach() * (present > 0))
            q = q / q.sum()
        step.state["group_weights"] = q.cpu()
        step.state["group_counts"] = counts.cpu()
        step.info["max_group_weight"] = float(q.max())
        return (q * adjusted * (present > 0)).sum()
