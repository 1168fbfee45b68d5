"""Schema 5: the generation cache of language models.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

Adds ``generations``: one row per (model fingerprint, prompt, decoding parameters) with the
completions (text, log-probability, finish reason) as JSON, so a re-run or a resumed LLM scan
never asks the model twice (:class:`robustlab.llm.cache.CachedLLM`). Purely additive: the
downgrade drops the table and nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
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
        "generations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_fingerprint", sa.String(64), nullable=False),
        sa.Column("prompt_hash", sa.String(64), nullable=False),
        sa.Column("decoding_hash", sa.String(64), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("decoding", sa.Text, nullable=False),
        sa.Column("completions", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "model_fingerprint", "prompt_hash", "decoding_hash", name="uq_generation"
        ),
    )
    _set_schema_version(5)


def downgrade() -> None:
    op.drop_table("generations")
    _set_schema_version(4)
