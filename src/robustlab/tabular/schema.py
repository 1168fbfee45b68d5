"""A schema for mixed-type tables: column kinds, ranges, levels, one-hot groups, immutable columns
and linear relations; inferred from data, editable in Python and YAML, with a per-row checker and
a repair step (the constraint set of Simonetto et al., TabularBench, NeurIPS 2024 D&B, simplified).

Rows travel through RobustLab encoded as a float array ``(N, D)`` in the schema's column order:
numeric and integer columns as they are, categorical columns as the index of their level.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustlab.errors import ConfigError, DataError

__all__ = ["Column", "Relation", "Rule", "Schema", "Violation", "parse_relation"]

KINDS = ("numeric", "integer", "categorical")
_OPS = ("<=", ">=", "==", "!=", "<", ">")
_STRICT = 1e-6  # how far inside a strict inequality a repaired row lands
_NEGATED = {"<=": ">", ">=": "<", "<": ">=", ">": "<=", "==": "!=", "!=": "=="}
_KEYWORDS = re.compile(r"\b(?:and|or|not|if|then)\b")


@dataclass
class Column:
    """One column: its kind, valid range (numeric), levels (categorical), spread and mutability."""

    name: str
    kind: str = "numeric"
    low: float | None = None
    high: float | None = None
    levels: list[Any] | None = None
    scale: float = 1.0
    immutable: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"Column {self.name!r}: kind must be one of {list(KINDS)}; got {self.kind!r}."
            )
        if self.kind == "categorical" and not self.levels:
            raise ConfigError(f"Categorical column {self.name!r} needs its 'levels'.")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ConfigError(
                f"Column {self.name!r}: low {self.low} is above high {self.high}; swap them."
            )


@dataclass(frozen=True)
class Relation:
    """A linear relation ``sum(coef * column) + constant  op  0`` parsed from text such as
    ``open_accounts <= total_accounts`` or ``a + 2*b - c >= 1``; names with spaces go in
    backticks: ```mean radius` <= `worst radius```."""

    text: str
    coefs: tuple[tuple[str, float], ...]
    constant: float
    op: str

    @classmethod
    def parse(cls, text: str) -> Relation:
        op = next((o for o in _OPS if o in text), None)
        if op is None:
            raise ConfigError(
                f"Relation {text!r} needs one of {', '.join(_OPS)}, e.g. 'a <= b' or 'a + b == c'."
            )
        quoted = re.findall(r"`([^`]+)`", text)
        alias = {f"__c{i}__": name for i, name in enumerate(quoted)}
        body = text
        for key, name in alias.items():
            body = body.replace(f"`{name}`", key, 1)
        left, _, right = body.partition(op)
        coefs: dict[str, float] = {}
        constant = 0.0
        for side, sign in ((left, 1.0), (right, -1.0)):
            expr = side.replace(" ", "")
            if not expr:
                raise ConfigError(f"Relation {text!r} has an empty side.")
            for term in re.findall(r"[+-]?[^+-]+", expr):
                s = -1.0 if term.startswith("-") else 1.0
                term = term.lstrip("+-")
                m = re.fullmatch(r"(?:(\d+(?:\.\d*)?)\*)?([A-Za-z_][\w.]*)", term)
                if m:
                    c = float(m.group(1)) if m.group(1) else 1.0
                    name = str(alias.get(m.group(2), m.group(2)))
                    coefs[name] = coefs.get(name, 0.0) + sign * s * c
                    continue
                try:
                    constant += sign * s * float(term)
                except ValueError:
                    raise ConfigError(
                        f"Relation {text!r}: cannot read the term {term!r}; write terms as "
                        f"'column', '2*column' or a number."
                    ) from None
        return cls(text.strip(), tuple(coefs.items()), constant, op)

    @property
    def columns(self) -> list[str]:
        return [c for c, _ in self.coefs]

    def residual(self, x: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
        """``sum(coef * column) + constant`` per row."""
        out = np.full(len(x), self.constant)
        for c, w in self.coefs:
            out = out + w * x[:, index[c]]
        return out

    def holds(self, x: np.ndarray, index: Mapping[str, int], tol: float = 1e-9) -> np.ndarray:
        r = self.residual(x, index)
        return {
            "<=": r <= tol,
            "<": r < -tol,
            ">=": r >= -tol,
            ">": r > tol,
            "==": np.abs(r) <= max(tol, 1e-6),
            "!=": np.abs(r) > max(tol, 1e-6),
        }[self.op]

    def negated(self) -> Relation:
        """The relation that holds exactly where this one does not."""
        return dataclasses.replace(self, text=f"not ({self.text})", op=_NEGATED[self.op])

    def excess(self, x: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
        """Per row, how far the residual is outside the allowed side (0 where it holds)."""
        r = np.nan_to_num(self.residual(x, index))
        if self.op == "==":
            return r
        if self.op == "<=":
            return np.maximum(r, 0.0)
        if self.op == ">=":
            return np.minimum(r, 0.0)
        if self.op == "<":  # strict: land a small margin inside
            return np.where(r < -1e-9, 0.0, r + _STRICT)
        if self.op == ">":
            return np.where(r > 1e-9, 0.0, r - _STRICT)
        # "!=": a violating row sits on the hyperplane; step off it by a small margin
        return np.where(np.abs(r) <= 1e-6, -1e-3, 0.0)

    def project(
        self, x: np.ndarray, index: Mapping[str, int], mutable: np.ndarray, rows: Any = None
    ) -> bool:
        """Move the violating rows (of ``rows``, default all) onto the relation along its mutable
        columns (the smallest L2 change); True when a row moved."""
        excess = self.excess(x, index)
        if rows is not None:
            excess = np.where(rows, excess, 0.0)
        if not np.any(np.abs(excess) > 1e-12):
            return False
        cols = [(index[c], w) for c, w in self.coefs if mutable[index[c]]]
        norm = sum(w * w for _, w in cols)
        if norm == 0:
            return False
        for j, w in cols:
            x[:, j] -= excess * w / norm
        return True


@dataclass(frozen=True)
class Rule:
    """A boolean combination of linear relations: ``A and B``, ``A or B``, ``not A`` and
    ``if A then B`` (``and`` binds tighter than ``or``; no parentheses), e.g.
    ``if employed == 1 then income >= 1000`` or ``debt <= 0 or income > 0``.

    ``kind`` is ``"and"``, ``"or"`` or ``"if"`` (``parts`` = condition, consequence); a negation
    is pushed into its relation (``not a <= b`` is ``a > b``)."""

    text: str
    kind: str
    parts: tuple[Relation | Rule, ...]

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.parts:
            seen.update(dict.fromkeys(p.columns))
        return list(seen)

    def holds(self, x: np.ndarray, index: Mapping[str, int], tol: float = 1e-9) -> np.ndarray:
        held = [p.holds(x, index, tol) for p in self.parts]
        if self.kind == "and":
            return np.logical_and.reduce(held)
        if self.kind == "or":
            return np.logical_or.reduce(held)
        return ~held[0] | held[1]  # if cond then consequence

    def negated(self) -> Rule:
        if self.kind == "if":  # not (if a then b) = a and not b
            return Rule(f"not ({self.text})", "and", (self.parts[0], self.parts[1].negated()))
        kind = "or" if self.kind == "and" else "and"
        return Rule(f"not ({self.text})", kind, tuple(p.negated() for p in self.parts))

    def project(
        self, x: np.ndarray, index: Mapping[str, int], mutable: np.ndarray, rows: Any = None
    ) -> bool:
        """Repair violating rows: ``and`` repairs every part, ``or`` the part nearest to holding
        (smallest residual excess), ``if`` the consequence (the condition is kept)."""
        rows = np.ones(len(x), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
        bad = rows & ~self.holds(x, index)
        if not bad.any():
            return False
        if self.kind == "and":
            return any([p.project(x, index, mutable, bad) for p in self.parts])
        if self.kind == "if":
            return self.parts[1].project(x, index, mutable, bad & self.parts[0].holds(x, index))
        cost = np.stack([_distance(p, x, index) for p in self.parts])
        pick = cost.argmin(axis=0)
        moved = False
        for k, p in enumerate(self.parts):
            moved |= p.project(x, index, mutable, bad & (pick == k))
        return moved


def _distance(part: Relation | Rule, x: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
    """How far each row is from satisfying ``part`` (0 where it holds)."""
    if isinstance(part, Relation):
        return np.abs(part.excess(x, index))
    ds = np.stack([_distance(p, x, index) for p in part.parts])
    if part.kind == "and":
        return ds.sum(axis=0)
    if part.kind == "or":
        return ds.min(axis=0)
    return np.where(part.parts[0].holds(x, index), ds[1], 0.0)


def parse_relation(text: str) -> Relation | Rule:
    """A linear :class:`Relation` or, when ``text`` uses ``and`` / ``or`` / ``not`` /
    ``if ... then ...``, a boolean :class:`Rule` of relations."""
    try:
        return _parse_relation(text)
    except ConfigError as exc:
        if isinstance(text, str) and repr(text.strip()) not in str(exc):
            raise ConfigError(f"In relation {text.strip()!r}: {exc}") from None
        raise


def _parse_relation(text: str) -> Relation | Rule:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"A relation must be non-empty text such as 'a <= b'; got {text!r}.")
    body = text.strip()
    # keywords inside backticked column names are not keywords
    masked = re.sub(r"`[^`]*`", lambda m: "_" * len(m.group()), body)
    if not _KEYWORDS.search(masked):
        return Relation.parse(body)
    m = re.fullmatch(r"if\s+(.+?)\s+then\s+(.+)", masked)
    if m:
        cond, then = body[m.start(1) : m.end(1)], body[m.start(2) : m.end(2)]
        return Rule(body, "if", (_parse_relation(cond), _parse_relation(then)))
    for word in ("or", "and"):
        cuts = [mm.span() for mm in re.finditer(rf"\s+{word}\s+", masked)]
        if cuts:
            pieces, last = [], 0
            for a, b in cuts:
                pieces.append(body[last:a])
                last = b
            pieces.append(body[last:])
            if any(not p.strip() for p in pieces):
                raise ConfigError(f"Relation {text!r} has an empty side of {word!r}.")
            return Rule(body, word, tuple(_parse_relation(p) for p in pieces))
    m = re.fullmatch(r"not\s+(.+)", masked)
    if m:
        return _parse_relation(body[m.start(1) :]).negated()
    raise ConfigError(
        f"Relation {text!r}: cannot read it; write 'a <= b', 'A and B', 'A or B', 'not A' or "
        f"'if A then B' with A, B linear relations (no parentheses)."
    )


@dataclass(frozen=True)
class Violation:
    """One broken rule in one row."""

    row: int
    column: str
    rule: str
    value: Any

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}: {self.rule} (value {self.value!r})"


@dataclass
class Schema:
    """The rules a valid row follows.

    Build it with :meth:`infer` from a DataFrame (or a NumPy array with ``columns``), edit it in
    Python (``schema.column("age").immutable = True``, ``schema.add_relation("a <= b")``) or in
    YAML (:meth:`to_yaml`, :meth:`from_yaml`).
    """

    columns: list[Column]
    one_hot: list[list[str]] = field(default_factory=list)
    relations: list[Relation | Rule] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise ConfigError(f"Schema: column {dup!r} is declared twice.")
        for group in self.one_hot:
            for c in group:
                self.column(c)
        for rel in self.relations:
            for c in rel.columns:
                if c not in self.index:
                    raise ConfigError(
                        f"Relation {rel.text!r} names the column {c!r}, which the schema does "
                        f"not have; its columns: {', '.join(names)}."
                    )

    # ----------------------------------------------------------------- access
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def index(self) -> dict[str, int]:
        return {c.name: i for i, c in enumerate(self.columns)}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        import difflib

        close = difflib.get_close_matches(name, self.names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"The schema has no column {name!r}.{hint} Its columns: {', '.join(self.names)}."
        )

    def add_relation(self, text: str) -> Schema:
        rel = parse_relation(text)
        self.relations.append(rel)
        try:
            self.__post_init__()
        except ConfigError:
            self.relations.pop()
            raise
        return self

    def set_immutable(self, *names: str) -> Schema:
        for n in names:
            self.column(n).immutable = True
        return self

    @property
    def mutable(self) -> np.ndarray:
        """Bool mask (D,) of the columns a perturbation or an attack may change."""
        return np.array([not c.immutable for c in self.columns])

    @property
    def numeric(self) -> np.ndarray:
        """Bool mask (D,) of numeric and integer columns that are in no one-hot group."""
        grouped = {c for g in self.one_hot for c in g}
        return np.array([c.kind != "categorical" and c.name not in grouped for c in self.columns])

    @property
    def scales(self) -> np.ndarray:
        return np.array([c.scale if c.scale > 0 else 1.0 for c in self.columns])

    # ----------------------------------------------------------------- inference
    @classmethod
    def infer(
        cls,
        data: Any,
        *,
        columns: Sequence[str] | None = None,
        categorical: Sequence[str] = (),
        one_hot: Sequence[Sequence[str]] = (),
        immutable: Sequence[str] = (),
        relations: Sequence[str] = (),
    ) -> Schema:
        """The schema of ``data`` (a DataFrame, or an array with ``columns``): object, category
        and bool columns are categorical with their observed levels (in an array, columns of
        only 0 and 1 are binary categoricals, whose codes are their values), integer columns integer,
        others numeric; ranges are the observed minimum and maximum, scales the standard
        deviations."""
        frame = _frame(data, columns)
        binary = set()
        if not hasattr(data, "columns"):  # arrays: 0/1 columns are binary categoricals
            binary = {n for n in frame.columns if frame[n].isin((0.0, 1.0)).all()}
        cols = []
        for name in frame.columns:
            s = frame[name]
            if name in binary:
                cols.append(Column(str(name), "categorical", levels=[0.0, 1.0]))
                continue
            kind = _kind_of(s, name in categorical)
            if kind == "categorical":
                levels = sorted(s.dropna().unique().tolist(), key=str)
                cols.append(Column(str(name), kind, levels=levels, scale=1.0))
                continue
            v = s.to_numpy(dtype=np.float64, na_value=np.nan)
            finite = v[np.isfinite(v)]
            if not len(finite):
                raise DataError(f"Column {name!r} holds no finite value; drop it or fill it.")
            scale = float(finite.std()) or 1.0
            cols.append(
                Column(str(name), kind, float(finite.min()), float(finite.max()), scale=scale)
            )
        schema = cls(cols, [list(g) for g in one_hot], [parse_relation(r) for r in relations])
        schema.set_immutable(*immutable)
        return schema

    # ----------------------------------------------------------------- encoding
    def encode(self, data: Any) -> np.ndarray:
        """``data`` (a DataFrame with the schema's columns, or an encoded array) as a float array
        (N, D); a column or a categorical level the schema does not know is refused, naming it."""
        if isinstance(data, np.ndarray) or hasattr(data, "detach"):
            x = np.asarray(data.detach().cpu() if hasattr(data, "detach") else data, np.float64)
            if x.ndim != 2 or x.shape[1] != len(self.columns):
                raise DataError(
                    f"Encoded rows must have shape (N, {len(self.columns)}) for columns "
                    f"{', '.join(self.names)}; got {x.shape}."
                )
            return x
        frame = _frame(data, None)
        unknown = [c for c in frame.columns if str(c) not in self.index]
        if unknown:
            raise DataError(
                f"The data has the column {unknown[0]!r}, which the schema does not know; add it "
                f"to the schema or drop it. Schema columns: {', '.join(self.names)}."
            )
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise DataError(f"The data lacks the schema column {missing[0]!r}.")
        out = np.empty((len(frame), len(self.columns)))
        for j, col in enumerate(self.columns):
            s = frame[col.name]
            if col.kind == "categorical":
                assert col.levels is not None
                code = {v: i for i, v in enumerate(col.levels)}
                vals = s.tolist()
                for i, v in enumerate(vals):
                    if _isna(v):
                        out[i, j] = np.nan
                    elif v in code:
                        out[i, j] = code[v]
                    else:
                        raise DataError(
                            f"Row {i}, column {col.name!r}: the level {v!r} was never seen; "
                            f"known levels: {col.levels}. Add it to the schema's levels."
                        )
            else:
                try:
                    out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError):
                    raise DataError(
                        f"Column {col.name!r} is {col.kind} in the schema but holds non-numbers "
                        f"(first: {s.iloc[0]!r}); declare it categorical."
                    ) from None
        return out

    def decode(self, x: np.ndarray) -> Any:
        """Encoded rows back as a DataFrame with the original categorical levels."""
        import pandas as pd

        x = np.asarray(x, dtype=np.float64)
        data: dict[str, Any] = {}
        for j, col in enumerate(self.columns):
            v = x[:, j]
            if col.kind == "categorical":
                assert col.levels is not None
                codes = np.clip(np.nan_to_num(v, nan=-1).round().astype(int), -1, None)
                data[col.name] = pd.Series(
                    [col.levels[c] if 0 <= c < len(col.levels) else None for c in codes],
                    dtype=object,
                )
            elif col.kind == "integer" and not np.isnan(v).any():
                data[col.name] = v.round().astype(np.int64)
            else:
                data[col.name] = v
        return pd.DataFrame(data)

    # ----------------------------------------------------------------- checking
    def check(self, data: Any, *, original: Any = None) -> list[Violation]:
        """Every violated rule, row by row: out of range, non-integer, unknown level, a one-hot
        group without exactly one 1, a changed immutable cell (with ``original``), a relation."""
        x = self.encode(data)
        orig = None if original is None else self.encode(original)
        out: list[Violation] = []
        for j, col in enumerate(self.columns):
            v = x[:, j]
            finite = ~np.isnan(v)
            if col.kind == "categorical":
                assert col.levels is not None
                bad = finite & ((v != v.round()) | (v < 0) | (v >= len(col.levels)))
                out += [
                    Violation(int(i), col.name, "unknown level", v[i]) for i in np.flatnonzero(bad)
                ]
            else:
                if col.low is not None:
                    for i in np.flatnonzero(finite & (v < col.low - 1e-9)):
                        out.append(Violation(int(i), col.name, f"below {col.low:g}", v[i]))
                if col.high is not None:
                    for i in np.flatnonzero(finite & (v > col.high + 1e-9)):
                        out.append(Violation(int(i), col.name, f"above {col.high:g}", v[i]))
                if col.kind == "integer":
                    for i in np.flatnonzero(finite & (np.abs(v - v.round()) > 1e-9)):
                        out.append(Violation(int(i), col.name, "not an integer", v[i]))
            if orig is not None and col.immutable:
                diff = ~((x[:, j] == orig[:, j]) | (np.isnan(x[:, j]) & np.isnan(orig[:, j])))
                for i in np.flatnonzero(diff):
                    out.append(Violation(int(i), col.name, "immutable column changed", v[i]))
        idx = self.index
        for group in self.one_hot:
            block = x[:, [idx[c] for c in group]]
            ok = (np.isin(block, (0.0, 1.0)).all(axis=1)) & (block.sum(axis=1) == 1)
            for i in np.flatnonzero(~ok):
                out.append(Violation(int(i), "+".join(group), "one-hot group", block[i].tolist()))
        for rel in self.relations:
            for i in np.flatnonzero(~rel.holds(x, idx)):
                out.append(Violation(int(i), ",".join(rel.columns), rel.text, None))
        return sorted(out, key=lambda v: v.row)

    def valid(self, data: Any, *, original: Any = None) -> np.ndarray:
        """Bool mask (N,): rows breaking no rule."""
        x = self.encode(data)
        ok = np.ones(len(x), dtype=bool)
        for v in self.check(x, original=original):
            ok[v.row] = False
        return ok

    def validate(self, data: Any, what: str = "the data") -> None:
        """Refuse data that contradicts the schema, naming its first violations."""
        found = self.check(data)
        if found:
            first = "; ".join(str(v) for v in found[:3])
            rows = len({v.row for v in found})
            raise DataError(
                f"The schema is contradicted by {what} itself in {rows} row(s): {first}. Fix the "
                f"schema (ranges, levels, relations) or the data."
            )

    # ----------------------------------------------------------------- repair
    def repair(self, data: Any, *, original: Any = None, passes: int = 5) -> np.ndarray:
        """The nearest rows (per rule) that follow the schema: immutable cells restored from
        ``original``, values clipped to ranges, integers rounded, levels snapped, one-hot groups
        set to their largest entry, and violated relations projected away along their mutable
        columns. Missing cells (NaN) are left missing. Returns encoded rows."""
        x = self.encode(data).copy()
        orig = None if original is None else self.encode(original)
        idx = self.index
        for _ in range(passes):
            self._repair_cells(x, orig)
            moved = False
            mutable = self.mutable
            for rel in self.relations:
                moved |= rel.project(x, idx, mutable)
            if not moved:
                break
        self._repair_cells(x, orig)
        return x

    def _repair_cells(self, x: np.ndarray, orig: np.ndarray | None) -> None:
        idx = self.index
        for j, col in enumerate(self.columns):
            if orig is not None and col.immutable:
                x[:, j] = orig[:, j]
                continue
            if col.kind == "categorical":
                assert col.levels is not None
                x[:, j] = np.clip(np.round(x[:, j]), 0, len(col.levels) - 1)
                continue
            if col.kind == "integer":
                x[:, j] = np.round(x[:, j])
            lo = -np.inf if col.low is None else col.low
            hi = np.inf if col.high is None else col.high
            x[:, j] = np.clip(x[:, j], lo, hi)
        for group in self.one_hot:
            js = [idx[c] for c in group]
            block = np.nan_to_num(x[:, js], nan=-np.inf)
            hot = block.argmax(axis=1)
            x[:, js] = 0.0
            x[np.arange(len(x)), np.asarray(js)[hot]] = 1.0

    # ----------------------------------------------------------------- YAML
    def to_dict(self) -> dict[str, Any]:
        cols = []
        for c in self.columns:
            d = {k: v for k, v in dataclasses.asdict(c).items() if v is not None}
            if not c.immutable:
                d.pop("immutable")
            cols.append(d)
        return {
            "columns": cols,
            "one_hot": [list(g) for g in self.one_hot],
            "relations": [r.text for r in self.relations],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Schema:
        if not isinstance(d, Mapping) or "columns" not in d:
            raise ConfigError("A schema needs a 'columns' list of {name, kind, ...} entries.")
        fields = {f.name for f in dataclasses.fields(Column)}
        cols = []
        for entry in d["columns"]:
            extra = set(entry) - fields
            if extra:
                raise ConfigError(
                    f"Schema column {entry.get('name')!r} has unknown keys {sorted(extra)}; "
                    f"allowed: {sorted(fields)}."
                )
            cols.append(Column(**entry))
        return cls(
            cols,
            [list(g) for g in d.get("one_hot") or []],
            [parse_relation(r) for r in d.get("relations") or []],
        )

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> Schema:
        from robustlab._yaml import load_yaml

        return cls.from_dict(load_yaml(text, "schema"))


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _kind_of(s: Any, forced: bool) -> str:
    import pandas as pd

    if forced or s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_string_dtype(s):
        return "categorical"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    return "numeric"


def _frame(data: Any, columns: Sequence[str] | None) -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - the tabular extra
        raise ConfigError("Tabular data needs pandas: pip install 'robustlab[tabular]'.") from None
    if isinstance(data, pd.DataFrame):
        return data
    x = np.asarray(data)
    if x.ndim != 2:
        raise DataError(f"Tabular data must be 2-D (rows, columns); got shape {x.shape}.")
    names = list(columns) if columns is not None else [f"x{i}" for i in range(x.shape[1])]
    if len(names) != x.shape[1]:
        raise DataError(f"{len(names)} column names for {x.shape[1]} columns.")
    return pd.DataFrame(x, columns=names)
