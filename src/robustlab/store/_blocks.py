"""The encoding of a unit's records in the store: one zlib-compressed JSON block per unit.

A block holds every column of the records (the core, the task's fields and ``broken`` where it
was set) as lists of plain values, None where not measured, with each column's type, so a task
can add fields without a schema migration. Floats keep their exact value (JSON writes the
shortest repr that reads back to the same float; infinities as ``Infinity``).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np

from robustlab.errors import StoreError
from robustlab.records import CORE_COLUMNS, Records

__all__ = ["ENCODING", "concat_blocks", "decode_block", "encode_block"]

#: ``record_blocks.encoding`` of the blocks written by this release.
ENCODING = "json-zlib-1"


def block_payload(task: str, columns: dict[str, list[Any]], types: dict[str, str]) -> bytes:
    """Encode columns of plain values (see :meth:`Records.columns`) of one task's records."""
    n = len(columns.get("example_id", []))
    body = {"task": task, "n": n, "types": types, "columns": columns}
    return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)


def encode_block(records: Records) -> bytes:
    """The ``data`` of a record block holding ``records``."""
    columns = records.columns()
    return block_payload(records.task, columns, {c: records.column_type(c) for c in columns})


def block_columns(data: bytes, encoding: str) -> tuple[str, dict[str, list[Any]]]:
    """The task and the columns of plain values of a stored block."""
    if encoding != ENCODING:
        raise StoreError(
            f"A record block is encoded as {encoding!r}, which this RobustLab does not read (it "
            f"reads {ENCODING!r}); upgrade with pip install -U robustlab."
        )
    body = json.loads(zlib.decompress(data))
    return str(body["task"]), body["columns"]


def decode_block(data: bytes, encoding: str) -> Records:
    """The records of a stored block."""
    task, columns = block_columns(data, encoding)
    return Records.from_columns(columns, task=task)


def concat_blocks(parts: list[Records]) -> Records:
    """``Records.concat(parts)`` for records decoded from a probe's blocks, releasing each
    column of the parts as soon as it is joined: the peak is the records once plus one column,
    not twice the records (issue 20). The parts are unusable afterwards."""
    if len(parts) == 1:
        return parts[0]
    if len({p.task for p in parts}) > 1:
        return Records.concat(parts)  # its error names the tasks
    first = parts[0]
    explicit = any(p._broken is not None for p in parts)
    # before the fields go: a part's derived ``broken`` reads them
    broken = np.concatenate([p.broken for p in parts]) if explicit else None
    core: dict[str, np.ndarray] = {}
    for c in CORE_COLUMNS:
        core[c] = np.concatenate([getattr(p, c) for p in parts])
        for p in parts:
            object.__setattr__(p, c, None)
    fields: dict[str, np.ndarray] = {}
    for f in list(first.fields):
        fields[f] = np.concatenate([p.fields[f] for p in parts])
        for p in parts:
            p.fields[f] = None  # type: ignore[assignment]
    out = first._like(core, fields, broken)
    out.warnings = [w for p in parts for w in p.warnings]
    out.artifacts = [a for p in parts for a in p.artifacts]
    return out
