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

from robustlab._progress import ScanProgress, listening
from robustlab.analysis.axes import unit_axis
from robustlab.data.domains import DomainsDataset
from robustlab.data.loading import as_dataset
from robustlab.errors import ConfigError, RobustLabError
from robustlab.metrics.base import METRICS, Estimate, derive_seed, get_metric
from robustlab.models.loading import as_model
from robustlab.probes.base import NotApplicable, Probe
from robustlab.ranking.base import Ranker
from robustlab.ranking.model import as_ranking_model
from robustlab.result import ScanResult
from robustlab.runner.backends import BACKENDS, Backend
from robustlab.runner.budget import sample_examples
from robustlab.runner.environment import environment
from robustlab.runner.jobs import Finished, Source, Workload
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


def _progress(
    enabled: bool | str | float, model_name: str, probes: list[Probe], todo: list[Any]
) -> ScanProgress:
    """The scan's progress display: ``progress=True`` shows a bar on a terminal and a plain line
    every 30 s elsewhere (a log file, a pipe); ``"lines"``/``"bar"`` force one; a number is the
    seconds between plain lines."""
    every = 30.0
    if isinstance(enabled, bool) or enabled is None:
        mode = ScanProgress.choose_mode(bool(enabled))
    elif isinstance(enabled, int | float):
        mode, every = "lines", float(enabled)
    elif enabled in ("bar", "lines", "off"):
        mode = str(enabled)
    else:
        raise ConfigError(
            f"progress must be True, False, 'bar', 'lines' or seconds between lines (e.g. 10). "
            f"Got {enabled!r}."
        )
    shown = ScanProgress(mode=mode, every=every)
    for probe in probes:
        n = sum(1 for u in todo if u.probe.key == probe.key)
        if n:
            shown.add(probe.key, f"{model_name}: {probe.label}", n)
    return shown


