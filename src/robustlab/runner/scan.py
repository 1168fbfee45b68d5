"""The scan: model + data + suite -> units -> store (one transaction each) -> metrics."""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from robustlab.analysis.axes import unit_axis
from robustlab.data.domains import DomainsDataset
from robustlab.data.loading import as_dataset
from robustlab.errors import ConfigError, RobustLabError
from robustlab.metrics.base import METRICS, Estimate, derive_seed, get_metric
from robustlab.models.loading import as_model
from robustlab.probes.base import NotApplicable, Probe
from robustlab.result import ScanResult
from robustlab.runner.backends import BACKENDS, Backend
from robustlab.runner.environment import environment
from robustlab.runner.jobs import Source, Workload
from robustlab.runner.liveness import OWNER, Heartbeat, owner_note, sigterm_interrupts
from robustlab.runner.plan import plan_units
from robustlab.runner.preflight import preflight
from robustlab.store import Store, open_store
from robustlab.store.store import StoreLost
from robustlab.suites import Suite, load_suite
from robustlab.summaries import SUMMARIES, ProbeErrors, UndefinedSummary, evaluate_summary
from robustlab.summaries.base import UNDEFINED_SUMMARIES
from robustlab.tasks import get_task

__all__ = ["scan"]

DEFAULT_SHARD_SIZE = 256


def _run_key(model_fp: str, data_fp: str, suite: Suite, seed: int, shard_size: int) -> str:
    blob = json.dumps([model_fp, data_fp, suite.fingerprint, seed, shard_size]).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description:<36}", style="bold", markup=False),  # names are not markup
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        yield bar


