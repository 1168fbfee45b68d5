"""Exports of stored runs: CSV, a Markdown summary, a JSON document that imports into another
store, and MLflow logging.

The JSON export is the report document of :func:`robustlab.report.collect` (schema
``robustlab.report``) with, under each run, a ``stored`` section holding what the store needs to
rebuild the run exactly: its key and suite, the model and dataset specs, and every unit with its
records and artifacts. :func:`import_document` loads such a file into another store, where
exporting the same runs again gives the same document (apart from ``generated_at`` and
``store``; the effective-robustness fit, which draws on every run of the store on the same data,
matches when the export held all of those runs).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from robustlab.analysis.axes import MCE_AXIS, SUMMARY_KEY, measures_size, scorecard
from robustlab.errors import ConfigError, RobustLabError, StoreError
from robustlab.records import CORE_COLUMNS, Records
from robustlab.report.data import REPORT_SCHEMA_VERSION, collect
from robustlab.store import Store, open_store
from robustlab.store import schema as t
from robustlab.store.store import insert_records
from robustlab.tasks import TASKS

__all__ = [
    "EXPORT_FORMATS",
    "csv_text",
    "export_document",
    "import_document",
    "log_to_mlflow",
    "markdown_summary",
    "markdown_text",
    "metrics_csv",
    "read_export",
    "require_mlflow",
    "write_export",
]

#: ``robustlab export --format`` choices, with the file suffixes that imply them.
EXPORT_FORMATS = {"json": (".json",), "csv": (".csv",), "md": (".md", ".markdown")}

#: Columns of the CSV export, one row per run x probe x metric.
CSV_COLUMNS = (
    "run_id",
    "model",
    "dataset",
    "suite",
    "suite_version",
    "probe_key",
    "label",
    "kind",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "method",
    "higher_is_better",
)


# -- text helpers shared with the leaderboard --------------------------------------------------


# OWASP's list of characters that make a spreadsheet read a cell as a formula
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> Any:
    """A cell for a CSV file: text that a spreadsheet would run as a formula gets a leading
    apostrophe (``=``, ``+``, ``-``, ``@``, Tab, carriage return); numbers pass unchanged."""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


_MD_ESCAPES = str.maketrans(
    {
        "|": "\\|",
        "\\": "\\\\",
        "`": "\\`",
        "*": "\\*",
        "[": "\\[",
        "]": "\\]",
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "\n": " ",
        "\r": " ",
    }
)


def markdown_text(value: Any) -> str:
    """Text safe in a Markdown table cell: no table breaks, links, code spans or raw HTML."""
    return str(value).translate(_MD_ESCAPES)


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{float(value):.{digits}f}"


def _interval(row: Mapping[str, Any]) -> str:
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "–"
    return f"[{lo:.4f}, {hi:.4f}]"


# -- JSON: export and import -------------------------------------------------------------------


def _iso_full(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


#: Attack metrics shown in their own table (computed per attack probe).
ATTACK_METRICS = (
    "attack_success_rate",
    "queries_per_success",
    "words_perturbed",
    "adversarial_similarity",
    "consistency",
)


def _markdown_paired(run: Mapping[str, Any]) -> list[str]:
    """The paired drops (clean vs perturbed on the same examples) as a Markdown table."""
    md = markdown_text
    rows = run.get("paired_drops") or []
    if not rows:
        return []
    out = [
        "",
        "### Paired drops (same examples as clean)",
        "",
        "| probe | n | clean | perturbed | drop | 95% CI | drop rate | changed-only acc. (n) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in rows:
        ci = {"ci_low": d["drop_ci_low"], "ci_high": d["drop_ci_high"]}
        changed = _num(d.get("changed_accuracy")) if d.get("changed_accuracy") is not None else "–"
        out.append(
            f"| {md(d.get('label') or d['probe_key'])} | {d['n']} | {_num(d['clean_accuracy'])} | "
            f"{_num(d['perturbed_accuracy'])} | {_num(d['drop'])} | {_interval(ci)} | "
            f"{_num(d['drop_rate']) if d.get('drop_rate') is not None else '–'} | "
            f"{changed} ({d.get('changed_n', '?')}) |"
        )
    return out


def _markdown_attack(run: Mapping[str, Any]) -> list[str]:
    """Attack success rate, queries per success, words perturbed, similarity and consistency."""
    md = markdown_text
    rows = [m for m in run["metrics"] if m["metric"] in ATTACK_METRICS]
    if not rows:
        return []
    out = ["", "### Attack metrics", "", "| probe | metric | value | 95% CI | n |"]
    out.append("|---|---|---:|---:|---:|")
    for m in rows:
        out.append(
            f"| {md(m.get('label', m['probe_key']))} | {md(m['metric'])} | {_num(m['value'])} | "
            f"{_interval(m)} | {m['n']} |"
        )
    return out


def _stored(db: Store, run_id: str) -> dict[str, Any]:
    run = db.run(run_id)
    units = []
    with db.engine.connect() as conn:
        for u in db.units(run["id"]):
            recs = db.unit_records(u["id"])
            arts = conn.execute(
                select(
                    t.artifacts.c.name,
                    t.artifacts.c.media_type,
                    t.artifacts.c.data,
                    t.artifacts.c.meta,
                )
                .where(t.artifacts.c.unit_id == u["id"])
                .order_by(t.artifacts.c.id)
            ).all()
            units.append(
                {
                    **{k: u[k] for k in ("probe_key", "probe_spec", "shard", "start", "stop")},
                    **{k: u[k] for k in ("status", "seconds", "info")},
                    "finished_at": _iso_full(u["finished_at"]),
                    # the task only where it is not classification: exports as before
                    **({"task": recs.task} if recs and recs.task != "classification" else {}),
                    "records": recs.columns() if recs else None,
                    "artifacts": [dict(a._mapping) for a in arts],
                }
            )
    return {
        "run_key": run["run_key"],
        "suite_spec": run["suite_spec"],
        "model_spec": run["model_spec"],
        "dataset_spec": run["dataset_spec"],
        "created_at": _iso_full(run["created_at"]),
        "updated_at": _iso_full(run["updated_at"]),
        "units": units,
    }


def export_document(store: str | Store | None, run_ids: Sequence[str]) -> dict[str, Any]:
    """The JSON export of ``run_ids``: the report document plus each run's ``stored`` section
    (units, records, artifacts), enough for :func:`import_document` to rebuild the runs."""
    db = open_store(store, create=False)
    ids = [db.resolve_run(r) for r in run_ids]
    if not ids:
        raise ConfigError("Name at least one run to export; `robustlab runs` lists them.")
    doc = collect(db, ids)
    for run in doc["runs"]:
        run["stored"] = _stored(db, run["id"])
    return doc


def read_export(path: str | Path) -> dict[str, Any]:
    """Read and check a JSON export: a report document of a schema version this RobustLab reads,
    whose runs carry their ``stored`` section."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Export file {str(p)!r} does not exist; check the path.")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{str(p)!r} is not a JSON file ({exc}).") from None
    check_export(doc, str(p))
    return doc


