"""The leaderboard: which stored runs are compared, one row per model and one column per axis.

Which runs: a leaderboard compares runs of one suite name and version on one dataset (by
fingerprint), the latest complete run of each model (by model fingerprint, so two checkpoints of
one architecture are two rows). Several suites, suite versions or datasets in the store are never
mixed: the builder refuses and lists the choices (``suite``, ``suite_version``, ``dataset``).
Explicit run ids are compared as given, one row each, under the same checks.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from robustlab.analysis.axes import axis_definition, axis_scores, order_axes
from robustlab.errors import ConfigError, StoreError, UnknownNameError
from robustlab.leaderboard.aggregate import (
    EXACT_KEMENY_LIMIT,
    borda_scores,
    competition_ranks,
    discordant_pairs,
    kemeny_ranking,
    kendall_tau,
    mean_scores,
    orient,
    pairwise_preferences,
)
from robustlab.store import Store, open_store

__all__ = [
    "LEADERBOARD_SCHEMA_VERSION",
    "SORT_METHODS",
    "Cell",
    "Column",
    "Entry",
    "Leaderboard",
    "build_leaderboard",
    "rank_entries",
]

#: Version of the leaderboard's JSON layout; bump on any incompatible change.
LEADERBOARD_SCHEMA_VERSION = 1

#: Orderings a leaderboard can be sorted by; ``kemeny`` is the default.
SORT_METHODS = ("kemeny", "borda", "mean")


@dataclass(frozen=True)
class Cell:
    """One model's headline number on one axis, with its interval (NaN where none)."""

    value: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    metric: str = ""
    note: str = ""

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)


@dataclass(frozen=True)
class Column:
    """An axis shown in the leaderboard (see :mod:`robustlab.analysis.axes`)."""

    name: str
    higher_is_better: bool
    describe: str


@dataclass(frozen=True)
class Entry:
    """One row: a model's run, its cells and where each aggregation places it.

    Attributes:
        name: Display name (the model name, with a fingerprint or run id where two rows share it).
        model: The stored model name.
        model_fingerprint: Fingerprint of the model (its weights or estimator).
        run_id: The run the row shows.
        seed: The run's seed.
        created_at: When the run started (ISO 8601).
        cells: Axis name -> :class:`Cell`; a missing axis is absent.
        mean: Mean of the oriented axis scores the model has (see ``aggregate.orient``).
        borda: Borda count (expected number of models beaten on a shared axis).
        kemeny: Position in the Kemeny-Young consensus ranking (1 = first).
        mean_rank: Competition rank by ``mean`` (ties share the better rank).
        borda_rank: Competition rank by ``borda``.
        disagrees: True when the mean and the Kemeny ranking order this model differently
            against at least one other model.
    """

    name: str
    model: str
    model_fingerprint: str
    run_id: str
    seed: int
    created_at: str
    cells: dict[str, Cell]
    mean: float = float("nan")
    borda: float = float("nan")
    kemeny: int = 0
    mean_rank: int | None = None
    borda_rank: int | None = None
    disagrees: bool = False


