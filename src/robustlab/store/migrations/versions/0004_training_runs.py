"""Schema 4: training runs, their monitor logs and their checkpoint scans.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Adds ``training_runs`` (one row per training run: recipe, spec, per-epoch history, detected
events) and ``training_steps`` (the monitor's measured steps, kind ``step``, and the scans of
checkpoints, kind ``checkpoint`` with the scan's run id). Purely additive: the downgrade drops
both tables and nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _set_schema_version(version: int) -> None:
    op.execute(
        sa.text("UPDATE robustlab_info SET value = :v WHERE key = 'schema_version'").bindparams(
            v=str(version)
        )
    )


def upgrade() -> None:
    op.create_table(
        "training_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("recipe", sa.String(128), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("history", sa.JSON, nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("elapsed_s", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "training_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "training_run_id",
            sa.String(32),
            sa.ForeignKey("training_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("epoch", sa.Integer, nullable=True),
        sa.Column("scan_run_id", sa.String(32), nullable=True),
        sa.Column("values", sa.JSON, nullable=False),
        sa.UniqueConstraint("training_run_id", "kind", "step", name="uq_training_step"),
    )
    _set_schema_version(4)


def downgrade() -> None:
    op.drop_table("training_steps")
    op.drop_table("training_runs")
    _set_schema_version(3)
