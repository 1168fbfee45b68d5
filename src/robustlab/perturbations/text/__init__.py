"""Seeded, rate-parameterised text transformations that return the character edits they made.

Every transformation takes a text, a rate (the fraction of the text's eligible units to change:
words for typos, distinct names for name swaps, ...) and a seeded generator; it handles any
Unicode text and leaves empty strings alone::

    from robustlab.perturbations import text as transformations
    transformations.names()                       # all registered transformations
    out = transformations.apply(["I didn't like it."], "expand", rate=1.0, seed=0)
    out[0].text, out[0].spans                     # "I did not like it.", [[2, 9]]

All but ``negate`` preserve the label (they are invariance tests); ``negate`` reverses the
meaning and is used by directional CheckList tests (:mod:`robustlab.text.checklist`).
"""

from robustlab.perturbations.text._base import (
    TRANSFORMATIONS,
    Edit,
    Transformation,
    TransformationPerturbation,
    Transformed,
    apply,
    names,
)
from robustlab.registry import import_submodules

import_submodules(__name__)  # every plugin module registers its transformation

__all__ = [
    "TRANSFORMATIONS",
    "Edit",
    "Transformation",
    "TransformationPerturbation",
    "Transformed",
    "apply",
    "names",
]
