"""Schema 3: a unit's records are one compressed block instead of one row per example, and every
unit's info names its robustness axis.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Records become task-generic (a core plus the fields of the records' task), so they no longer fit
fixed columns: ``record_blocks`` holds one row per unit with its task, its number of records and
the records' columns as zlib-compressed JSON (encoding ``json-zlib-1``, read by
``robustlab.store._blocks``). The upgrade moves every ``records`` row into its unit's block,
value for value, then drops ``records``; it also adds ``info["axis"]`` to every unit from its
probe kind (the axis the report and leaderboard group it under). The downgrade reverses both
for classification records (the only task schema 2 can hold).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ENCODING = "json-zlib-1"

#: The columns of schema 2's records table and their types, in its order.
COLUMNS = {
    "example_id": "str",
    "target": "int",
    "prediction": "int",
    "correct": "bool",
    "confidence": "float",
    "loss": "float",
    "brier": "float",
    "perturbation": "float",
    "value": "float",
    "reference": "int",
    "group": "str",
    "domain": "str",
    "queries": "int",
    "similarity": "float",
}

#: The axis of each probe kind of the schema-2 releases.
AXES = {
    "clean": "clean",
    "corruption": "corruptions",
    "attack": "adversarial",
    "minimal": "adversarial",
    "ensemble": "adversarial",
    "sequence": "stability",
    "text_transformation": "text perturbations",
    "text_attack": "text attacks",
    "checklist": "behaviour",
}

_SQL_TYPES: dict[str, Any] = {
    "str": sa.String(512),
    "int": sa.Integer,
    "float": sa.Float,
    "bool": sa.Boolean,
}

records = sa.table(
    "records",
    sa.column("unit_id", sa.Integer),
    sa.column("position", sa.Integer),
    *(sa.column(c, _SQL_TYPES[k]) for c, k in COLUMNS.items()),
)
blocks = sa.table(
    "record_blocks",
    sa.column("unit_id", sa.Integer),
    sa.column("task", sa.String(64)),
    sa.column("n", sa.Integer),
    sa.column("encoding", sa.String(32)),
    sa.column("data", sa.LargeBinary),
)
units = sa.table("units", sa.column("id", sa.Integer), sa.column("info", sa.JSON))

_CAST = {"str": str, "int": int, "float": float, "bool": bool}


def _plain(v: Any, kind: str) -> Any:
    if v is None or (kind == "float" and v != v):  # NULL, or a NaN a driver read back
        return None
    return _CAST[kind](v)


def _set_schema_version(version: int) -> None:
    op.execute(
        sa.text("UPDATE robustlab_info SET value = :v WHERE key = 'schema_version'").bindparams(
            v=str(version)
        )
    )


def _create_blocks() -> None:
    op.create_table(
        "record_blocks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "unit_id",
            sa.Integer,
            sa.ForeignKey("units.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("encoding", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def _create_records() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("example_id", sa.String(512), nullable=False),
        sa.Column("target", sa.Integer, nullable=False),
        sa.Column("prediction", sa.Integer, nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("loss", sa.Float, nullable=False),
        sa.Column("brier", sa.Float, nullable=False),
        sa.Column("perturbation", sa.Float, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("reference", sa.Integer, nullable=True),
        sa.Column("group", sa.String(256), nullable=True),
        sa.Column("domain", sa.String(256), nullable=True),
        sa.Column("queries", sa.Integer, nullable=True),
        sa.Column("similarity", sa.Float, nullable=True),
    )
    op.create_index("ix_records_unit", "records", ["unit_id", "position"])


def _unit_ids(conn: sa.Connection, table: Any) -> list[int]:
    return [int(u) for u in conn.execute(sa.select(table.c.unit_id).distinct()).scalars()]


def upgrade() -> None:
    conn = op.get_bind()
    _create_blocks()
    names = list(COLUMNS)
    for unit_id in sorted(_unit_ids(conn, records)):
        rows = conn.execute(
            sa.select(*(records.c[c] for c in names))
            .where(records.c.unit_id == unit_id)
            .order_by(records.c.position)
        ).all()
        columns = {c: [_plain(r[i], COLUMNS[c]) for r in rows] for i, c in enumerate(names)}
        body = {"task": "classification", "n": len(rows), "types": COLUMNS, "columns": columns}
        conn.execute(
            blocks.insert().values(
                unit_id=unit_id,
                task="classification",
                n=len(rows),
                encoding=ENCODING,
                data=zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6),
            )
        )
    op.drop_index("ix_records_unit", table_name="records")
    op.drop_table("records")
    for unit_id, info in conn.execute(sa.select(units.c.id, units.c.info)).all():
        axis = AXES.get(str((info or {}).get("kind")))
        if axis is not None and "axis" not in info:
            conn.execute(
                units.update().where(units.c.id == unit_id).values(info={**info, "axis": axis})
            )
    _set_schema_version(3)


def downgrade() -> None:
    conn = op.get_bind()
    _create_records()
    stored = conn.execute(
        sa.select(blocks.c.unit_id, blocks.c.task, blocks.c.encoding, blocks.c.data).order_by(
            blocks.c.unit_id
        )
    ).all()
    for unit_id, task, encoding, data in stored:
        if task != "classification" or encoding != ENCODING:
            raise RuntimeError(
                f"Unit {unit_id} holds {task} records ({encoding}); schema 2 holds classification "
                "records only, so this store cannot be downgraded without losing them."
            )
        columns = json.loads(zlib.decompress(data))["columns"]
        n = len(columns["example_id"])
        if n:
            conn.execute(
                records.insert(),
                [
                    {
                        "unit_id": unit_id,
                        "position": i,
                        **{c: columns.get(c, [None] * n)[i] for c in COLUMNS},
                    }
                    for i in range(n)
                ],
            )
    op.drop_table("record_blocks")
    for unit_id, info in conn.execute(sa.select(units.c.id, units.c.info)).all():
        if isinstance(info, dict) and "axis" in info:
            rest = {k: v for k, v in info.items() if k != "axis"}
            conn.execute(units.update().where(units.c.id == unit_id).values(info=rest))
    _set_schema_version(2)