def check_export(doc: Any, where: str = "the document") -> None:
    """Raise a :class:`ConfigError` naming the problem unless ``doc`` is an importable export."""
    how = "write one with `robustlab export RUN_ID --format json --out FILE.json`"
    if not isinstance(doc, dict) or doc.get("schema") != "robustlab.report":
        schema = doc.get("schema") if isinstance(doc, dict) else None
        what = "a leaderboard" if schema == "robustlab.leaderboard" else f"schema {schema!r}"
        raise ConfigError(
            f"{where} is not a RobustLab run export ({what}; expected schema "
            f"'robustlab.report'); {how}."
        )
    version = doc.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise ConfigError(f"{where} has no valid schema_version (got {version!r}); {how}.")
    if version > REPORT_SCHEMA_VERSION:
        raise ConfigError(
            f"{where} was written by a newer RobustLab (report schema {version}; this version "
            f"reads up to {REPORT_SCHEMA_VERSION}); upgrade with pip install -U robustlab."
        )
    runs = doc.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ConfigError(f"{where} holds no runs; {how}.")
    for run in runs:
        if not isinstance(run, dict) or not isinstance(run.get("stored"), dict):
            rid = run.get("id") if isinstance(run, dict) else None
            raise ConfigError(
                f"Run {rid!r} in {where} has no stored units and records (the report's "
                f"results.json leaves them out); export it with `robustlab export {rid} "
                "--format json --out FILE.json`."
            )
        unknown = set()
        for unit in run["stored"].get("units", []):
            task = unit.get("task", "classification")
            if task not in TASKS:
                unknown.add(f"records of task {task!r}")
                continue
            known = {*CORE_COLUMNS, *TASKS.get(task).fields, "broken"}
            unknown |= set(unit.get("records") or {}) - known
        if unknown:
            raise ConfigError(
                f"Run {run.get('id')!r} in {where} has record columns this RobustLab does not "
                f"know ({', '.join(sorted(unknown))}); upgrade with pip install -U robustlab."
            )


