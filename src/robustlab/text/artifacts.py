"""Text examples for the report: character edit spans, word-change fractions and the artifact.

Probes of text models attach a few examples per shard to ``records.artifacts`` in one format,
rendered by the HTML report with the edits highlighted::

    {"name": "text/<example_id>", "media_type": TEXT_MEDIA_TYPE, "data": <JSON text>,
     "meta": {"example_id": ..., "probe": probe key, "label": probe label}}

with ``data`` the JSON of ``{"original", "perturbed", "edits": [[start, end], ...] (character
spans of ``perturbed`` that were changed or inserted), "target", "prediction" (on the original),
"perturbed_prediction", "kind": "transformation" | "attack" | "checklist", "note"}`` and, for
a CheckList case, ``"passed"``: its verdict (a directional test can fail without the prediction
changing, so the report takes the verdict from here rather than from the labels).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from robustlab.errors import ConfigError

__all__ = [
    "EXAMPLES_PER_SHARD",
    "TEXT_MEDIA_TYPE",
    "edit_spans",
    "pick_examples",
    "text_artifact",
    "word_change_fraction",
]

TEXT_MEDIA_TYPE = "application/vnd.robustlab.text+json"

#: Examples a probe keeps per shard for the report (failures first).
EXAMPLES_PER_SHARD = 3

_KINDS = ("transformation", "attack", "checklist")
_TOKEN = re.compile(r"\S+")


def edit_spans(original: str, perturbed: str) -> list[list[int]]:
    """``[[start, end], ...]``: the characters of ``perturbed`` that differ from ``original``
    (changed or inserted), by a character diff; a pure deletion is a zero-width span where the
    characters were removed."""
    matcher = difflib.SequenceMatcher(None, original, perturbed, autojunk=False)
    return [[j1, j2] for tag, _i1, _i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def word_change_fraction(original: str, perturbed: str) -> float:
    """Share of the original's whitespace-separated words that are not kept unchanged in
    ``perturbed`` (by a word diff): 0 for identical texts, 1 when every word changed.

    Two words joined by a dropped space count as two changed words; an inserted word changes
    none of the original's words but counts as one change, so the value is capped at 1. An empty
    original gives 0 if ``perturbed`` is empty too, else 1.
    """
    before = _TOKEN.findall(original)
    after = _TOKEN.findall(perturbed)
    if not before:
        return 0.0 if not after else 1.0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    changed = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            changed += max(i2 - i1, 1 if j2 > j1 else 0)
    return min(1.0, changed / len(before))


def pick_examples(failed: Sequence[bool] | np.ndarray, k: int = EXAMPLES_PER_SHARD) -> list[int]:
    """Positions of at most ``k`` examples to show: failures first, each group in order."""
    flags = [bool(f) for f in failed]
    order = [i for i, f in enumerate(flags) if f] + [i for i, f in enumerate(flags) if not f]
    return order[:k]


def text_artifact(
    *,
    example_id: str,
    original: str,
    perturbed: str,
    target: int,
    prediction: int,
    perturbed_prediction: int,
    kind: str,
    probe_key: str,
    probe_label: str,
    note: str = "",
    edits: Sequence[Sequence[int]] | None = None,
    passed: bool | None = None,
) -> dict[str, Any]:
    """One report example in the shared text artifact format (see the module docstring).

    Args:
        example_id: The example's id.
        original: The text before the change.
        perturbed: The text the model saw (equal to ``original`` for a plain CheckList case).
        target: The expected label.
        prediction: The model's prediction on ``original``.
        perturbed_prediction: Its prediction on ``perturbed``.
        kind: ``"transformation"``, ``"attack"`` or ``"checklist"``.
        probe_key: The probe's key.
        probe_label: The probe's short label.
        note: One line explaining the outcome (e.g. "prediction changed").
        edits: Character spans of ``perturbed`` that changed; computed with
            :func:`edit_spans` when not given.
        passed: The case's verdict, when it is not "the prediction held" (CheckList tests).
    """
    if kind not in _KINDS:
        raise ConfigError(
            f"The 'kind' of a text artifact must be one of {list(_KINDS)}. Got {kind!r}."
        )
    spans = edit_spans(original, perturbed) if edits is None else [list(e) for e in edits]
    data = {
        "original": original,
        "perturbed": perturbed,
        "edits": [[int(s), int(e)] for s, e in spans],
        "target": int(target),
        "prediction": int(prediction),
        "perturbed_prediction": int(perturbed_prediction),
        "kind": kind,
        "note": note,
    }
    if passed is not None:
        data["passed"] = bool(passed)
    return {
        "name": f"text/{example_id}",
        "media_type": TEXT_MEDIA_TYPE,
        "data": json.dumps(data, ensure_ascii=False),
        "meta": {"example_id": str(example_id), "probe": probe_key, "label": probe_label},
    }