def scan(
    model: Any,
    data: Any,
    suite: str | Suite | dict[str, Any] = "quick",
    *,
    store: str | Store | None = None,
    seed: int = 0,
    shard_size: int = DEFAULT_SHARD_SIZE,
    backend: str | Backend = "local",
    workers: int | None = None,
    resume: bool = True,
    progress: bool = True,
    baseline: str | None = None,
    shift: Mapping[str, Any] | None = None,
    reference: Any = None,
) -> ScanResult:
    """Measure ``model`` on ``data`` with every probe of ``suite`` and store the results.

    Args:
        model: A :class:`~robustlab.models.Model`, an ``nn.Module`` (inputs in ``[0, 1]``), a
            fitted scikit-learn classifier, or a callable ``batch -> scores``.
        data: A :class:`~robustlab.data.Dataset`, an ``(inputs, targets)`` tuple, an image folder,
            an ``.npz`` path or a bundled name (``digits``).
        suite: A built-in suite name (``quick``, ``standard``), a YAML path, a mapping or a Suite.
        store: Store URL or path (default ``./robustlab.db``) or an open Store.
        seed: Seeds every unit (derived per probe and shard), so results are reproducible.
        shard_size: Examples per unit; a unit is what a resumed scan skips or redoes.
        backend: Execution backend: ``local`` (in this process), ``process`` (a pool of
            worker processes; the model, data and probes must pickle, see
            :class:`~robustlab.runner.backends.ProcessBackend`) or a backend instance. Every
            backend computes the same records.
        workers: Worker processes of the ``process`` backend (default: one per CPU).
        resume: Continue the newest run with the same model, data, suite, seed and sharding
            instead of starting anew; finished units are not recomputed.
        progress: Show progress bars.
        baseline: Id (or unique prefix) of a stored run of a reference model on the same data
            and suite; baseline-normalised summaries such as mCE are computed against it.
        shift: Out-of-distribution sets by name (datasets, paths or bundled names). They are
            scanned with ``data`` in one run, each example tagged with its domain, so every
            probe reports ID and OOD results and the shift metrics compare them.
        reference: A reference ("oracle") model, in any form ``model`` accepts; every probe
            also records its predictions on the same inputs, for ``reference_agreement``.

    Returns:
        The :class:`ScanResult` of the run, with its metrics table and report exporters.
    """
    model = as_model(model)
    dataset = as_dataset(data)
    if shift:
        dataset = DomainsDataset(dataset, {k: as_dataset(v) for k, v in shift.items()})
    suite = load_suite(suite)
    runner = _backend(backend, workers)
    preflight(model, dataset, suite=suite)
    oracle = None if reference is None else as_model(reference)
    if oracle is not None:
        preflight(oracle, dataset)
    db = open_store(store)
    baseline_id = db.resolve_run(baseline) if baseline is not None else None

    probes: list[Probe] = []
    skipped: dict[str, str] = {}
    for probe in suite.probes:
        try:
            probe.applicable(model, dataset)
            probes.append(probe)
        except NotApplicable as reason:
            skipped[probe.key] = str(reason)

    model_fp, data_fp = model.fingerprint(), dataset.fingerprint()
    if baseline_id is not None and db.run(baseline_id)["dataset_fingerprint"] != data_fp:
        other = db.run(baseline_id)["dataset_name"]
        raise ConfigError(
            f"Baseline run {baseline_id} was measured on dataset {other!r}, not "
            f"{dataset.name!r}; a baseline must use the same data."
        )
    oracle_fp = "" if oracle is None else oracle.fingerprint()
    workload = Workload(
        Source.of_model(model, fingerprint=model_fp),
        Source.of_dataset(dataset),
        None
        if oracle is None
        else Source.of_model(oracle, role="reference model", fingerprint=oracle_fp),
    )
    runner.prepare(workload, probes)  # e.g. everything pickles, before a run exists
    run_key = _run_key(model_fp + oracle_fp, data_fp, suite, seed, shard_size)
    # Names are metadata: the stored model and dataset take this scan's names (and class
    # names), also when it resumes a run stored under others.
    model_id = db.add_model(model_fp, model.describe())
    dataset_id = db.add_dataset(data_fp, dataset.describe())
    with sigterm_interrupts():  # SIGTERM stops the scan as Ctrl-C does
        run_id = _claim_run(
            db,
            run_key=run_key,
            resume=resume,
            model_id=model_id,
            dataset_id=dataset_id,
            suite_spec=suite.spec,
            seed=seed,
            shard_size=shard_size,
            environment={
                **environment(str(model.device)),
                "reference_model": None
                if oracle is None
                else {"name": oracle.name, "fingerprint": oracle_fp},
                OWNER: owner_note(),
            },
        )

        try:
            heartbeat = Heartbeat(db, run_id)  # this process owns the run
            done = db.finished_units(run_id)
            for probe in suite.probes:
                if probe.key in skipped and (probe.key, -1) not in done:
                    db.write_unit(
                        run_id,
                        probe_key=probe.key,
                        probe_spec=probe.spec,
                        shard=-1,
                        start=0,
                        stop=0,
                        records=None,
                        seconds=0.0,
                        status="skipped",
                        info={
                            "label": probe.label,
                            "kind": probe.kind,
                            "axis": probe.resolved_axis(),
                            "reason": skipped[probe.key],
                        },
                    )
            units = plan_units(probes, len(dataset), shard_size, seed)
            todo = [u for u in units if u.key not in done]

            with (
                _progress(progress and bool(todo), len(todo)) as bar,
                _closing(runner.execute(workload, todo)) as finished_units,
            ):
                tasks: dict[str, Any] = {}
                if bar is not None:
                    from robustlab._terminal import printable

                    for probe in probes:
                        n = sum(1 for u in todo if u.probe.key == probe.key)
                        if n:
                            tasks[probe.key] = bar.add_task(
                                printable(f"{model.name}: {probe.label}")[:36], total=n
                            )
                for finished in finished_units:
                    u = finished.unit
                    db.write_unit(
                        run_id,
                        probe_key=u.probe.key,
                        probe_spec=u.probe.spec,
                        shard=u.shard,
                        start=u.start,
                        stop=u.stop,
                        records=finished.records,
                        seconds=finished.seconds,
                        info={
                            "label": u.probe.label,
                            "kind": u.probe.kind,
                            "axis": u.probe.resolved_axis(),
                            "covers_batch": u.probe.covers_batch,
                            "seed": str(u.seed),
                            "warnings": finished.records.warnings,
                        },
                    )
                    heartbeat.beat()
                    if bar is not None:
                        bar.advance(tasks[u.probe.key])

            heartbeat.beat(force=True)
            rows = _metric_rows(db, run_id, suite, probes, seed, heartbeat)
            heartbeat.beat(force=True)
            summaries, undefined = _summary_rows(db, run_id, baseline_id, seed)
            db.write_metrics(run_id, rows + summaries)
            # an empty mapping clears the notes of an earlier pass over the same run
            db.update_environment(run_id, {UNDEFINED_SUMMARIES: undefined or None})
            db.set_status(run_id, "complete")
        except (KeyboardInterrupt, StoreLost):
            _mark_interrupted(db, run_id)
            raise
        except BaseException:
            db.set_status(run_id, "failed")
            raise
    return ScanResult(db, run_id)


def _claim_run(db: Store, **run: Any) -> str:
    """The run this scan writes into: one run per key even when several processes start the
    same scan at once (they share its units, see :meth:`Store.claim_run`)."""
    run_id, _created = db.claim_run(**run)
    return run_id


def _mark_interrupted(db: Store, run_id: str) -> None:
    """Store the run as interrupted, unless the store itself is what was lost (then its owner
    note goes stale and listings show it interrupted anyway)."""
    try:
        db.set_status(run_id, "interrupted")
    except StoreLost:  # the store is what stopped the scan: nothing more can be written
        return


