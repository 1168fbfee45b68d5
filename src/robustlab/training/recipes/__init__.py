"""Training recipes (one file each): standard, adversarial, noise, group-robust, augmentation."""

from robustlab.registry import import_submodules

import_submodules(__name__)
