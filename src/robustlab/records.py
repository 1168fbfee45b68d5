"""Per-example records: what every probe produces and every metric consumes (NumPy only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from robustlab.errors import RobustLabError

__all__ = ["ID_DOMAIN", "RECORD_COLUMNS", "Records"]

#: The domain label of in-distribution examples; shift metrics compare every other domain to it.
ID_DOMAIN = "id"

RECORD_COLUMNS = (
    "example_id",
    "target",
    "prediction",
    "correct",
    "confidence",
    "loss",
    "brier",
    "perturbation",
    "value",
    "reference",
    "group",
    "domain",
    "queries",
    "similarity",
)

#: Float columns where NaN means "not measured" (stored as NULL).
_NULLABLE = ("perturbation", "value", "reference", "queries", "similarity")


def _col(values: Any, dtype: Any) -> np.ndarray:
    return np.asarray(values, dtype=dtype)


@dataclass
class Records:
    """Column arrays, one entry per evaluated example.

    Attributes:
        example_id: Stable example ids.
        target: True labels.
        prediction: Predicted labels on the (possibly perturbed) input.
        correct: ``prediction == target``.
        confidence: Probability of the predicted class.
        loss: Cross-entropy of the true class, ``-log p(target)`` (probabilities clipped at 1e-12).
        brier: Multi-class Brier score of the example, ``sum_k (p_k - onehot_k)^2``.
        perturbation: Size of the perturbation applied (the probe's norm), NaN where none.
        value: A probe-specific per-example measurement (e.g. the flip rate of the example's
            perturbation sequence), NaN where the probe defines none.
        reference: The reference ("oracle") model's prediction on the same input, NaN when the
            scan has no reference model.
        group: Subgroup label from the dataset metadata, or None.
        domain: Domain label from the dataset metadata, or None.
        queries: Model queries a black-box attack spent on the example, NaN where not counted.
        similarity: Similarity of the perturbed input to the original in ``[0, 1]`` (e.g. the
            sentence-embedding cosine of an adversarial text), NaN where not measured.
        warnings: Honest-evaluation warnings raised while producing these records (not a column).
        artifacts: Media to keep with the records (e.g. a corrupted image for the report gallery),
            each ``{"name", "media_type", "data", "meta"}`` with ``data`` base64 text.
    """

    example_id: np.ndarray
    target: np.ndarray
    prediction: np.ndarray
    correct: np.ndarray
    confidence: np.ndarray
    loss: np.ndarray
    brier: np.ndarray
    perturbation: np.ndarray
    value: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    reference: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    group: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    domain: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    queries: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    similarity: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    warnings: list[dict[str, str]] = field(default_factory=list, compare=False)
    artifacts: list[dict[str, Any]] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        n = len(self.example_id)
        self.example_id = _col(self.example_id, object)
        self.target = _col(self.target, np.int64)
        self.prediction = _col(self.prediction, np.int64)
        self.correct = _col(self.correct, bool)
        self.confidence = _col(self.confidence, np.float64)
        self.loss = _col(self.loss, np.float64)
        self.brier = _col(self.brier, np.float64)
        self.perturbation = _col(self.perturbation, np.float64)
        self.value = _col(self.value if len(self.value) else np.full(n, np.nan), np.float64)
        self.reference = _col(
            self.reference if len(self.reference) else np.full(n, np.nan), np.float64
        )
        self.group = _col(self.group if len(self.group) else [None] * n, object)
        self.domain = _col(self.domain if len(self.domain) else [None] * n, object)
        self.queries = _col(self.queries if len(self.queries) else np.full(n, np.nan), np.float64)
        self.similarity = _col(
            self.similarity if len(self.similarity) else np.full(n, np.nan), np.float64
        )
        for f in fields(self):
            if f.name in RECORD_COLUMNS and len(getattr(self, f.name)) != n:
                raise RobustLabError(f"Records column {f.name!r} has the wrong length.")

    def __len__(self) -> int:
        return len(self.example_id)

    @classmethod
    def from_probabilities(
        cls,
        probs: np.ndarray,
        targets: Sequence[int] | np.ndarray,
        ids: Sequence[str],
        *,
        meta: Mapping[str, Sequence[Any]] | None = None,
        perturbation: Sequence[float] | np.ndarray | None = None,
        value: Sequence[float] | np.ndarray | None = None,
        reference: Sequence[int] | np.ndarray | None = None,
        queries: Sequence[float] | np.ndarray | None = None,
        similarity: Sequence[float] | np.ndarray | None = None,
    ) -> Records:
        """Build records from class probabilities ``(n, K)`` and the true labels."""
        p = np.asarray(probs, dtype=np.float64)
        y = np.asarray(targets, dtype=np.int64)
        n = len(y)
        pred = p.argmax(axis=1)
        p_true = p[np.arange(n), y]
        onehot = np.zeros_like(p)
        onehot[np.arange(n), y] = 1.0
        meta = meta or {}
        return cls(
            example_id=np.asarray(list(ids), dtype=object),
            target=y,
            prediction=pred,
            correct=pred == y,
            confidence=p.max(axis=1),
            loss=-np.log(np.clip(p_true, 1e-12, None)),
            brier=((p - onehot) ** 2).sum(axis=1),
            perturbation=np.full(n, np.nan) if perturbation is None else np.asarray(perturbation),
            value=np.full(n, np.nan) if value is None else np.asarray(value),
            reference=np.full(n, np.nan) if reference is None else np.asarray(reference),
            group=np.asarray(list(meta.get("group", [None] * n)), dtype=object),
            domain=np.asarray(list(meta.get("domain", [None] * n)), dtype=object),
            queries=np.full(n, np.nan) if queries is None else np.asarray(queries),
            similarity=np.full(n, np.nan) if similarity is None else np.asarray(similarity),
        )

    @classmethod
    def concat(cls, parts: Iterable[Records]) -> Records:
        parts = list(parts)
        if not parts:
            raise RobustLabError("Records.concat() needs at least one part.")
        columns = {c: np.concatenate([getattr(p, c) for p in parts]) for c in RECORD_COLUMNS}
        return cls(
            **columns,
            warnings=[w for p in parts for w in p.warnings],
            artifacts=[a for p in parts for a in p.artifacts],
        )

    def subset(self, mask: np.ndarray) -> Records:
        return Records(
            **{c: getattr(self, c)[mask] for c in RECORD_COLUMNS}, warnings=list(self.warnings)
        )

    def in_distribution(self) -> Records:
        """The in-distribution examples of a shift scan's records (all records otherwise)."""
        ident = self.domain == ID_DOMAIN
        shifted = np.array([d is not None for d in self.domain], dtype=bool) & ~ident
        return self.subset(ident) if shifted.any() and ident.any() else self

    def rows(self) -> list[dict[str, Any]]:
        """One dict per example, with NaN perturbations as None (JSON and SQL friendly)."""
        out = []
        for i in range(len(self)):
            pert = float(self.perturbation[i])
            val = float(self.value[i])
            ref = float(self.reference[i])
            qry = float(self.queries[i])
            sim = float(self.similarity[i])
            out.append(
                {
                    "example_id": str(self.example_id[i]),
                    "target": int(self.target[i]),
                    "prediction": int(self.prediction[i]),
                    "correct": bool(self.correct[i]),
                    "confidence": float(self.confidence[i]),
                    "loss": float(self.loss[i]),
                    "brier": float(self.brier[i]),
                    "perturbation": None if np.isnan(pert) else pert,
                    "value": None if np.isnan(val) else val,
                    "reference": None if np.isnan(ref) else int(ref),
                    "group": None if self.group[i] is None else str(self.group[i]),
                    "domain": None if self.domain[i] is None else str(self.domain[i]),
                    "queries": None if np.isnan(qry) else int(qry),
                    "similarity": None if np.isnan(sim) else sim,
                }
            )
        return out

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> Records:
        cols: dict[str, list[Any]] = {c: [] for c in RECORD_COLUMNS}
        for r in rows:
            for c in RECORD_COLUMNS:
                v = r.get(c)
                cols[c].append(np.nan if (c in _NULLABLE and v is None) else v)
        return cls(**cols)  # type: ignore[arg-type]
