"""The project's own labelled review sentences (binary sentiment) with a fixed train/test split."""

from __future__ import annotations

import csv
from importlib import resources

from robustlab.data.arrays import TextDataset
from robustlab.errors import ConfigError

__all__ = ["CLASS_NAMES", "TOPICS", "load_reviews"]

CLASS_NAMES = ("negative", "positive")
TOPICS = ("film", "restaurant", "product", "hotel")
_SPLITS = ("all", "train", "test")


def _rows() -> list[dict[str, str]]:
    text = (resources.files("robustlab.text") / "resources" / "reviews.tsv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))


def load_reviews(split: str = "all") -> TextDataset:
    """400 short English reviews written for RobustLab, labelled 0 = negative, 1 = positive.

    Films, restaurants, products and hotels, 50 positive and 50 negative of each, hand-written
    (not generated from templates), with person names, places, numbers and contractions for the
    entity, number and contraction transformations to act on. Every fourth review of each topic
    and label is in the test split (104 reviews), the rest in the train split (296).

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.

    Returns:
        A :class:`~robustlab.data.TextDataset` named ``reviews[-split]`` with class names
        ``["negative", "positive"]``, ids such as ``film-pos-01`` and a ``topic`` metadata column.
    """
    if split not in _SPLITS:
        raise ConfigError(
            f"The 'split' parameter of load_reviews() must be one of {list(_SPLITS)}. "
            f"Got {split!r} instead."
        )
    rows = [r for r in _rows() if split == "all" or r["split"] == split]
    return TextDataset(
        [r["text"] for r in rows],
        [int(r["label"]) for r in rows],
        ids=[r["id"] for r in rows],
        meta={"topic": [r["topic"] for r in rows]},
        class_names=list(CLASS_NAMES),
        name="reviews" if split == "all" else f"reviews-{split}",
    )