def _configure_model(
    model: Any, device: str | None, batch_size: int | None, name: str | None
) -> None:
    """Apply ``scan``'s ``device``, ``batch_size`` and ``name`` keywords to the model adapter."""
    from robustlab.validation import check_int

    if device is not None:
        if not callable(getattr(model, "to", None)) or not hasattr(model, "module"):
            raise ConfigError(
                f"device={device!r} applies to torch models only; model {model.name!r} is a "
                f"{type(model).__name__}."
            )
        model.to(device)
    if batch_size is not None:
        model.batch_size = check_int("scan()", "batch_size", batch_size)
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                f"The 'name' parameter of scan() must be a non-empty string. Got {name!r}."
            )
        model.name = name


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
    progress: bool | str | float = True,
    baseline: str | None = None,
    shift: Mapping[str, Any] | None = None,
    reference: Any = None,
    device: str | None = None,
    batch_size: int | None = None,
    name: str | None = None,
    fail_fast: bool = False,
    threads: int | None = None,
    max_examples: int | None = None,
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
            :class:`~robustlab.runner.backends.ProcessBackend`), ``ray`` (actors on a Ray
            cluster, see :class:`~robustlab.runner.ray_backend.RayBackend`) or a backend
            instance. Every backend computes the same records.
        workers: Worker processes of the ``process`` backend, or actors of the ``ray`` one
            (default: one per CPU).
        resume: Continue the newest run with the same model, data, suite, seed and sharding
            instead of starting anew; finished units are not recomputed.
        progress: Show progress: a bar per probe and an overall ETA on a terminal, advancing
            per batch inside a unit (units run in this process); elsewhere (a log file, a
            pipe) a plain line every 30 s with units done/total and the ETA. ``"bar"`` or
            ``"lines"`` force one; a number sets the seconds between lines.
        baseline: Id (or unique prefix) of a stored run of a reference model on the same data
            and suite; baseline-normalised summaries such as mCE are computed against it.
        shift: Out-of-distribution sets by name (datasets, paths or bundled names). They are
            scanned with ``data`` in one run, each example tagged with its domain, so every
            probe reports ID and OOD results and the shift metrics compare them.
        reference: A reference ("oracle") model, in any form ``model`` accepts; every probe
            also records its predictions on the same inputs, for ``reference_agreement``.
        device: Move a torch model to ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` first (CLI
            ``--device``).
        batch_size: Inputs per forward call of the model.
        name: The model's name in the store and report (its class name by default).
        fail_fast: Abort the scan on the first unit whose model or probe raises (e.g. NaN
            scores). By default such a unit is stored as failed with its error message, the
            rest of the scan completes (metrics use the units that ran) and resuming the run
            tries the failed units again; see :attr:`ScanResult.failures`.
        max_examples: Scan a seeded random sample of this many examples of ``data`` (and of
            each ``shift`` set) instead of all of them (CLI ``--max-examples``): a first
            look in a fraction of the time, with wider intervals.
        threads: Torch intra-op threads while the scan runs (``torch.set_num_threads``; the
            previous count is restored afterwards). Default: torch's own. On a small, loaded
            machine ``threads=1`` is often much faster (see README, Running).

    Returns:
        The :class:`ScanResult` of the run, with its metrics table and report exporters.
    """
    with _threads(threads):
        return _scan(
            model,
            data,
            suite,
            store=store,
            seed=seed,
            shard_size=shard_size,
            backend=backend,
            workers=workers,
            resume=resume,
            progress=progress,
            baseline=baseline,
            shift=shift,
            reference=reference,
            device=device,
            batch_size=batch_size,
            name=name,
            fail_fast=fail_fast,
            max_examples=max_examples,
        )


@contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch threads (None: leave torch's setting), then restore it."""
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be a positive integer (e.g. threads=1). Got {threads!r}.")
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _scan(
    model: Any,
    data: Any,
    suite: str | Suite | dict[str, Any],
    *,
    store: str | Store | None,
    seed: int,
    shard_size: int,
    backend: str | Backend,
    workers: int | None,
    resume: bool,
    progress: bool | str | float,
    baseline: str | None,
    shift: Mapping[str, Any] | None,
    reference: Any,
    device: str | None,
    batch_size: int | None,
    name: str | None,
    fail_fast: bool,
    max_examples: int | None,
) -> ScanResult:
    if isinstance(model, Ranker):  # a Ranker scans over its ranking data's collection
        model = as_ranking_model(model, as_dataset(data))
    model = as_model(model)
    _configure_model(model, device, batch_size, name)
    _check_train_mode(model)
    dataset = sample_examples(as_dataset(data), max_examples, seed)
    if shift:
        dataset = DomainsDataset(
            dataset,
            {k: sample_examples(as_dataset(v), max_examples, seed) for k, v in shift.items()},
        )
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
        fail_fast=fail_fast,
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
                "weights": _weights_of(model),
                OWNER: owner_note(),
            },
        )

        try:
            heartbeat = Heartbeat(db, run_id)  # this process owns the run
            db.discard_failed_units(run_id)  # failed units are tried again
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
            # `robustlab runs` shows units done of this total (skipped probes count one each)
            db.update_environment(run_id, {UNITS_TOTAL: len(units) + len(skipped)})
            if progress not in (False, None, "off") and len(todo) < len(units):
                import sys

                print(
                    f"Resuming run {run_id}: {len(units) - len(todo)} of {len(units)} units "
                    f"already done, {len(todo)} to go (pass resume=False / --fresh to start anew).",
                    file=sys.stderr,
                )

            shown = _progress(progress, model.name, probes, todo)
            with (
                shown.shown(f"{model.name}: all probes"),
                listening(shown),
                _closing(runner.execute(workload, todo)) as finished_units,
            ):
                for finished in finished_units:
                    u = finished.unit
                    if finished.failed:
                        _write_failed(db, run_id, finished)
                        heartbeat.beat()
                        shown.finish_unit(u.probe.key, finished.seconds)
                        continue
                    assert finished.records is not None
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
                    shown.finish_unit(u.probe.key, finished.seconds)

            heartbeat.beat(force=True)
            rows = _metric_rows(db, run_id, suite, probes, seed, heartbeat)
            heartbeat.beat(force=True)
            summaries, undefined = _summary_rows(db, run_id, baseline_id, seed)
            db.write_metrics(run_id, rows + summaries)
            missing = _undefined_metrics(suite, probes, rows)
            # an empty mapping clears the notes of an earlier pass over the same run
            db.update_environment(
                run_id,
                {UNDEFINED_SUMMARIES: undefined or None, UNDEFINED_METRICS: missing or None},
            )
            db.set_status(run_id, "complete")
        except (KeyboardInterrupt, StoreLost):
            _mark_interrupted(db, run_id)
            raise
        except BaseException:
            db.set_status(run_id, "failed")
            raise
    return ScanResult(db, run_id)


#: Key of the run's ``environment`` holding how many units the run has in all.
UNITS_TOTAL = "units_total"


def _weights_of(model: Any) -> str | None:
    """The weight file a model was loaded from (``load_model(spec, weights)``, CLI --weights)."""
    from robustlab.models.loading import model_factory

    factory = model_factory(model)
    return None if factory is None else factory.weights


def _write_failed(db: Store, run_id: str, finished: Finished) -> None:
    """Store a unit whose model or probe raised: no records, its error under ``info``."""
    u = finished.unit
    db.write_unit(
        run_id,
        probe_key=u.probe.key,
        probe_spec=u.probe.spec,
        shard=u.shard,
        start=u.start,
        stop=u.stop,
        records=None,
        seconds=finished.seconds,
        status="failed",
        info={
            "label": u.probe.label,
            "kind": u.probe.kind,
            "axis": u.probe.resolved_axis(),
            "covers_batch": u.probe.covers_batch,
            "seed": str(u.seed),
            "error": finished.error,
        },
    )


def _failed_units(db: Store, run_id: str) -> dict[str, int]:
    """How many units of each probe failed."""
    counts: dict[str, int] = {}
    for unit in db.units(run_id):
        if unit["status"] == "failed":
            counts[unit["probe_key"]] = counts.get(unit["probe_key"], 0) + 1
    return counts


def _check_train_mode(model: Any) -> None:
    """Warn about (and leave) train mode: dropout and batch-norm statistics make predictions
    random, which hides adversarial examples and raises robust accuracy."""
    import warnings

    module = getattr(model, "module", None)
    if not getattr(model, "training", False) or module is None:
        return
    from torch import nn

    layers = sorted(
        {
            type(m).__name__
            for m in module.modules()
            if isinstance(m, nn.modules.dropout._DropoutNd | nn.modules.batchnorm._BatchNorm)
        }
    )
    if not layers:
        return
    module.eval()
    warnings.warn(
        f"Model {model.name!r} was in train mode ({', '.join(layers)} active): random dropout "
        f"and batch statistics raise attack robust accuracy and make results irreproducible. "
        f"RobustLab put it in eval mode (module.eval()) for the scan; call module.eval() "
        f"yourself to silence this warning.",
        UserWarning,
        stacklevel=3,
    )


#: Key of the run's ``environment`` holding the suite's metrics computed for no probe, each
#: with its reason (shown by the CLI, ScanResult and the report, never dropped silently).
UNDEFINED_METRICS = "undefined_metrics"


def _undefined_metrics(
    suite: Suite, probes: list[Probe], rows: list[dict[str, Any]]
) -> dict[str, str]:
    """The metrics the suite names that no probe's records could measure, with the reason."""
    if suite.metrics is None:
        return {}
    computed = {r["metric"] for r in rows}
    out: dict[str, str] = {}
    for name in suite.metrics:
        if name in computed:
            continue
        axis = getattr(METRICS.get(name), "axis", None)
        if axis == "subgroups":
            out[name] = (
                "the records hold fewer than two groups: the data has no group column (with "
                "--shift/shift=, the in-distribution set's groups are used; add a group column "
                "or a --slice function)"
            )
        elif not probes:
            out[name] = "no probe of the suite applies to this model and data"
        else:
            out[name] = (
                f"no probe's records support it (its axis: {axis or 'any'}); add a probe it "
                f"measures or drop it from the suite's metrics"
            )
    return out


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
    failed = _failed_units(db, run_id)
    done = {u["probe_key"] for u in db.units(run_id) if u["status"] == "done"}
    for probe in probes:
        if heartbeat is not None:
            heartbeat.beat()
        if probe.key not in done:  # every unit of it failed: nothing to measure
            continue
        extra = {"failed_units": failed[probe.key]} if probe.key in failed else None
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
            rows.append(_metric_row(probe.key, name, est, metric.higher_is_better, extra))
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
    # a probe with a failed unit covers fewer examples than the others: left out of summaries
    seen.update(u["probe_key"] for u in units if u["status"] == "failed")
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