def _when(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ConfigError(f"Expected an ISO 8601 time in the export. Got {value!r} instead.")
    return dt.datetime.fromisoformat(value)


def _row_id(conn: Any, table: Any, fingerprint: str, values: Mapping[str, Any]) -> int:
    found = conn.execute(select(table.c.id).where(table.c.fingerprint == fingerprint)).first()
    if found is not None:
        return int(found[0])
    now = dt.datetime.now(dt.timezone.utc)
    res = conn.execute(insert(table).values(fingerprint=fingerprint, created_at=now, **values))
    return int(res.inserted_primary_key[0])


def _import_run(conn: Any, run: Mapping[str, Any]) -> None:
    stored = run["stored"]
    model, dataset = stored["model_spec"], stored["dataset_spec"]
    model_id = _row_id(
        conn,
        t.models,
        run["model"]["fingerprint"],
        {"name": model["name"], "adapter": model["adapter"], "spec": model},
    )
    dataset_id = _row_id(
        conn,
        t.datasets,
        run["dataset"]["fingerprint"],
        {"name": dataset["name"], "size": dataset["size"], "spec": dataset},
    )
    suite = stored["suite_spec"]
    conn.execute(
        insert(t.runs).values(
            id=run["id"],
            run_key=stored["run_key"],
            model_id=model_id,
            dataset_id=dataset_id,
            suite_name=suite["name"],
            suite_version=suite["version"],
            suite_spec=suite,
            seed=run["seed"],
            shard_size=run["shard_size"],
            status=run["status"],
            environment=run["environment"],
            created_at=_when(stored["created_at"]),
            updated_at=_when(stored["updated_at"]),
        )
    )
    for unit in stored["units"]:
        res = conn.execute(
            insert(t.units).values(
                run_id=run["id"],
                **{k: unit[k] for k in ("probe_key", "probe_spec", "shard", "start", "stop")},
                **{k: unit[k] for k in ("status", "seconds", "info")},
                finished_at=_when(unit["finished_at"]),
            )
        )
        unit_id = int(res.inserted_primary_key[0])
        columns = unit.get("records") or {}
        if columns.get("example_id"):
            task = unit.get("task", "classification")
            insert_records(conn, unit_id, Records.from_columns(columns, task=task))
        if unit.get("artifacts"):
            conn.execute(
                insert(t.artifacts),
                [
                    {"unit_id": unit_id, **{k: a[k] for k in ("name", "media_type", "data")}}
                    | {"meta": a.get("meta") or {}}
                    for a in unit["artifacts"]
                ],
            )
    metric_cols = ("probe_key", "metric", "value", "ci_low", "ci_high", "n", "method")
    rows = [
        {
            "run_id": run["id"],
            **{k: m[k] for k in metric_cols},
            "higher_is_better": m["higher_is_better"],
            "details": m.get("details"),
        }
        for m in run["metrics"]
    ]
    if rows:
        conn.execute(insert(t.metrics), rows)


def import_document(doc: Mapping[str, Any] | str | Path, store: str | Store | None) -> list[str]:
    """Load the runs of a JSON export into ``store`` (all or nothing) and return their ids.

    Raises:
        ConfigError: The file is not an export, of a newer schema, or lacks stored units.
        StoreError: A run with the same id is already in the store.
    """
    if isinstance(doc, (str, Path)):
        where = str(doc)
        data = read_export(doc)
    else:
        where = "the document"
        data = dict(doc)
        check_export(data, where)
    db = open_store(store)
    ids = [str(r["id"]) for r in data["runs"]]
    with db.engine.connect() as conn:
        present = {r[0] for r in conn.execute(select(t.runs.c.id).where(t.runs.c.id.in_(ids)))}
    if present:
        many = len(present) > 1
        raise StoreError(
            f"Run{'s' if many else ''} {', '.join(sorted(present))} of {where} "
            f"{'are' if many else 'is'} already in store {db.url!r}; "
            "nothing was imported. Import into another store, or leave that run out."
        )
    try:
        with db.engine.begin() as conn:
            for run in data["runs"]:
                _import_run(conn, run)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where} is not a complete run export (missing or malformed {exc}); nothing was "
            "imported. Export it again with `robustlab export RUN_ID --format json`."
        ) from None
    return ids


