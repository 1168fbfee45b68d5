"""Per-example attack losses on logits: cross-entropy, margin and DLR (targeted and untargeted)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "ce_loss", "dlr_loss", "dlr_targeted_loss", "margin", "per_example_loss"]


def ce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the true class, per example (larger is more adversarial)."""
    return F.cross_entropy(logits, targets, reduction="none")


def margin(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """True-class logit minus the largest other logit; negative means misclassified."""
    true = logits.gather(1, targets[:, None]).squeeze(1)
    other = logits.scatter(1, targets[:, None], float("-inf")).amax(dim=1)
    return true - other


def dlr_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Untargeted Difference of Logits Ratio, invariant to shifting and rescaling the logits.

    With fewer than three classes the normaliser falls back to the top-two gap.

    References:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020.
    """
    ordered = logits.sort(dim=1, descending=True).values
    third = ordered[:, 2] if logits.shape[1] > 2 else ordered[:, 1]
    return -margin(logits, targets) / (ordered[:, 0] - third + 1e-12)


def dlr_targeted_loss(
    logits: torch.Tensor, targets: torch.Tensor, target_classes: torch.Tensor
) -> torch.Tensor:
    """Targeted DLR: ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)`` per example.

    It needs at least four classes; with fewer it falls back to targeted cross-entropy.

    References:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020.
    """
    if logits.shape[1] < 4:
        return -F.cross_entropy(logits, target_classes, reduction="none")
    ordered = logits.sort(dim=1, descending=True).values
    true = logits.gather(1, targets[:, None]).squeeze(1)
    target = logits.gather(1, target_classes[:, None]).squeeze(1)
    scale = ordered[:, 0] - 0.5 * (ordered[:, 2] + ordered[:, 3]) + 1e-12
    return -(true - target) / scale


def ce_targeted_loss(
    logits: torch.Tensor, targets: torch.Tensor, target_classes: torch.Tensor
) -> torch.Tensor:
    """Negative cross-entropy of the target class (larger is closer to the target)."""
    del targets
    return -F.cross_entropy(logits, target_classes, reduction="none")


LOSSES = ("ce", "dlr", "ce-targeted", "dlr-targeted")


def per_example_loss(
    name: str,
    logits: torch.Tensor,
    targets: torch.Tensor,
    target_classes: torch.Tensor | None = None,
) -> torch.Tensor:
    """Dispatch one of :data:`LOSSES` by name."""
    if name == "ce":
        return ce_loss(logits, targets)
    if name == "dlr":
        return dlr_loss(logits, targets)
    assert target_classes is not None, "targeted losses need target classes"
    if name == "dlr-targeted":
        return dlr_targeted_loss(logits, targets, target_classes)
    return ce_targeted_loss(logits, targets, target_classes)
