"""Labelled texts from CSV, TSV and JSON Lines files."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from robustlab.data.arrays import MAX_CHARS, TextDataset
from robustlab.errors import DataError

__all__ = ["TABLE_SUFFIXES", "load_text_table"]

TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson")

TEXT_COLUMNS = ("text", "sentence", "review", "content", "document", "input", "inputs")
LABEL_COLUMNS = ("label", "labels", "target", "targets", "y", "class")
ID_COLUMNS = ("id", "example_id", "ids")


def _read_rows(p: Path) -> list[dict[str, Any]]:
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8."
        ) from None
    if p.suffix in (".jsonl", ".ndjson"):
        rows = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{str(p)!r} line {number} is not valid JSON: {exc.msg}.") from None
            if not isinstance(row, dict):
                raise DataError(
                    f"{str(p)!r} line {number} must be a JSON object like "
                    f'{{"text": "...", "label": 1}}; got a {type(row).__name__}.'
                )
            rows.append(row)
        return rows
    delimiter = "," if p.suffix == ".csv" else "\t"
    reader = csv.DictReader(raw.splitlines(), delimiter=delimiter)
    rows = []
    for number, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise DataError(
                f"{str(p)!r} line {number} has {'more' if None in row else 'fewer'} fields than "
                f"the header ({', '.join(reader.fieldnames or [])}); quote texts that contain "
                f"the {'comma' if delimiter == ',' else 'tab'} separator."
            )
        rows.append(dict(row))
    return rows


def _column(
    rows: list[dict[str, Any]],
    given: str | None,
    choices: Sequence[str],
    what: str,
    p: Path,
    option: str,
) -> str | None:
    columns = list(rows[0])
    if given is not None:
        if given not in columns:
            raise DataError(
                f"{str(p)!r} has no {what} column {given!r}; its columns: {', '.join(columns)}."
            )
        return given
    found = next((c for c in choices if c in columns), None)
    if found is None and what != "id":
        raise DataError(
            f"{str(p)!r} needs a {what} column named one of {list(choices)} (or pass "
            f"{option}=...); its columns: {', '.join(columns)}."
        )
    return found


def _labels(
    values: list[Any], p: Path, column: str, class_names: Sequence[str] | None = None
) -> tuple[list[int], list[str] | None]:
    """Integer labels as they are; other labels by their place in ``class_names`` when given,
    else numbered in sorted order and named."""
    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and not v.strip()):
            raise DataError(f"{str(p)!r}: row {i + 1} has no {column!r}; label every row.")
        if isinstance(v, float) and not math.isfinite(v):
            raise DataError(
                f"{str(p)!r}: row {i + 1} has the label {v!r} in {column!r} (JSON NaN or "
                f"Infinity), which is no class; give it its class or drop the row."
            )
    if class_names is not None:
        return _named_labels(values, p, column, list(class_names)), list(class_names)
    as_int = []
    for v in values:
        if isinstance(v, bool):
            break
        if isinstance(v, int):
            as_int.append(v)
        elif isinstance(v, float) and v.is_integer():
            as_int.append(int(v))
        elif isinstance(v, str) and v.strip().lstrip("-").isdigit():
            as_int.append(int(v.strip()))
        else:
            break
    if len(as_int) == len(values):
        return as_int, None
    names = sorted({str(v).strip() for v in values})
    code = {n: i for i, n in enumerate(names)}
    return [code[str(v).strip()] for v in values], names


def _named_labels(values: list[Any], p: Path, column: str, names: list[str]) -> list[int]:
    """Each label's index in ``names``; integer labels must be indices into it already."""
    if len(set(names)) != len(names) or len(names) < 2:
        raise DataError(
            f"The 'class_names' parameter of load_text_table() must name two or more distinct "
            f"classes in the model's class order. Got {names!r} instead."
        )
    code = {n: i for i, n in enumerate(names)}
    out = []
    for i, v in enumerate(values):
        key = str(v).strip()
        if key in code:
            out.append(code[key])
        elif key.lstrip("-").isdigit() and not isinstance(v, bool) and 0 <= int(key) < len(names):
            out.append(int(key))
        else:
            raise DataError(
                f"{str(p)!r}: row {i + 1} has the label {v!r} in {column!r}, which is none of "
                f"the class names {names}; add it to class_names (--class-names) in the "
                f"model's class order."
            )
    return out


def load_text_table(
    path: str | Path,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
    name: str | None = None,
    max_chars: int | None = MAX_CHARS,
    class_names: Sequence[str] | None = None,
) -> TextDataset:
    """Read labelled texts from a ``.csv``, ``.tsv`` (or ``.tab``) or ``.jsonl`` file.

    The text column is the first of ``text``, ``sentence``, ``review``, ``content``, ...; the
    label column the first of ``label``, ``target``, ``y``, ...; an ``id`` column gives example
    ids. Integer labels are used as class indices; other labels (``"negative"``,
    ``"positive"``) are numbered by ``class_names`` (the model's class order) when given, else
    in sorted order, and become the class names. A missing, empty or NaN label is refused.
    Every other column
    is kept as per-example metadata (``group`` and ``domain`` feed the subgroup and shift
    metrics).

    Args:
        path: The file (UTF-8).
        text_column: Name of the text column, if not one of the usual names.
        label_column: Name of the label column, if not one of the usual names.
        id_column: Name of the id column (default ``id`` if present, else row positions).
        name: Dataset name (the file's stem by default).
        max_chars: Longest text accepted (see :class:`~robustlab.data.TextDataset`).
        class_names: The class names in the model's class order (class 0 first): each label
            becomes its index here; without it, names are numbered in sorted order, which is
            right only if the model was trained with the same numbering.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"Data file {str(p)!r} does not exist; check the --data path.")
    if p.suffix not in TABLE_SUFFIXES:
        raise DataError(
            f"{str(p)!r}: text tables must be {', '.join(TABLE_SUFFIXES)} files; got {p.suffix!r}."
        )
    rows = _read_rows(p)
    if not rows:
        raise DataError(f"{str(p)!r} holds no rows; add at least one labelled text.")
    tcol = _column(rows, text_column, TEXT_COLUMNS, "text", p, "text_column")
    lcol = _column(rows, label_column, LABEL_COLUMNS, "label", p, "label_column")
    icol = _column(rows, id_column, ID_COLUMNS, "id", p, "id_column")
    assert tcol is not None and lcol is not None
    texts = [r.get(tcol) for r in rows]
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise DataError(
            f"{str(p)!r}: row {bad + 1} has no text in column {tcol!r} (got {texts[bad]!r}); "
            f"every row needs a text."
        )
    labels, names = _labels([r.get(lcol) for r in rows], p, lcol, class_names)
    used = {tcol, lcol, icol}
    meta = {key: [r.get(key) for r in rows] for key in rows[0] if key not in used}
    return TextDataset(
        [str(t) for t in texts],
        labels,
        ids=[str(r.get(icol)) for r in rows] if icol else None,
        meta=meta,
        class_names=names,
        name=name or p.stem,
        max_chars=max_chars,
    )