# -- CSV and Markdown --------------------------------------------------------------------------


def metrics_csv(doc: Mapping[str, Any]) -> str:
    """One CSV row per run, probe and metric: value, interval, n and the interval's method."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run in doc["runs"]:
        for m in run["metrics"]:
            writer.writerow(
                [
                    run["id"],
                    csv_text(run["model"]["name"]),
                    csv_text(run["dataset"]["name"]),
                    csv_text(run["suite"]["name"]),
                    run["suite"]["version"],
                    csv_text(m["probe_key"]),
                    csv_text(m.get("label", m["probe_key"])),
                    m.get("kind", ""),
                    m["metric"],
                    repr(float(m["value"])),
                    repr(float(m["ci_low"])),
                    repr(float(m["ci_high"])),
                    m["n"],
                    m["method"],
                    bool(m["higher_is_better"]),
                ]
            )
    return buf.getvalue()


def markdown_summary(doc: Mapping[str, Any]) -> str:
    """A Markdown summary per run: identity, scorecard (one line per robustness axis),
    accuracy per probe, summaries, warnings and skipped probes."""
    md = markdown_text
    lines = ["# RobustLab results", ""]
    for run in doc["runs"]:
        model, data, suite = run["model"], run["dataset"], run["suite"]
        lines += [
            f"## {md(model['name'])} · run {md(run['id'])}",
            "",
            f"- **Model:** {md(model['name'])} ({md(model.get('adapter', ''))}, "
            f"fingerprint `{md(model['fingerprint'])}`)",
            f"- **Dataset:** {md(data['name'])} ({data.get('size', '?')} examples, "
            f"fingerprint `{md(data['fingerprint'])}`)",
            f"- **Suite:** {md(suite['name'])} v{suite['version']} · seed {run['seed']} · "
            f"status {md(run['status'])} · started {md(run['created_at'])}",
            "",
            "### Scorecard",
            "",
        ]
        scores = _axes(run)
        if scores:
            lines += ["| axis | value | 95% CI | better | note |", "|---|---:|---:|---|---|"]
            for a in scores:
                better = "higher" if a["higher_is_better"] else "lower"
                lines.append(
                    f"| {md(a['axis'])} | {_num(a['value'])} | {_interval(a)} | {better} | "
                    f"{md(a['note'])} |"
                )
        else:
            lines.append("No robustness axis was measured.")
        accuracy = [
            m for m in run["metrics"] if m["metric"] == "accuracy" and m["probe_key"] != SUMMARY_KEY
        ]
        if accuracy:
            lines += [
                "",
                "### Accuracy per probe",
                "",
                "| probe | kind | accuracy | 95% CI | n |",
                "|---|---|---:|---:|---:|",
            ]
            for m in accuracy:
                lines.append(
                    f"| {md(m.get('label', m['probe_key']))} | {md(m.get('kind', ''))} | "
                    f"{_num(m['value'])} | {_interval(m)} | {m['n']} |"
                )
        lines += _markdown_paired(run) + _markdown_attack(run)
        summaries = [m for m in run["metrics"] if m["probe_key"] == SUMMARY_KEY]
        undefined = run.get("undefined_summaries") or {}
        if summaries or undefined:
            lines += ["", "### Summaries", "", "| summary | value | 95% CI |", "|---|---:|---:|"]
            for m in summaries:
                lines.append(f"| {md(m['metric'])} | {_num(m['value'])} | {_interval(m)} |")
            for name, reason in undefined.items():
                lines.append(f"| {md(name)} | undefined: {md(reason)} | – |")
        if run.get("warnings"):
            lines += ["", "### Warnings", ""]
            for w in run["warnings"]:
                lines.append(
                    f"- **{md(w.get('code', 'warning'))}** ({md(w.get('probe', ''))}): "
                    f"{md(w.get('message', ''))}"
                )
        skipped = [p for p in run["probes"] if p.get("status") == "skipped"]
        if skipped:
            lines += ["", "### Skipped probes", ""]
            for p in skipped:
                lines.append(f"- {md(p['label'])}: {md(p.get('reason', ''))}")
        lines.append("")
    lines.append(
        f"_Written by RobustLab from store `{md(doc.get('store', ''))}` at "
        f"{md(doc.get('generated_at', ''))}._"
    )
    return "\n".join(lines) + "\n"


def format_of(out: str | Path | None, fmt: str | None) -> str:
    """The export format from ``--format`` or the output file's suffix."""
    if fmt is not None:
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(
                f"The 'format' parameter must be one of {', '.join(EXPORT_FORMATS)}. "
                f"Got {fmt!r} instead."
            )
        return fmt
    suffix = Path(str(out)).suffix.lower() if out not in (None, "-") else ""
    for name, suffixes in EXPORT_FORMATS.items():
        if suffix in suffixes:
            return name
    raise ConfigError(
        f"Cannot tell the export format from {str(out)!r}; add --format json, csv or md."
    )


