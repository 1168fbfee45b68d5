"""Classification losses for training, including ones robust to noisy labels (one file each)."""

from robustlab.registry import import_submodules
from robustlab.training.losses._base import Loss, make_loss

import_submodules(__name__)

__all__ = ["Loss", "make_loss"]
