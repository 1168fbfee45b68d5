"""Old module paths kept importable for one release, with a deprecation warning.

The 0.1 layout grouped image plugins by function (``robustlab.corruptions``) and text plugins by
modality (``robustlab.text.transformations``, ``robustlab.text.attacks``); 0.2 groups every
plugin by function, then modality. Importing an old path returns the new module itself (one
module object under two names), so ``isinstance`` checks and registries stay shared.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

__all__ = ["MOVED_MODULES", "install"]

#: Old import path -> new import path (their submodules follow).
MOVED_MODULES = {
    "robustlab.corruptions": "robustlab.perturbations.image",
    "robustlab.text.transformations": "robustlab.perturbations.text",
    "robustlab.text.attacks": "robustlab.attacks.text",
}


def _target(fullname: str) -> str | None:
    for old, new in MOVED_MODULES.items():
        if fullname == old or fullname.startswith(old + "."):
            return new + fullname[len(old) :]
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        return None  # the new module is already executed


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = _target(fullname)
        if new is None:
            return None
        warnings.warn(
            f"{fullname} moved to {new} in RobustLab 0.2; the old path works until 0.3.",
            DeprecationWarning,
            stacklevel=_user_frame(),
        )
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def _user_frame() -> int:
    """The stack level of the first frame outside the import machinery (the importing code)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen")
        or frame.f_globals.get("__name__") == __name__
    ):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def install() -> None:
    """Put the alias finder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
