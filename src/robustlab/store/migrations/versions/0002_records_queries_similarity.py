"""Schema 2: records carry the queries a black-box attack spent and the perturbed input's
similarity to the original.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _set_schema_version(version: int) -> None:
    op.execute(
        sa.text("UPDATE robustlab_info SET value = :v WHERE key = 'schema_version'").bindparams(
            v=str(version)
        )
    )


def upgrade() -> None:
    # batch mode: SQLite adds the columns with ALTER TABLE, without copying the records
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("queries", sa.Integer, nullable=True))
        batch.add_column(sa.Column("similarity", sa.Float, nullable=True))
    _set_schema_version(2)


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("similarity")
        batch.drop_column("queries")
    _set_schema_version(1)