def write_export(
    store: str | Store | None,
    run_ids: Sequence[str],
    out: str | Path | None,
    fmt: str | None = None,
) -> str:
    """Export ``run_ids`` as ``fmt`` (or the format ``out``'s suffix implies) to the file ``out``;
    ``out`` of ``None`` or ``"-"`` returns the text instead. Returns the path or the text."""
    chosen = format_of(out, fmt)
    db = open_store(store, create=False)
    if chosen == "json":
        # compact: the records make up most of the file
        text = json.dumps(export_document(db, run_ids), separators=(",", ":"), default=str)
    else:
        doc = collect(db, [db.resolve_run(r) for r in run_ids])
        text = metrics_csv(doc) if chosen == "csv" else markdown_summary(doc)
    if out in (None, "-"):
        return text
    p = Path(str(out))
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return str(p)


# -- MLflow ------------------------------------------------------------------------------------

_MLFLOW_KEY = re.compile(r"[^A-Za-z0-9_\-./ ]+")


def _mlflow_key(prefix: str, name: str, taken: set[str]) -> str:
    """A metric name MLflow accepts (letters, digits, ``_-./`` and spaces), unique in ``taken``."""
    text = str(name).replace("∞", "inf").replace("ε", "eps").replace("=", " ")
    key = f"{prefix}/{_MLFLOW_KEY.sub('_', text).strip() or 'unnamed'}"
    base, k = key, 2
    while key in taken:
        key, k = f"{base} ({k})", k + 1
    taken.add(key)
    return key


