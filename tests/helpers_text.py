"""Offline text fixtures shared by text-A's tests: the reviews, a TF-IDF model, keyword models."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from robustlab.data.arrays import TextDataset
from robustlab.models import FunctionModel, SklearnModel


@functools.cache
def reviews(split: str = "test") -> TextDataset:
    from robustlab.text import load_reviews

    return load_reviews(split)


@functools.cache
def tfidf() -> SklearnModel:
    """The TF-IDF + logistic regression review classifier (about a second to fit)."""
    from robustlab.text import tfidf_model

    return tfidf_model(reviews("train"))


POSITIVE_WORDS = ("good", "great", "excellent", "loved", "love", "wonderful", "amazing")


def keyword_model(
    score: Callable[[str], float] | None = None, name: str = "keywords"
) -> FunctionModel:
    """A transparent text model: P(positive) = ``score(text)`` (default: 0.9 if the text has a
    positive keyword and no "not", else 0.1), so pass rates can be worked out by hand."""

    def default(text: str) -> float:
        words = text.lower().replace(".", " ").replace(",", " ").split()
        return 0.9 if any(w in POSITIVE_WORDS for w in words) and "not" not in words else 0.1

    fn = score or default

    def predict(texts: Sequence[str]) -> np.ndarray:
        p = np.array([fn(t) for t in texts], dtype=np.float64)
        return np.stack([1 - p, p], axis=1)

    return FunctionModel(predict, modality="text", num_classes=2, name=name, version=name)