def _metric_names(suite: Suite, probe: Probe, task: str) -> list[str]:
    """The metrics of a probe's records: the suite's, else the probe's defaults, or the defaults
    of the records' task where none of the probe's applies to it (probes default to
    classification metrics)."""
    names = list(suite.metrics_for(probe))
    if suite.metrics is None and not any(task in METRICS.get(m).tasks for m in names):
        names = [m for m in get_task(task).metrics if m in METRICS]
    return names


def _backend(backend: str | Backend, workers: int | None) -> Backend:
    if not isinstance(backend, str):
        if workers is not None:
            raise ConfigError(
                f"The 'workers' parameter of scan() applies to a backend given by name; set it "
                f"on the backend instance instead (e.g. ProcessBackend(workers={workers}))."
            )
        return backend
    cls = BACKENDS.get(backend)
    if workers is None:
        return cls()
    if "workers" not in inspect.signature(cls).parameters:
        raise ConfigError(
            f"The 'workers' parameter of scan() applies to backends with worker processes "
            f"(process); the {backend!r} backend runs units in this process. Drop workers or "
            f"pass backend='process'. Got workers={workers!r}."
        )
    return cls(workers=workers)


@contextmanager
def _closing(results: Iterator[Any]) -> Iterator[Iterator[Any]]:
    """Close a backend's result generator when the scan stops early (it stops its workers)."""
    try:
        yield results
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


def _metric_rows(
    db: Store,
    run_id: str,
    suite: Suite,
    probes: list[Probe],
    seed: int,
    heartbeat: Heartbeat | None = None,
) -> list[dict[str, Any]]:
    rows = []
    for probe in probes:
        if heartbeat is not None:
            heartbeat.beat()
        every = db.load_records(run_id, probe.key)
        ident = every.in_distribution()
        for name in _metric_names(suite, probe, every.task):
            metric = get_metric(name)
            records = every if metric.scope == "all" else ident
            if not metric.measures(records):
                continue
            est = metric.compute(records, seed=derive_seed(seed, probe.seed_key, name))
            if not all(math.isfinite(v) for v in (est.value, est.ci_low, est.ci_high)):
                raise RobustLabError(f"Metric {name!r} of {probe.key} is not finite: {est}.")
            rows.append(_metric_row(probe.key, name, est, metric.higher_is_better))
    return rows


def _metric_row(
    probe_key: str,
    metric: str,
    est: Estimate,
    higher_is_better: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One row of the metrics table; ``extra`` joins the estimate's details."""
    details = {**(est.details or {}), **(extra or {})} or None
    return {
        "probe_key": probe_key,
        "metric": metric,
        "value": est.value,
        "ci_low": est.ci_low,
        "ci_high": est.ci_high,
        "n": est.n,
        "method": est.method,
        "higher_is_better": higher_is_better,
        "details": details,
    }


def probe_errors(db: Store, run_id: str) -> list[ProbeErrors]:
    """Per-example errors of every measured probe of a run, aligned by example id (only the
    in-distribution examples of a shift scan)."""
    out: list[ProbeErrors] = []
    ids: np.ndarray | None = None
    seen: set[str] = set()
    # In the suite's order, whichever order the units finished in (backends with several
    # workers store them as they come).
    specs = db.run(run_id)["suite_spec"].get("probes", [])
    order = {json.dumps(spec, sort_keys=True): i for i, spec in enumerate(specs)}
    units = db.units(run_id)
    units.sort(key=lambda u: order.get(json.dumps(u["probe_spec"], sort_keys=True), len(order)))
    for unit in units:
        key = unit["probe_key"]
        if unit["status"] != "done" or key in seen or not unit["info"].get("covers_batch", True):
            continue
        seen.add(key)
        records = db.load_records(run_id, key).in_distribution()
        if ids is None:
            ids = records.example_id
        elif not np.array_equal(ids, records.example_id):
            raise RobustLabError(f"Run {run_id}: probe {key} covers different examples.")
        out.append(
            ProbeErrors(
                key,
                unit_axis(unit["info"]),
                unit["probe_spec"],
                records.broken,
                records.value,
            )
        )
    return out


def _summary_rows(
    db: Store, run_id: str, baseline_id: str | None, seed: int
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The summaries' metric rows, and the summaries that apply but are undefined for this run,
    each with its reason (stored under the run's ``environment``, see
    :data:`UNDEFINED_SUMMARIES`)."""
    probes = probe_errors(db, run_id)
    base = None
    if baseline_id is not None:
        base = probe_errors(db, baseline_id)
    rows = []
    undefined: dict[str, str] = {}
    for name, cls in SUMMARIES.items():
        summary = cls()
        try:
            est = evaluate_summary(summary, probes, base, seed=derive_seed(seed, "summary", name))
        except UndefinedSummary as reason:
            undefined[name] = str(reason)
            continue
        if est is None:
            continue
        extra = {"baseline": baseline_id} if summary.needs_baseline else {}
        rows.append(_metric_row("summary", name, est, summary.higher_is_better, extra))
    return rows, undefined
