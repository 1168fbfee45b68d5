"""Old module paths of 0.1 keep working for one release, with a deprecation warning."""

from __future__ import annotations

import importlib
import sys

import pytest

from robustlab._compat import MOVED_MODULES


@pytest.mark.parametrize(("old", "new"), sorted(MOVED_MODULES.items()))
def test_old_path_is_the_new_module_and_warns(old: str, new: str) -> None:
    for name in [m for m in sys.modules if m == old or m.startswith(old + ".")]:
        del sys.modules[name]
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_old_submodule_path_resolves_to_the_moved_submodule() -> None:
    sys.modules.pop("robustlab.corruptions._ops", None)
    with pytest.warns(DeprecationWarning, match="robustlab.perturbations.image._ops"):
        from robustlab.corruptions._ops import reference_set
    from robustlab.perturbations.image._ops import reference_set as moved

    assert reference_set is moved
