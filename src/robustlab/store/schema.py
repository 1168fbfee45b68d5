"""Tables of the results store; only records and metrics cross into it, never tensors."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "SCHEMA_VERSION",
    "artifacts",
    "datasets",
    "generations",
    "info",
    "metadata",
    "metrics",
    "models",
    "record_blocks",
    "runs",
    "training_runs",
    "training_steps",
    "units",
]

#: Bumped with every schema change; a store written with a higher number is refused.
SCHEMA_VERSION = 5

metadata = MetaData()

info = Table(
    "robustlab_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("adapter", String(64), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("size", Integer, nullable=False),
    Column("spec", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("run_key", String(64), nullable=False, index=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("suite_name", String(128), nullable=False),
    Column("suite_version", Integer, nullable=False),
    Column("suite_spec", JSON, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("shard_size", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("environment", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

units = Table(
    "units",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("probe_key", String(512), nullable=False),
    Column("probe_spec", JSON, nullable=False),
    Column("shard", Integer, nullable=False),
    Column("start", Integer, nullable=False),
    Column("stop", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("info", JSON, nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", "probe_key", "shard", name="uq_unit"),
)

#: Schema 3: one block of records per unit instead of one row per example, so a task's fields
#: need no column of their own (see ``_blocks.py`` for the encoding of ``data``).
record_blocks = Table(
    "record_blocks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "unit_id",
        Integer,
        ForeignKey("units.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("task", String(64), nullable=False),
    Column("n", Integer, nullable=False),
    Column("encoding", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("probe_key", String(512), nullable=False),
    Column("metric", String(128), nullable=False),
    Column("value", Float, nullable=False),
    Column("ci_low", Float, nullable=False),
    Column("ci_high", Float, nullable=False),
    Column("n", Integer, nullable=False),
    Column("method", String(64), nullable=False),
    Column("higher_is_better", Boolean, nullable=False),
    Column("details", JSON, nullable=True),
    UniqueConstraint("run_id", "probe_key", "metric", name="uq_metric"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("unit_id", Integer, ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("meta", JSON, nullable=False),
)

#: Training runs (schema 4): one row per :func:`robustlab.training.fit` run stored with
#: :func:`robustlab.store.training.save_training_run`.
training_runs = Table(
    "training_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("recipe", String(128), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("history", JSON, nullable=False),
    Column("events", JSON, nullable=False),
    Column("elapsed_s", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: The monitor's log (kind ``step``) and the checkpoint scans (kind ``checkpoint``, with the
#: scan's run id) of a training run, one row per measured step.
training_steps = Table(
    "training_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "training_run_id",
        String(32),
        ForeignKey("training_runs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(16), nullable=False),
    Column("step", Integer, nullable=False),
    Column("epoch", Integer, nullable=True),
    Column("scan_run_id", String(32), nullable=True),
    Column("values", JSON, nullable=False),
    UniqueConstraint("training_run_id", "kind", "step", name="uq_training_step"),
)

#: Generation cache (schema 5): one row per (model fingerprint, prompt, decoding parameters),
#: holding the completions as JSON (``[{"text", "logprob", "finish_reason"}]``); written and read
#: by :class:`robustlab.llm.cache.CachedLLM`. Prompts and decodings are matched by their SHA-256.
generations = Table(
    "generations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_fingerprint", String(64), nullable=False),
    Column("prompt_hash", String(64), nullable=False),
    Column("decoding_hash", String(64), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("decoding", Text, nullable=False),
    Column("completions", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("model_fingerprint", "prompt_hash", "decoding_hash", name="uq_generation"),
)
