"""Text slices: group labels by length, pattern, predicate and column, and their use in records."""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers_text import keyword_model, reviews
from robustlab.data import ArrayDataset, TextDataset, slice_by
from robustlab.errors import ConfigError, DataError
from robustlab.metrics import get_metric
from robustlab.probes import make_probe
from robustlab.text import slices

TEXTS = [
    "Good.",  # 1 word
    "Not good at all, sadly.",  # 5
    "one two three four five six",  # 6
    "I did not like the food but the staff were lovely and kind",  # 13
]


def _ds() -> TextDataset:
    return TextDataset(TEXTS, [1, 0, 1, 0], ids=list("abcd"), meta={"topic": list("xxyy")})


def test_by_length_known_answer() -> None:
    ds = slices.by_length(_ds(), bins=(1, 5))
    assert ds.meta["group"] == ["<=1 words", "2-5 words", ">5 words", ">5 words"]
    assert ds.meta["topic"] == list("xxyy")  # other metadata kept
    assert ds.load_inputs(np.arange(4)) == TEXTS and ds.ids == list("abcd")
    assert ds.modality == "text" and ds.describe()["groups"]["2-5 words"] == 1
    assert slices.by_length(_ds(), bins=(12,)).meta["group"] == ["<=12 words"] * 3 + [">12 words"]
    assert slices.word_count("  two\twords \n") == 2


@pytest.mark.parametrize("bins", [(), (5, 5), (10, 3), (0,), (2.5,), "10"])
def test_by_length_rejects_bad_bins(bins: object) -> None:
    with pytest.raises(ConfigError, match=r"'bins' parameter of by_length\(\) must be increasing"):
        slices.by_length(_ds(), bins=bins)  # type: ignore[arg-type]


def test_by_pattern_first_match_wins() -> None:
    ds = slices.by_pattern(
        _ds(),
        {"negation": r"(?i)\bnot\b", "praise": re.compile(r"good|lovely", re.IGNORECASE)},
        other="rest",
    )
    assert ds.meta["group"] == ["praise", "negation", "rest", "negation"]
    with pytest.raises(ConfigError, match=r"slice 'bad' in by_pattern\(\) is not a valid regular"):
        slices.by_pattern(_ds(), {"bad": "(unclosed"})
    with pytest.raises(ConfigError, match=r"must be a non-empty mapping"):
        slices.by_pattern(_ds(), {})


def test_by_predicate_and_errors() -> None:
    ds = slices.by_predicate(_ds(), {"short": lambda t: len(t) < 10, "has I": lambda t: "I " in t})
    assert ds.meta["group"] == ["short", "other", "other", "has I"]
    with pytest.raises(ConfigError, match=r"may not be named 'other'"):
        slices.by_predicate(_ds(), {"other": lambda t: True})
    with pytest.raises(ConfigError, match=r"must be a callable text -> bool"):
        slices.by_predicate(_ds(), {"x": "not callable"})  # type: ignore[dict-item]
    with pytest.raises(DataError, match=r"failed on example 'a' of 'texts': ZeroDivisionError"):
        slices.by_predicate(_ds(), {"boom": lambda t: 1 / 0})


def test_by_meta_and_non_text_data() -> None:
    assert slices.by_meta(_ds(), "topic").meta["group"] == list("xxyy")
    with pytest.raises(ConfigError, match=r"has no metadata column 'genre'; its columns: topic"):
        slices.by_meta(_ds(), "genre")
    images = ArrayDataset(np.zeros((2, 1, 8, 8)), [0, 1])
    with pytest.raises(DataError, match=r"by_length\(\) slices text datasets; got image data"):
        slices.by_length(images)


def test_slices_flow_into_records_and_worst_group_accuracy() -> None:
    """The keyword model is right on "Good." and wrong on the negated text; worst-group accuracy
    over the length slices is that of the worst slice, worked out by hand."""
    ds = slices.by_length(_ds(), bins=(1, 5))
    records = make_probe("clean").run(keyword_model(), ds.batch(np.arange(4)), seed=0)
    assert list(records.group) == ds.meta["group"]
    # predictions: Good. -> 1 (right), Not good -> 0 (right), six words -> 0 (wrong), 13 -> 0
    assert records.correct.tolist() == [True, True, False, True]
    est = get_metric("worst_group_accuracy").compute(records)
    assert est.value == 0.5 and est.details["worst_group"] == ">5 words"


def test_slices_compose_with_slice_by() -> None:
    """A text slice of a slice: the generic slicer sees the texts and the metadata."""
    by_topic = slices.by_meta(_ds(), "topic")
    both = slice_by(by_topic, lambda text, meta: f"{meta['group']}/{slices.word_count(text) > 5}")
    assert both.meta["group"] == ["x/False", "x/False", "y/True", "y/True"]


def test_reviews_by_topic() -> None:
    ds = slices.by_meta(reviews("test"), "topic")
    assert sorted(set(ds.meta["group"])) == ["film", "hotel", "product", "restaurant"]
    assert ds.fingerprint() != reviews("test").fingerprint()  # the groups are part of the data
