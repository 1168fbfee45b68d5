"""A mixed classifier: a standard and a robust network combined by a fixed or learned weight."""

from __future__ import annotations

import math

import torch
from torch import nn

from robustlab.validation import check_number

__all__ = ["MixedClassifier"]


class MixedClassifier(nn.Module):
    """``log((1 - a) * softmax(standard(x)) + a * softmax(robust(x)))``, a log-probability output
    usable as logits by attacks and training.

    With ``learn=True`` the weight ``a = sigmoid(w)`` is a parameter and both networks are frozen,
    so ``fit(mixed, data, "pgd_at", ...)`` learns the mixing weight alone under attack.

    References:
        Bai et al., "Improving the accuracy-robustness trade-off of classifiers via adaptive
        smoothing", SIAM J. Math. Data Sci. 2024; Bai et al., "MixedNUTS: training-free
        accuracy-robustness balance via nonlinearly mixed classifiers", TMLR 2024.

    Args:
        standard: The accurate (standard-trained) network.
        robust: The robust (adversarially trained) network, same inputs and classes.
        alpha: Initial weight of the robust network, in ``[0, 1]``.
        learn: Learn the weight (the networks stay frozen) instead of fixing it.
    """

    def __init__(
        self, standard: nn.Module, robust: nn.Module, alpha: float = 0.5, *, learn: bool = False
    ) -> None:
        super().__init__()
        check_number("MixedClassifier", "alpha", alpha, low_inclusive=True, high=1.0)
        self.standard, self.robust = standard, robust
        for p in [*standard.parameters(), *robust.parameters()]:
            p.requires_grad_(False)
        a = min(max(float(alpha), 1e-4), 1 - 1e-4)
        logit = torch.tensor(math.log(a / (1 - a)))
        if learn:
            self.mix_logit = nn.Parameter(logit)
        else:
            self.register_buffer("mix_logit", logit)
        self._exact = None if learn else float(alpha)

    @property
    def alpha(self) -> float:
        """The current weight of the robust network."""
        if self._exact is not None:
            return self._exact
        return float(torch.sigmoid(self.mix_logit.detach()))

    def train(self, mode: bool = True) -> MixedClassifier:
        # the component networks keep their evaluation statistics: only the weight is trained
        super().train(mode)
        self.standard.eval()
        self.robust.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.sigmoid(self.mix_logit) if self._exact is None else torch.tensor(self._exact)
        p = (1 - a) * self.standard(x).softmax(dim=1) + a * self.robust(x).softmax(dim=1)
        return p.clamp(min=1e-12).log()