def mlflow_payload(run: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, float]]:
    """The params and metrics logged for a run of the report document: identity as params;
    the axis scores, per-probe accuracies and summaries as metrics."""
    params = {
        "model": str(run["model"]["name"]),
        "model_fingerprint": str(run["model"]["fingerprint"]),
        "dataset": str(run["dataset"]["name"]),
        "dataset_fingerprint": str(run["dataset"]["fingerprint"]),
        "suite": str(run["suite"]["name"]),
        "suite_version": str(run["suite"]["version"]),
        "seed": str(run["seed"]),
        "robustlab_run_id": str(run["id"]),
    }
    metrics: dict[str, float] = {}
    taken: set[str] = set()
    for a in _axes(run):
        metrics[_mlflow_key("axis", a["axis"], taken)] = float(a["value"])
    sizes = {p["key"] for p in run.get("probes", []) if measures_size(p.get("axis"), p["spec"])}
    for m in run["metrics"]:
        if m["probe_key"] == SUMMARY_KEY:
            metrics[_mlflow_key("summary", m["metric"], taken)] = float(m["value"])
        elif m["metric"] == "accuracy" and m["probe_key"] not in sizes:  # unbounded budget
            metrics[_mlflow_key("accuracy", m.get("label", m["probe_key"]), taken)] = float(
                m["value"]
            )
    return params, {k: v for k, v in metrics.items() if math.isfinite(v)}


def _axes(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The run's axis scores from its analysed scorecard (without the mCE row)."""
    card = run["scorecard"] if "scorecard" in run else scorecard(run)
    return [a for a in card if a["axis"] != MCE_AXIS.name]


def require_mlflow() -> Any:
    """The ``mlflow`` module, or a :class:`ConfigError` saying how to install it."""
    try:
        import mlflow
    except ModuleNotFoundError:
        raise ConfigError(
            "--mlflow needs MLflow, which is not installed: pip install mlflow-skinny."
        ) from None
    return mlflow


def log_to_mlflow(
    store: str | Store | None,
    run_id: str,
    *,
    tracking_uri: str | None = None,
    experiment: str = "robustlab",
) -> tuple[str, str]:
    """Log a stored run to MLflow as one MLflow run: params (model, dataset, suite, seed, run
    id) and metrics (axis scores, per-probe accuracy, summaries), tagged ``robustlab.run_id``.

    The tracking URI is ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's local
    default (``./mlruns``, or ``sqlite:///mlflow.db`` in MLflow 3). Each call makes a new
    MLflow run.

    Returns:
        The MLflow run id and the tracking URI it was logged to.

    Raises:
        ConfigError: MLflow is not installed (``pip install mlflow-skinny``).
        RobustLabError: MLflow refused the run (unreachable server, bad URI).
    """
    mlflow = require_mlflow()
    db = open_store(store, create=False)
    run = collect(db, [db.resolve_run(run_id)])["runs"][0]
    params, metrics = mlflow_payload(run)
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None
    try:
        if uri:
            mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(experiment)
        with mlflow.start_run(
            run_name=f"{run['model']['name']} · {run['suite']['name']}",
            tags={"robustlab.run_id": run["id"], "robustlab.store": db.url},
        ) as active:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            mlflow_id = str(active.info.run_id)
        used = str(mlflow.get_tracking_uri())
    except RobustLabError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RobustLabError(
            f"Cannot log run {run['id']} to MLflow at {uri or 'the default tracking URI'}: "
            f"{reason}; check MLFLOW_TRACKING_URI and that the tracking server is up."
        ) from None
    return mlflow_id, used
