"""Per-example records: what every probe produces and every metric consumes (NumPy only).

Records are a small core that every task shares (example id, group, domain, perturbation size,
``broken``, queries, similarity, value) plus the fields the records' task declares
(:attr:`robustlab.tasks.Task.fields`, e.g. ``target`` / ``prediction`` / ``correct`` for
classification or ``error`` / ``squared_error`` for regression), held in :attr:`Records.fields`
and read as attributes (``records.correct``). ``records.score`` is the task's primary per-example
score (its ``score_field``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from robustlab.errors import ConfigError, RobustLabError

if TYPE_CHECKING:
    from robustlab.tasks.base import Task

__all__ = ["CORE_COLUMNS", "ID_DOMAIN", "RECORD_COLUMNS", "Records"]

#: The domain label of in-distribution examples; shift metrics compare every other domain to it.
ID_DOMAIN = "id"

#: Columns every task's records hold (``broken`` aside, which is derived unless set; see Records).
CORE_COLUMNS = (
    "example_id",
    "perturbation",
    "value",
    "group",
    "domain",
    "queries",
    "similarity",
)

#: The columns of classification records, in the order rows and exports have always listed them.
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

_FLOAT_CORE = ("perturbation", "value", "queries", "similarity")
_STR_CORE = ("group", "domain")
_INTERNAL = ("task", "fields", "warnings", "artifacts", "_broken", "_types")


@functools.cache
def _task(name: str) -> Task:
    from robustlab.tasks.base import get_task

    return get_task(name)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))


def field_array(values: Any, kind: str, n: int) -> np.ndarray:
    """A task field as an array of its type; ``None``/NaN mean "not measured".

    ``int`` and ``bool`` columns are ``int64`` / ``bool`` when every value is present and
    ``float64`` with NaN otherwise; ``float`` is ``float64`` with NaN; ``str`` is an object array
    with None.
    """
    if values is None:
        return np.full(n, None, dtype=object) if kind == "str" else np.full(n, np.nan)
    arr = np.asarray(values)
    if kind == "str":
        return np.asarray([None if _missing(v) else str(v) for v in arr.tolist()], dtype=object)
    if kind == "float":
        if arr.dtype == object:
            arr = np.asarray([np.nan if v is None else v for v in arr.tolist()], dtype=np.float64)
        return arr.astype(np.float64)
    if arr.dtype == object:
        gaps = np.array([_missing(v) for v in arr.tolist()], dtype=bool)
        if gaps.any():
            return np.asarray([np.nan if g else float(v) for v, g in zip(arr, gaps)])
        return arr.astype(np.int64 if kind == "int" else bool)
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        return arr.astype(np.float64)
    return arr.astype(np.int64 if kind == "int" else bool)


def _core(name: str, values: Any, n: int) -> np.ndarray:
    if name == "example_id":
        return np.asarray(values if values is not None else [], dtype=object)
    if name in _STR_CORE:
        if values is None or len(values) == 0:
            return np.asarray([None] * n, dtype=object)
        return np.asarray(values, dtype=object)
    if values is None or len(values) == 0:
        return np.full(n, np.nan)
    return np.asarray(values, dtype=np.float64)


def _plain(v: Any, kind: str) -> Any:
    """One cell as a JSON / SQL value: None where not measured."""
    if kind == "str":
        return None if v is None else str(v)
    if _missing(v):
        return None
    if kind == "int":
        return int(v)
    if kind == "bool":
        return bool(v)
    return float(v)


class Records:
    """Column arrays, one entry per evaluated example, of one task.

    Core columns (every task):
        example_id: Stable example ids.
        perturbation: Size of the perturbation applied (the probe's norm), NaN where none.
        value: A probe-specific per-example measurement (e.g. the flip rate of the example's
            perturbation sequence), NaN where the probe defines none.
        group: Subgroup label from the dataset metadata, or None.
        domain: Domain label from the dataset metadata, or None.
        queries: Model queries a black-box attack spent on the example, NaN where not counted.
        similarity: Similarity of the perturbed input to the original in ``[0, 1]`` (e.g. the
            sentence-embedding cosine of an adversarial text), NaN where not measured.
        broken: Whether the task's criterion says the perturbation broke the example. Unless
            set explicitly (an attack with another criterion, e.g. a targeted one), it is derived
            from the task fields by :meth:`Task.default_broken` (for classification
            ``~correct``), so it follows them when they change.

    Task fields (``records.fields[name]``, also ``records.name``): those of ``Task.fields``.
    Classification's are ``target``, ``prediction``, ``correct``, ``confidence``, ``loss``
    (``-log p(target)``, probabilities clipped at 1e-12), ``brier`` (``sum_k (p_k -
    onehot_k)^2``) and ``reference`` (the reference model's prediction, NaN without one).

    Args:
        example_id: The example ids.
        task: Name of the records' task (``classification`` by default).
        fields: Task fields by name; fields may also be passed as keyword arguments, as the
            classification columns always were (``Records(example_id=..., target=..., ...)``).
            Declared fields left out are "not measured" (NaN / None).
        broken: Explicit ``broken`` flags, or None to derive them.
        warnings: Honest-evaluation warnings raised while producing these records (not a column).
        artifacts: Media to keep with the records (e.g. a corrupted image for the report gallery),
            each ``{"name", "media_type", "data", "meta"}`` with ``data`` base64 text.
    """

    example_id: np.ndarray
    perturbation: np.ndarray
    value: np.ndarray
    group: np.ndarray
    domain: np.ndarray
    queries: np.ndarray
    similarity: np.ndarray
    task: str
    fields: dict[str, np.ndarray]
    warnings: list[dict[str, str]]
    artifacts: list[dict[str, Any]]

    def __init__(
        self,
        example_id: Sequence[Any] | np.ndarray,
        *,
        task: str = "classification",
        perturbation: Sequence[float] | np.ndarray | None = None,
        value: Sequence[float] | np.ndarray | None = None,
        group: Sequence[Any] | np.ndarray | None = None,
        domain: Sequence[Any] | np.ndarray | None = None,
        queries: Sequence[float] | np.ndarray | None = None,
        similarity: Sequence[float] | np.ndarray | None = None,
        broken: Sequence[bool] | np.ndarray | None = None,
        fields: Mapping[str, Any] | None = None,
        warnings: list[dict[str, str]] | None = None,
        artifacts: list[dict[str, Any]] | None = None,
        **task_fields: Any,
    ) -> None:
        spec = _task(task)
        types = dict(spec.fields)
        given = {**(fields or {}), **task_fields}
        unknown = sorted(set(given) - set(types))
        if unknown:
            raise ConfigError(
                f"Records of task {task!r} have no field {', '.join(map(repr, unknown))}; its "
                f"fields are {', '.join(types)}. Put other per-example measurements in 'value'."
            )
        ids = _core("example_id", example_id, 0)
        n = len(ids)
        set_ = object.__setattr__
        set_(self, "task", spec.name)
        set_(self, "_types", types)
        set_(self, "example_id", ids)
        for name, values in (
            ("perturbation", perturbation),
            ("value", value),
            ("group", group),
            ("domain", domain),
            ("queries", queries),
            ("similarity", similarity),
        ):
            set_(self, name, _core(name, values, n))
        set_(self, "fields", {k: field_array(given.get(k), t, n) for k, t in types.items()})
        set_(self, "_broken", None if broken is None else np.asarray(broken, dtype=bool))
        set_(self, "warnings", list(warnings or []))
        set_(self, "artifacts", list(artifacts or []))
        self._check_lengths()

    def _check_lengths(self) -> None:
        n = len(self.example_id)
        columns = {c: getattr(self, c) for c in CORE_COLUMNS[1:]} | self.fields
        if self._broken is not None:
            columns["broken"] = self._broken
        for name, col in columns.items():
            if len(col) != n:
                raise RobustLabError(f"Records column {name!r} has the wrong length.")

    # -- attribute access to the task fields ---------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: task fields read as attributes
        fields = self.__dict__.get("fields")
        if fields is not None and name in fields:
            return fields[name]
        task = self.__dict__.get("task", "?")
        declared = ", ".join(fields or ())
        raise AttributeError(
            f"Records of task {task!r} have no column {name!r}; core columns: "
            f"{', '.join(CORE_COLUMNS)}, broken, score; task fields: {declared}."
        )

    def __setattr__(self, name: str, values: Any) -> None:
        n = len(self.example_id)
        if name in self._types:
            col = field_array(values, self._types[name], n)
        elif name in CORE_COLUMNS[1:]:
            col = _core(name, values, n)
        elif name == "broken":
            col = np.asarray(values, dtype=bool)
            name = "_broken"
        elif name in ("warnings", "artifacts"):
            object.__setattr__(self, name, list(values))
            return
        else:
            raise AttributeError(
                f"Records of task {self.task!r} have no column {name!r} to set; task fields: "
                f"{', '.join(self._types)}."
            )
        if len(col) != n:
            raise RobustLabError(f"Records column {name.lstrip('_')!r} has the wrong length.")
        if name in self._types:
            self.fields[name] = col
        else:
            object.__setattr__(self, name, col)

    def __len__(self) -> int:
        return len(self.example_id)

    def __repr__(self) -> str:
        return f"Records(task={self.task!r}, n={len(self)}, fields={list(self.fields)})"

    # -- derived core columns --------------------------------------------------------------------
    @property
    def broken(self) -> np.ndarray:
        """Whether the perturbation broke each example, by the task's criterion."""
        if self._broken is not None:
            return self._broken
        return _task(self.task).default_broken(self.fields)

    @property
    def broken_is_set(self) -> bool:
        """Whether ``broken`` was set explicitly rather than derived from the task fields."""
        return self._broken is not None

    @property
    def score(self) -> np.ndarray:
        """The task's primary per-example score (its ``score_field``) as floats."""
        return self.fields[_task(self.task).score_field].astype(np.float64)

    @property
    def field_types(self) -> dict[str, str]:
        """The task fields' types, ``{name: "int" | "float" | "bool" | "str"}``."""
        return dict(self._types)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every column in row order: the core, the task fields, and ``broken`` when set."""
        if self.task == "classification":
            names: tuple[str, ...] = RECORD_COLUMNS
        else:
            names = (CORE_COLUMNS[0], *self.fields, *CORE_COLUMNS[1:])
        return (*names, "broken") if self._broken is not None else names

    def column_type(self, name: str) -> str:
        if name in self._types:
            return self._types[name]
        if name == "queries":
            return "int"
        if name in _FLOAT_CORE:
            return "float"
        return "bool" if name == "broken" else "str"

    def column(self, name: str) -> np.ndarray:
        return self.broken if name == "broken" else getattr(self, name)

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_outputs(
        cls,
        task: str | Task,
        outputs: Any,
        targets: Any,
        ids: Sequence[str],
        **options: Any,
    ) -> Records:
        """Records of ``task`` from a model's outputs on a batch (see :meth:`Task.records`)."""
        from robustlab.tasks.base import get_task

        return get_task(task).records(outputs, targets, ids, **options)

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
        """Classification records from class probabilities ``(n, K)`` and the true labels."""
        return cls.from_outputs(
            "classification",
            probs,
            targets,
            ids,
            meta=meta,
            perturbation=perturbation,
            value=value,
            reference=reference,
            queries=queries,
            similarity=similarity,
        )

    def _parts(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in CORE_COLUMNS}

    def _like(self, columns: Mapping[str, Any], fields: Mapping[str, Any], broken: Any) -> Records:
        return Records(
            columns["example_id"],
            task=self.task,
            **{c: columns[c] for c in CORE_COLUMNS[1:]},
            fields=fields,
            broken=broken,
        )

    @classmethod
    def concat(cls, parts: Iterable[Records]) -> Records:
        parts = list(parts)
        if not parts:
            raise RobustLabError("Records.concat() needs at least one part.")
        tasks = sorted({p.task for p in parts})
        if len(tasks) > 1:
            raise RobustLabError(
                f"Records.concat() got records of several tasks ({', '.join(tasks)}); "
                "concatenate the records of one task at a time."
            )
        first = parts[0]
        explicit = any(p._broken is not None for p in parts)
        out = first._like(
            {c: np.concatenate([getattr(p, c) for p in parts]) for c in CORE_COLUMNS},
            {f: np.concatenate([p.fields[f] for p in parts]) for f in first.fields},
            np.concatenate([p.broken for p in parts]) if explicit else None,
        )
        out.warnings = [w for p in parts for w in p.warnings]
        out.artifacts = [a for p in parts for a in p.artifacts]
        return out

    def subset(self, mask: np.ndarray) -> Records:
        out = self._like(
            {c: getattr(self, c)[mask] for c in CORE_COLUMNS},
            {f: col[mask] for f, col in self.fields.items()},
            None if self._broken is None else self._broken[mask],
        )
        out.warnings = list(self.warnings)
        return out

    def in_distribution(self) -> Records:
        """The in-distribution examples of a shift scan's records (all records otherwise)."""
        ident = self.domain == ID_DOMAIN
        shifted = np.array([d is not None for d in self.domain], dtype=bool) & ~ident
        return self.subset(ident) if shifted.any() and ident.any() else self

    # -- plain values ----------------------------------------------------------------------------
    def columns(self) -> dict[str, list[Any]]:
        """Every column as a list of plain values (None where not measured), in row order."""
        return {
            c: [_plain(v, self.column_type(c)) for v in self.column(c).tolist()]
            for c in self.column_names
        }

    def rows(self) -> list[dict[str, Any]]:
        """One dict per example, with NaN as None (JSON and SQL friendly)."""
        cols = self.columns()
        names = list(cols)
        return [{c: cols[c][i] for c in names} for i in range(len(self))]

    @classmethod
    def from_columns(
        cls, columns: Mapping[str, Sequence[Any]], *, task: str = "classification"
    ) -> Records:
        """Records from :meth:`columns` output (absent columns are "not measured")."""
        types = _task(task).fields
        unknown = sorted(set(columns) - {*CORE_COLUMNS, *types, "broken"})
        if unknown:
            raise ConfigError(
                f"Records of task {task!r} have no column {', '.join(map(repr, unknown))}."
            )
        core: dict[str, Any] = {}
        for c in CORE_COLUMNS[1:]:
            v = columns.get(c)
            if v is not None and c in _FLOAT_CORE:
                v = [np.nan if x is None else x for x in v]
            core[c] = v
        broken = columns.get("broken")
        return cls(
            list(columns.get("example_id", [])),
            task=task,
            **core,
            fields={f: columns[f] for f in types if f in columns},
            broken=None if broken is None else list(broken),
        )

    @classmethod
    def from_rows(
        cls, rows: Sequence[Mapping[str, Any]], *, task: str = "classification"
    ) -> Records:
        names: dict[str, None] = {}
        for r in rows:
            names.update(dict.fromkeys(r))
        if not rows:
            names = dict.fromkeys(CORE_COLUMNS)
        return cls.from_columns({c: [r.get(c) for r in rows] for c in names}, task=task)
