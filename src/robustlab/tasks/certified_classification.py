"""Certified classification: class predictions that may abstain, with a certificate per example."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.tasks.base import CRITERIA, TASKS
from robustlab.tasks.classification import Classification
from robustlab.tasks.criteria import Misclassified


@CRITERIA.register("misclassified_certified")
@dataclass(frozen=True)
class MisclassifiedCertified(Misclassified):
    """An attacked example of a certified classifier breaks when the base model misclassifies
    it (the certificate itself is judged by the probe, in the ``verified`` field)."""

    name: ClassVar[str] = "misclassified_certified"
    tasks: ClassVar[tuple[str, ...]] = ("certified_classification",)


@TASKS.register("certified_classification")
class CertifiedClassification(Classification):
    """Classification whose records also hold a certificate: a smoothed prediction that may
    abstain with its certified L2 ``radius``, or a bound-propagation ``verified`` flag with the
    lower bound of the margin. ``prediction`` is -1 where the classifier abstained (then
    ``correct`` is False), and ``verified`` says the example is proven correct within the
    probe's budget (``epsilon``)."""

    name: ClassVar[str] = "certified_classification"
    fields: ClassVar[dict[str, str]] = {
        **Classification.fields,
        "radius": "float",
        "abstained": "bool",
        "verified": "bool",
        "margin_lower": "float",
    }
    metrics: ClassVar[tuple[str, ...]] = ("accuracy", "certified_accuracy")
    criterion: ClassVar[str] = "misclassified_certified"

    def record_fields(
        self, outputs: Any, targets: Any, *, reference: Any = None, **options: Any
    ) -> dict[str, np.ndarray]:
        """``outputs`` are the base model's class probabilities; ``options`` may set
        ``prediction`` (the smoothed one, -1 to abstain), ``radius``, ``abstained``,
        ``verified`` and ``margin_lower``."""
        fields = super().record_fields(outputs, targets, reference=reference)
        n = len(fields["target"])
        pred = options.get("prediction")
        if pred is not None:
            fields["prediction"] = np.asarray(pred, dtype=np.int64)
            fields["correct"] = fields["prediction"] == fields["target"]
        for name in ("radius", "margin_lower"):
            value = options.get(name)
            fields[name] = np.full(n, np.nan) if value is None else np.asarray(value, float)
        abstained = options.get("abstained")
        fields["abstained"] = (
            np.zeros(n, bool) if abstained is None else np.asarray(abstained, dtype=bool)
        )
        verified = options.get("verified")
        fields["verified"] = (
            np.zeros(n, bool) if verified is None else np.asarray(verified, dtype=bool)
        ) & fields["correct"]
        return fields

    def default_broken(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        """Broken: not proven correct within the budget."""
        return ~np.asarray(fields["verified"], dtype=bool)
