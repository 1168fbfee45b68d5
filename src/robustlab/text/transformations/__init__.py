"""Seeded, rate-parameterised text transformations that return the character edits they made.

Every transformation takes a text, a rate (the fraction of the text's eligible units to change:
words for typos, distinct names for name swaps, ...) and a seeded generator; it handles any
Unicode text and leaves empty strings alone::

    from robustlab.text import transformations
    transformations.names()                       # all registered transformations
    out = transformations.apply(["I didn't like it."], "expand", rate=1.0, seed=0)
    out[0].text, out[0].spans                     # "I did not like it.", [[2, 9]]

All but ``negate`` preserve the label (they are invariance tests); ``negate`` reverses the
meaning and is used by directional CheckList tests (:mod:`robustlab.text.checklist`).
"""

from robustlab.text.transformations import (  # noqa: F401  (importing a plugin module registers it)
    casing,
    change_numbers,
    contract,
    expand,
    homoglyph,
    leetspeak,
    negate,
    punctuation,
    swap_locations,
    swap_names,
    synonym,
    typo_delete,
    typo_insert,
    typo_keyboard,
    typo_swap,
    whitespace,
)
from robustlab.text.transformations._base import (
    TRANSFORMATIONS,
    Edit,
    Transformation,
    Transformed,
    apply,
    names,
)

__all__ = ["TRANSFORMATIONS", "Edit", "Transformation", "Transformed", "apply", "names"]
