"""Subpopulations of a text dataset: slices by length, by pattern, by predicate, by column.

Text conveniences over :func:`robustlab.data.slice_by`: each returns the dataset with a ``group``
metadata column holding every example's slice, so every probe of a scan reports worst-group
accuracy, the group gap and MacroStd over the slices::

    from robustlab.text import load_reviews, slices
    test = slices.by_length(load_reviews("test"), bins=(10, 20))   # <=10, 11-20, >20 words
    test = slices.by_pattern(load_reviews("test"), {"negation": r"(?i)\\bnot\\b|n't\\b"})

References:
    Goel et al., Robustness Gym: Unifying the NLP Evaluation Landscape, NAACL 2021 Demos
    (subpopulations).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from robustlab.data.base import Dataset
from robustlab.data.slices import GroupedDataset, slice_by
from robustlab.errors import ConfigError, DataError

__all__ = ["by_length", "by_meta", "by_pattern", "by_predicate", "word_count"]

_TOKEN = re.compile(r"\S+")


def word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(_TOKEN.findall(text))


def _check_text(dataset: Dataset, where: str) -> None:
    if not isinstance(dataset, Dataset) or dataset.modality != "text":
        kind = getattr(dataset, "modality", type(dataset).__name__)
        raise DataError(
            f"{where} slices text datasets; got {kind} data. Build one with TextDataset(texts, "
            f"labels) or load a .csv/.tsv/.jsonl table."
        )


def by_length(dataset: Dataset, bins: Sequence[int] = (10, 20)) -> GroupedDataset:
    """Slices by word count: ``bins`` are increasing upper edges, so ``(10, 20)`` gives
    ``"<=10 words"``, ``"11-20 words"`` and ``">20 words"``.

    Args:
        dataset: A text dataset.
        bins: Increasing positive ints, the largest word count of each slice but the last.
    """
    _check_text(dataset, "by_length()")
    edges = list(bins) if not isinstance(bins, str) else []
    if (
        not edges
        or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in edges)
        or any(a >= b for a, b in itertools.pairwise(edges))
    ):
        raise ConfigError(
            f"The 'bins' parameter of by_length() must be increasing positive ints (upper word "
            f"counts of each slice), e.g. (10, 20). Got {bins!r} instead."
        )
    labels = [f"<={edges[0]} words"]
    labels += [f"{a + 1}-{b} words" for a, b in itertools.pairwise(edges)]
    labels.append(f">{edges[-1]} words")

    def label(text: str, meta: dict[str, Any]) -> str:
        n = word_count(text)
        return next((labels[i] for i, edge in enumerate(edges) if n <= edge), labels[-1])

    return slice_by(dataset, label)


def by_pattern(
    dataset: Dataset, patterns: Mapping[str, str | re.Pattern[str]], *, other: str = "other"
) -> GroupedDataset:
    """Slices by regular expression: an example belongs to the first slice whose pattern it
    contains (``re.search``; compile a pattern with flags such as ``re.IGNORECASE`` or start it
    with ``(?i)`` to ignore case), and to ``other`` if none matches.

    Args:
        dataset: A text dataset.
        patterns: Slice name -> pattern, in priority order.
        other: The slice of examples no pattern matches.
    """
    _check_text(dataset, "by_pattern()")
    regexes: dict[str, re.Pattern[str]] = {}
    for name, pattern in _named(patterns, "patterns", "by_pattern()").items():
        try:
            regexes[name] = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise ConfigError(
                f"The pattern of slice {name!r} in by_pattern() is not a valid regular "
                f"expression ({exc}). Got {pattern!r}."
            ) from None
    return by_predicate(
        dataset,
        {name: functools.partial(_contains, rx) for name, rx in regexes.items()},
        other=other,
    )


def _contains(rx: re.Pattern[str], text: str) -> bool:
    return rx.search(text) is not None


def by_predicate(
    dataset: Dataset, predicates: Mapping[str, Callable[[str], bool]], *, other: str = "other"
) -> GroupedDataset:
    """Slices by function of the text: an example belongs to the first slice whose predicate
    returns true for its text, and to ``other`` if none does. (For predicates that also read
    the metadata, use :func:`robustlab.data.slice_by` directly.)

    Args:
        dataset: A text dataset.
        predicates: Slice name -> function ``text -> bool``, in priority order.
        other: The slice of examples no predicate accepts.
    """
    _check_text(dataset, "by_predicate()")
    named = _named(predicates, "predicates", "by_predicate()")
    for name, fn in named.items():
        if not callable(fn):
            raise ConfigError(
                f"The predicate of slice {name!r} must be a callable text -> bool. "
                f"Got {type(fn).__name__}."
            )
    return slice_by(
        dataset,
        predicates={name: functools.partial(_on_text, fn) for name, fn in named.items()},
        other=other,
    )


def _on_text(fn: Callable[[str], bool], text: str, meta: dict[str, Any]) -> bool:
    return bool(fn(text))


def by_meta(dataset: Dataset, column: str) -> GroupedDataset:
    """Slices by an existing metadata column (e.g. the reviews' ``topic``)."""
    _check_text(dataset, "by_meta()")
    if column not in dataset.meta:
        raise ConfigError(
            f"Dataset {dataset.name!r} has no metadata column {column!r}; its columns: "
            f"{', '.join(sorted(dataset.meta)) or 'none'}."
        )
    return slice_by(dataset, functools.partial(_column, column))


def _column(column: str, text: str, meta: dict[str, Any]) -> Any:
    return meta[column]


def _named(items: Mapping[str, Any], what: str, where: str) -> dict[str, Any]:
    if not isinstance(items, Mapping) or not items:
        raise ConfigError(
            f"The {what!r} parameter of {where} must be a non-empty mapping of slice names to "
            f"{what}. Got {items!r} instead."
        )
    for name in items:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"Slice names in {where} must be non-empty str. Got {name!r}.")
    return dict(items)
