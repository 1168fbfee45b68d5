"""Text robustness: models, transformations, behavioural tests and attacks for text classifiers.

::

    from robustlab import scan
    from robustlab.text import load_reviews, minilm_model, slices

    model = minilm_model(load_reviews("train"))         # MiniLM embeddings + logistic regression
    test = slices.by_length(load_reviews("test"))       # worst-group accuracy by review length
    scan(model, test, "text-quick", store="text.db")

Any callable ``texts -> class probabilities (N, K)`` is a text model through
``FunctionModel(fn, modality="text")``, a fitted scikit-learn text pipeline through
``SklearnModel(pipeline, modality="text")``.
"""

from robustlab.data.arrays import TextDataset
from robustlab.demo.text import demo
from robustlab.text import checklist, slices
from robustlab.text.models import EmbeddingClassifier, minilm_model, tfidf_model
from robustlab.text.reviews import load_reviews

__all__ = [
    "EmbeddingClassifier",
    "TextDataset",
    "checklist",
    "demo",
    "load_reviews",
    "minilm_model",
    "slices",
    "tfidf_model",
]