@dataclass(frozen=True)
class Leaderboard:
    """Models ranked on one suite version and dataset, by mean, Borda count and Kemeny-Young.

    ``entries`` are sorted by ``sort``. ``agreement`` holds Kendall's tau between the orderings
    (``mean_vs_borda``, ``mean_vs_kemeny``, ``borda_vs_kemeny``; NaN with fewer than two
    models) and ``discordant``: the pairs the mean and Kemeny order differently, as
    ``{"mean_prefers", "kemeny_prefers", "wins", "shared"}`` (``wins`` of the ``shared`` axes
    go to the model Kemeny prefers, ties counting one half).
    """

    suite: str
    suite_version: int
    dataset: dict[str, Any]
    columns: list[Column]
    entries: list[Entry]
    sort: str = "kemeny"
    kemeny_method: str = "exact"
    agreement: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    store: str = ""
    generated_at: str = ""

    def best(self, axis: str) -> set[str]:
        """Run ids of the rows with the best value on ``axis`` (all of them on a tie)."""
        col = next((c for c in self.columns if c.name == axis), None)
        if col is None:
            return set()
        values = {e.run_id: e.cells[axis].value for e in self.entries if axis in e.cells}
        if not values:
            return set()
        top = max(values.values()) if col.higher_is_better else min(values.values())
        return {r for r, v in values.items() if abs(v - top) <= 1e-12}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``schema: robustlab.leaderboard``); NaN becomes null."""
        return _jsonable(
            {
                "schema": "robustlab.leaderboard",
                "schema_version": LEADERBOARD_SCHEMA_VERSION,
                **asdict(self),
            }
        )

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Leaderboard:
        """Read a document written by :meth:`to_dict`."""
        if doc.get("schema") != "robustlab.leaderboard":
            raise ConfigError(
                f"Not a leaderboard document (schema {doc.get('schema')!r}); expected "
                "'robustlab.leaderboard' as written by `robustlab leaderboard --json`."
            )
        version = doc.get("schema_version")
        if not isinstance(version, int) or version > LEADERBOARD_SCHEMA_VERSION:
            raise ConfigError(
                f"Leaderboard schema version {version!r} is newer than this RobustLab reads "
                f"({LEADERBOARD_SCHEMA_VERSION}); upgrade with pip install -U robustlab."
            )

        def num(v: Any) -> float:
            return float("nan") if v is None else float(v)

        entries = [
            Entry(
                **{
                    **{k: v for k, v in e.items() if k != "cells"},
                    "mean": num(e["mean"]),
                    "borda": num(e["borda"]),
                    "cells": {
                        a: Cell(
                            value=float(c["value"]),
                            ci_low=num(c["ci_low"]),
                            ci_high=num(c["ci_high"]),
                            metric=c["metric"],
                            note=c["note"],
                        )
                        for a, c in e["cells"].items()
                    },
                }
            )
            for e in doc["entries"]
        ]
        agreement = {k: (num(v) if k != "discordant" else v) for k, v in doc["agreement"].items()}
        return cls(
            suite=doc["suite"],
            suite_version=doc["suite_version"],
            dataset=dict(doc["dataset"]),
            columns=[Column(**c) for c in doc["columns"]],
            entries=entries,
            sort=doc["sort"],
            kemeny_method=doc["kemeny_method"],
            agreement=agreement,
            warnings=list(doc["warnings"]),
            notes=list(doc["notes"]),
            store=doc["store"],
            generated_at=doc["generated_at"],
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# -- choosing the runs -------------------------------------------------------------------------


def _suite_list(runs: Sequence[Mapping[str, Any]]) -> str:
    models: dict[tuple[str, int], set[str]] = {}
    for r in runs:
        models.setdefault((r["suite_name"], r["suite_version"]), set()).add(r["model_fingerprint"])
    return ", ".join(
        f"{name} v{version} ({len(m)} model{'s' if len(m) != 1 else ''})"
        for (name, version), m in sorted(models.items())
    )


def _dataset_list(runs: Sequence[Mapping[str, Any]]) -> str:
    found: dict[str, tuple[str, set[str]]] = {}
    for r in runs:
        _, models = found.setdefault(r["dataset_fingerprint"], (r["dataset_name"], set()))
        models.add(r["model_fingerprint"])
    return ", ".join(
        f"{name} [{fp}] ({len(m)} model{'s' if len(m) != 1 else ''})"
        for fp, (name, m) in sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]))
    )


def _most_models(runs: list[dict[str, Any]], names: list[str]) -> str:
    """The suite whose complete runs cover the most models (ties: the first name)."""

    def models(name: str) -> int:
        return len(
            {
                r["model_fingerprint"]
                for r in runs
                if r["suite_name"] == name and r["status"] == "complete"
            }
        )

    return max(names, key=lambda n: (models(n), [-ord(c) for c in n]))


def _select_from_store(
    db: Store, suite: str | None, suite_version: int | None, dataset: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    every = db.runs()
    if not every:
        raise StoreError(
            f"Store {db.url!r} is empty; run `robustlab demo` or `robustlab scan` first."
        )
    names = sorted({r["suite_name"] for r in every})
    chosen_note = None
    if suite is None:
        if len(names) > 1:
            suite = _most_models(every, names)
            chosen_note = (
                f"No --suite given: ranking suite {suite!r}, the one with the most models. The "
                f"store holds runs of {len(names)} suites: {_suite_list(every)}; choose another "
                f"with --suite NAME."
            )
        else:
            suite = names[0]
    if suite not in names:
        close = difflib.get_close_matches(suite, names, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(
            f"No runs of suite {suite!r} in store {db.url!r}.{hint} "
            f"Suites with runs: {_suite_list(every)}."
        )
    of_suite = [r for r in every if r["suite_name"] == suite]
    versions = sorted({int(r["suite_version"]) for r in of_suite})
    if suite_version is not None:
        if suite_version not in versions:
            raise ConfigError(
                f"No runs of suite {suite!r} version {suite_version} in store {db.url!r}; "
                f"versions with runs: {', '.join(str(v) for v in versions)}."
            )
    elif len(versions) > 1:
        raise ConfigError(
            f"Runs of suite {suite!r} span versions {_suite_list(of_suite)}; only results of "
            f"one version are comparable: add --suite-version {versions[-1]} (the newest) or "
            f"another of {', '.join(str(v) for v in versions)}."
        )
    else:
        suite_version = versions[0]
    of_version = [r for r in of_suite if int(r["suite_version"]) == suite_version]
    complete = [r for r in of_version if r["status"] == "complete"]
    notes = [] if chosen_note is None else [chosen_note]
    unfinished = len(of_version) - len(complete)
    if unfinished:
        notes.append(
            f"{unfinished} unfinished run{'s' if unfinished != 1 else ''} left out "
            "(resume a scan with the same command to finish it)."
        )
    if not complete:
        raise StoreError(
            f"No complete runs of suite {suite!r} v{suite_version} in store {db.url!r} "
            f"({unfinished} unfinished); resume the scans with the same command first."
        )
    if dataset is not None:
        chosen = [
            r
            for r in complete
            if dataset in (r["dataset_name"], r["dataset_fingerprint"])
            or r["dataset_fingerprint"].startswith(dataset)
        ]
        if not chosen:
            raise ConfigError(
                f"No complete runs of suite {suite!r} v{suite_version} on dataset {dataset!r}; "
                f"datasets with runs: {_dataset_list(complete)}."
            )
        complete = chosen
    if len({r["dataset_fingerprint"] for r in complete}) > 1:
        raise ConfigError(
            f"Runs of suite {suite!r} v{suite_version} were measured on different data: "
            f"{_dataset_list(complete)}; scores on different data are not comparable: choose "
            "one with --dataset NAME or --dataset FINGERPRINT."
        )
    latest: dict[str, dict[str, Any]] = {}
    for r in complete:  # newest first: the first run of a model is its latest
        latest.setdefault(r["model_fingerprint"], r)
    older = len(complete) - len(latest)
    if older:
        notes.append(
            f"{older} older run{'s' if older != 1 else ''} of the same models left out "
            "(the latest complete run of each model is shown)."
        )
    return list(latest.values()), notes


def _select_runs(db: Store, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    ids = list(dict.fromkeys(db.resolve_run(r) for r in run_ids))
    by_id = {r["id"]: r for r in db.runs()}
    runs = [by_id[i] for i in ids]
    for r in runs:
        if r["status"] != "complete":
            raise StoreError(
                f"Run {r['id']} is {r['status']!r}, not complete; finish it by running the "
                "same scan command again, or leave it out."
            )
    if len({(r["suite_name"], r["suite_version"]) for r in runs}) > 1:
        listing = ", ".join(f"{r['id']} ({r['suite_name']} v{r['suite_version']})" for r in runs)
        raise ConfigError(
            f"The runs belong to different suites or suite versions: {listing}; a leaderboard "
            "compares runs of one suite version: pass runs of one suite, or use --suite NAME."
        )
    if len({r["dataset_fingerprint"] for r in runs}) > 1:
        raise ConfigError(
            f"The runs were measured on different data: {_dataset_list(runs)}; pass runs on "
            "one dataset, or use --dataset NAME."
        )
    return runs


# -- building ----------------------------------------------------------------------------------


def _display_names(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    counts = Counter(r["model_name"] for r in runs)
    fps = Counter((r["model_name"], r["model_fingerprint"]) for r in runs)
    out = []
    for r in runs:
        name = r["model_name"]
        if counts[name] > 1:
            tag = (
                r["id"][:6]
                if fps[(name, r["model_fingerprint"])] > 1
                else r["model_fingerprint"][:6]
            )
            name = f"{name} ({tag})"
        out.append(name)
    return out


def _axis_cells(db: Store, run_id: str) -> dict[str, Cell]:
    from robustlab.report.data import run_data

    run = run_data(db, run_id)
    cells = {}
    for a in axis_scores(run["metrics"], run["probes"]):
        cells[a["axis"]] = Cell(
            value=a["value"],
            ci_low=a["ci_low"],
            ci_high=a["ci_high"],
            metric=a["metric"],
            note=a["note"],
        )
    return cells


def rank_entries(
    entries: Sequence[Entry], columns: Sequence[Column], *, sort: str = "kemeny"
) -> tuple[list[Entry], dict[str, Any], str]:
    """Aggregate the cells of ``entries``: the entries with ``mean``, ``borda``, ``kemeny`` and
    ranks filled in, sorted by ``sort``; the agreement between the orderings; and how the
    Kemeny ranking was found (``exact`` or ``local search``)."""
    if sort not in SORT_METHODS:
        raise ConfigError(
            f"The 'sort' parameter of the leaderboard must be one of {', '.join(SORT_METHODS)}. "
            f"Got {sort!r} instead."
        )
    raw = np.array(
        [
            [e.cells[c.name].value if c.name in e.cells else np.nan for c in columns]
            for e in entries
        ],
        dtype=np.float64,
    ).reshape(len(entries), len(columns))
    scores = orient(raw, [c.higher_is_better for c in columns])
    mean = mean_scores(scores)
    borda = borda_scores(scores)
    prefs = pairwise_preferences(scores)
    order = kemeny_ranking(scores)
    position = np.empty(len(entries), dtype=np.int64)
    position[order] = np.arange(1, len(entries) + 1)
    kemeny_score = -position.astype(np.float64)
    pairs = discordant_pairs(mean, kemeny_score)
    disagree = {i for pair in pairs for i in pair}
    mean_rank = competition_ranks(mean)
    borda_rank = competition_ranks(borda)
    ranked = [
        replace(
            e,
            mean=float(mean[i]),
            borda=float(borda[i]),
            kemeny=int(position[i]),
            mean_rank=mean_rank[i],
            borda_rank=borda_rank[i],
            disagrees=i in disagree,
        )
        for i, e in enumerate(entries)
    ]
    shared = ~np.isnan(scores)
    agreement = {
        "mean_vs_borda": kendall_tau(mean, borda),
        "mean_vs_kemeny": kendall_tau(mean, kemeny_score),
        "borda_vs_kemeny": kendall_tau(borda, kemeny_score),
        "discordant": [
            {
                "mean_prefers": ranked[i].name,
                "kemeny_prefers": ranked[j].name,
                "wins": float(prefs[j, i] * int(np.sum(shared[i] & shared[j]))),
                "shared": int(np.sum(shared[i] & shared[j])),
            }
            for i, j in sorted(pairs, key=lambda p: (int(position[p[1]]), int(position[p[0]])))
        ],
    }
    key = {
        "kemeny": lambda i: (int(position[i]),),
        # rounded: sums of fractions that are equal may differ in the last bit
        "borda": lambda i: (-round(float(borda[i]), 9), int(position[i])),
        "mean": lambda i: (-round(float(np.nan_to_num(mean[i], nan=-np.inf)), 9), int(position[i])),
    }[sort]
    ordered = [ranked[i] for i in sorted(range(len(ranked)), key=key)]
    method = "exact" if len(entries) <= EXACT_KEMENY_LIMIT else "local search"
    return ordered, agreement, method


def build_leaderboard(
    store: str | Store | None = None,
    *,
    suite: str | None = None,
    suite_version: int | None = None,
    dataset: str | None = None,
    run_ids: Sequence[str] | None = None,
    sort: str = "kemeny",
) -> Leaderboard:
    """Rank the models stored in ``store`` on one suite, one column per robustness axis.

    Args:
        store: Store URL or path (default ``./robustlab.db``) or an open Store.
        suite: Suite name; may be left out when the store holds runs of one suite only.
        suite_version: Suite version; needed when the store holds runs of several versions.
        dataset: Dataset name or fingerprint (prefix); needed when the suite's runs used
            different data.
        run_ids: Compare exactly these runs (ids or unique prefixes) instead of choosing the
            latest complete run of each model.
        sort: Row order: ``kemeny`` (default), ``borda`` or ``mean``.

    Returns:
        The :class:`Leaderboard`.

    Raises:
        StoreError: The store is empty, a run id is unknown or a run is not complete.
        ConfigError: The runs mix suites, suite versions or datasets (the message lists them
            and the option that chooses), or no run measured any axis.
    """
    if sort not in SORT_METHODS:
        raise ConfigError(
            f"The 'sort' parameter of the leaderboard must be one of {', '.join(SORT_METHODS)}. "
            f"Got {sort!r} instead."
        )
    db = open_store(store, create=False)
    notes: list[str] = []
    if run_ids:
        runs = _select_runs(db, run_ids)
    else:
        runs, notes = _select_from_store(db, suite, suite_version, dataset)
    names = _display_names(runs)
    warnings: list[str] = []
    entries: list[Entry] = []
    for r, name in zip(runs, names):
        cells = _axis_cells(db, r["id"])
        if not cells:
            warnings.append(f"{name} (run {r['id']}) measured no robustness axis; left out.")
            continue
        entries.append(
            Entry(
                name=name,
                model=r["model_name"],
                model_fingerprint=r["model_fingerprint"],
                run_id=r["id"],
                seed=int(r["seed"]),
                created_at=_iso(r["created_at"]),
                cells=cells,
            )
        )
    if not entries:
        raise ConfigError(
            f"None of the {len(runs)} runs of suite {runs[0]['suite_name']!r} measured a "
            "robustness axis (all their probes were skipped?); `robustlab report RUN` shows why."
        )
    measured = list(dict.fromkeys(a for e in entries for a in e.cells))
    columns = [
        Column(a.name, a.higher_is_better, a.describe)
        for a in map(axis_definition, order_axes(measured))
    ]
    for e in entries:
        lacking = [c.name for c in columns if c.name not in e.cells]
        if lacking:
            warnings.append(
                f"{e.name} lacks {', '.join(lacking)}: the rank aggregations compare it on the "
                f"axes it shares with each model; its mean covers {len(e.cells)} of "
                f"{len(columns)} axes."
            )
    probe_lists = {repr(r["suite_spec"].get("probes")) for r in runs}
    if len(probe_lists) > 1:
        warnings.append(
            f"The runs of suite {runs[0]['suite_name']!r} v{runs[0]['suite_version']} used "
            f"{len(probe_lists)} different probe lists: the suite changed without a new version, "
            "so the same column may measure different tests. Bump the suite's version when "
            "changing it."
        )
    ordered, agreement, method = rank_entries(entries, columns, sort=sort)
    first = runs[0]
    return Leaderboard(
        suite=first["suite_name"],
        suite_version=int(first["suite_version"]),
        dataset={
            "name": first["dataset_name"],
            "fingerprint": first["dataset_fingerprint"],
            "size": first["dataset_spec"].get("size"),
        },
        columns=columns,
        entries=ordered,
        sort=sort,
        kemeny_method=method,
        agreement=agreement,
        warnings=warnings,
        notes=notes,
        store=db.url,
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _iso(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, dt.datetime) else str(value)
