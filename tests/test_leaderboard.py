"""The leaderboard: known answers for the aggregations, run selection and its refusals, the
outputs (HTML, CSV, Markdown, JSON), and a leaderboard of real scans."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

import robustlab
from helpers_core import TinyLinear
from robustlab.axes import AXES, axis_scores
from robustlab.errors import ConfigError, StoreError, UnknownNameError
from robustlab.leaderboard import (
    Leaderboard,
    borda_scores,
    build_leaderboard,
    kemeny_ranking,
    kendall_tau,
    leaderboard_csv,
    leaderboard_json,
    leaderboard_markdown,
    mean_scores,
    orient,
    pairwise_preferences,
    read_leaderboard_json,
    render_leaderboard_html,
    write_leaderboard_html,
)
from robustlab.leaderboard.aggregate import (
    competition_ranks,
    discordant_pairs,
    kemeny_agreement,
    kemeny_exact,
    kemeny_local_search,
)
from robustlab.leaderboard.formats import rich_tables
from robustlab.models import TorchModel
from robustlab.store import Store

XSS = "<script>alert(1)</script>"
SVG_NS = "http://www.w3.org/2000/svg"
NAN = float("nan")

# -- aggregation: known answers ----------------------------------------------------------------

# Three models on three axes (higher is better everywhere):
#   axis 0: A > B > C      axis 1: C > A = B      axis 2: B > C > A
THREE = np.array([[0.9, 0.5, 0.7], [0.8, 0.5, 0.9], [0.7, 0.6, 0.8]])


def test_orient_flips_lower_is_better_axes() -> None:
    got = orient([[0.9, 0.05], [0.8, 0.2]], [True, False])
    assert np.allclose(got, [[0.9, 0.95], [0.8, 0.8]])
    with pytest.raises(ConfigError, match="one entry per axis"):
        orient([[0.9, 0.05]], [True])


def test_pairwise_preferences_and_borda_known_answer() -> None:
    p = pairwise_preferences(THREE)
    # A-B: A wins axis 0, tie on axis 1, B wins axis 2 -> (1 + 0.5 + 0) / 3
    assert p[0, 1] == pytest.approx(0.5)
    assert p[0, 2] == pytest.approx(1 / 3)  # A beats C on axis 0 only
    assert p[1, 2] == pytest.approx(2 / 3)  # B beats C on axes 0 and 2
    assert np.allclose(p + p.T, 1 - np.eye(3))
    # Borda points n - average rank per axis: A (2, 0.5, 0), B (1, 0.5, 2), C (0, 2, 1)
    assert borda_scores(THREE).tolist() == pytest.approx([2.5 / 3, 3.5 / 3, 3 / 3])
    assert mean_scores(THREE).tolist() == pytest.approx([0.7, 2.2 / 3, 0.7])


def test_kemeny_known_answer() -> None:
    # agreements: B>C>A = P[B,C] + P[B,A] + P[C,A] = 2/3 + 1/2 + 2/3 = 11/6; every other order
    # scores at most 3/2
    p = pairwise_preferences(THREE)
    assert kemeny_ranking(THREE) == [1, 2, 0]
    assert kemeny_agreement(p, [1, 2, 0]) == pytest.approx(11 / 6)
    for order in itertools.permutations(range(3)):
        if list(order) != [1, 2, 0]:
            assert kemeny_agreement(p, order) <= 1.5 + 1e-12


def test_mean_and_rank_aggregation_disagree_on_a_lopsided_model() -> None:
    # A is mediocre everywhere; B edges A on two axes and collapses on the third.
    scores = np.array([[0.60, 0.60, 0.60], [0.61, 0.61, 0.10], [0.50, 0.50, 0.50]])
    mean = mean_scores(scores)
    assert mean.tolist() == pytest.approx([0.6, 1.32 / 3, 0.5])
    assert borda_scores(scores).tolist() == pytest.approx([4 / 3, 4 / 3, 1 / 3])
    order = kemeny_ranking(scores)
    assert order == [1, 0, 2]  # B > A (7/3) beats A > B (2)
    kemeny = -np.argsort(order).astype(float)
    assert discordant_pairs(mean, kemeny) == [(0, 1), (2, 1)]
    assert kendall_tau(mean, kemeny) == pytest.approx(-1 / 3)


def test_missing_cells_compare_pairs_on_shared_axes() -> None:
    scores = np.array([[0.9, NAN], [0.8, 0.5], [NAN, 0.7]])
    p = pairwise_preferences(scores)
    assert p[0, 1] == 1.0  # only axis 0 is shared
    assert p[0, 2] == 0.5  # nothing shared: a tie
    assert p[1, 2] == 0.0  # only axis 1 is shared
    assert borda_scores(scores).tolist() == pytest.approx([1.5, 0.0, 1.5])
    assert mean_scores(scores).tolist() == pytest.approx([0.9, 0.65, 0.7])
    assert np.isnan(mean_scores(np.array([[NAN, NAN]])))[0]


def test_rank_aggregation_ignores_monotone_rescaling_unlike_the_mean() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random((6, 4))
    squashed = scores.copy()
    squashed[:, 0] = squashed[:, 0] ** 8  # same order on axis 0, very different scale
    assert np.allclose(borda_scores(scores), borda_scores(squashed))
    assert kemeny_ranking(scores) == kemeny_ranking(squashed)
    assert not np.allclose(mean_scores(scores), mean_scores(squashed))


def test_a_model_best_on_every_axis_is_first_everywhere() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random((7, 5)) * 0.9
    scores[4] = 0.95
    assert kemeny_ranking(scores)[0] == 4
    assert int(np.argmax(borda_scores(scores))) == 4
    assert competition_ranks(borda_scores(scores))[4] == 1


def test_kemeny_exact_matches_brute_force() -> None:
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n, m = int(rng.integers(2, 7)), int(rng.integers(1, 6))
        scores = np.round(rng.random((n, m)), 1)
        p = pairwise_preferences(scores)
        brute = max(kemeny_agreement(p, o) for o in itertools.permutations(range(n)))
        assert kemeny_agreement(p, kemeny_exact(p)) == pytest.approx(brute)


def test_kemeny_heuristic_matches_the_exact_answer_on_small_cases() -> None:
    for seed in range(150):
        rng = np.random.default_rng(seed)
        n, m = int(rng.integers(3, 10)), int(rng.integers(2, 10))
        scores = np.round(rng.random((n, m)), 1)  # rounding makes ties
        scores[rng.random((n, m)) < 0.1] = np.nan
        p = pairwise_preferences(scores)
        exact = kemeny_agreement(p, kemeny_ranking(scores))
        heuristic = kemeny_ranking(scores, exact_limit=0)
        assert sorted(heuristic) == list(range(n))
        assert kemeny_agreement(p, heuristic) == pytest.approx(exact, abs=1e-9), seed


def test_local_search_never_worsens_its_start() -> None:
    rng = np.random.default_rng(0)
    p = pairwise_preferences(rng.random((15, 6)))
    start = list(rng.permutation(15))
    found = kemeny_local_search(p, start)
    assert kemeny_agreement(p, found) >= kemeny_agreement(p, start)
    with pytest.raises(ConfigError, match="permutation"):
        kemeny_local_search(p, [0, 1])


def test_kendall_tau_matches_scipy_tau_b() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 4, size=9).astype(float)
        b = rng.integers(0, 4, size=9).astype(float)
        expected = stats.kendalltau(a, b).statistic
        got = kendall_tau(a, b)
        assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)
    assert math.isnan(kendall_tau([1.0], [2.0]))
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_competition_ranks() -> None:
    assert competition_ranks([0.5, 0.9, 0.5, NAN]) == [2, 1, 2, None]


def test_bad_score_matrices_are_refused() -> None:
    with pytest.raises(ConfigError, match="2-d array"):
        mean_scores([0.1, 0.2])
    with pytest.raises(ConfigError, match="finite"):
        borda_scores([[0.1, float("inf")]])


# -- building from a store ---------------------------------------------------------------------

PROBES = {
    "clean": ("clean", {"probe": "clean"}),
    "corruption": ("corruption", {"probe": "corruption", "corruption": "noise", "severity": 3}),
    "attack": ("attack", {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": 0.03}),
}


def add_run(
    store: Store,
    model: str,
    values: dict[str, float],
    *,
    suite: str = "board",
    version: int = 1,
    dataset: str = "digits",
    status: str = "complete",
    fingerprint: str | None = None,
    extra_probe: bool = False,
) -> str:
    """A stored run with the given headline values (no records), written in milliseconds.

    ``values`` keys: ``clean`` (accuracy, with an interval), ``ece`` (under the clean probe),
    ``corruption`` and ``attack`` (accuracies).
    """
    fp = fingerprint or f"fp-{model}"[:64]
    model_id = store.add_model(fp, {"name": model, "adapter": "FunctionModel"})
    dataset_id = store.add_dataset(f"fp-{dataset}", {"name": dataset, "size": 100})
    kinds = [k for k in ("clean", "corruption", "attack") if k in values or k == "clean"]
    specs = [PROBES[k][1] for k in kinds]
    if extra_probe:
        specs.append({"probe": "corruption", "corruption": "blur", "severity": 1})
    run_id = store.create_run(
        run_key=f"{fp}-{suite}-{version}-{dataset}",
        model_id=model_id,
        dataset_id=dataset_id,
        suite_spec={"name": suite, "version": version, "probes": specs},
        seed=0,
        shard_size=100,
        environment={},
    )
    rows = []
    for kind in kinds:
        key = kind
        store.write_unit(
            run_id,
            probe_key=key,
            probe_spec=PROBES[kind][1],
            shard=0,
            start=0,
            stop=100,
            records=None,
            seconds=0.1,
            info={"label": kind, "kind": PROBES[kind][0]},
        )
        metric_values = {"accuracy": values.get(kind)}
        if kind == "clean":
            metric_values["ece"] = values.get("ece")
        for metric, value in metric_values.items():
            if value is None:
                continue
            ci = (value - 0.02, value + 0.02) if kind == "clean" else (value - 0.05, value + 0.05)
            rows.append(
                {
                    "probe_key": key,
                    "metric": metric,
                    "value": value,
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "n": 100,
                    "method": "test",
                    "higher_is_better": metric != "ece",
                }
            )
    store.write_metrics(run_id, rows)
    store.set_status(run_id, status)
    return run_id


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path}/board.db")


LOPSIDED = {
    "steady": {"clean": 0.60, "corruption": 0.60, "attack": 0.60},
    "lopsided": {"clean": 0.61, "corruption": 0.61, "attack": 0.10},
    "weak": {"clean": 0.50, "corruption": 0.50, "attack": 0.50},
}


def fill(store: Store, models: dict[str, dict[str, float]], **kwargs: Any) -> dict[str, str]:
    return {name: add_run(store, name, values, **kwargs) for name, values in models.items()}


def test_board_known_answer(store: Store) -> None:
    ids = fill(store, LOPSIDED)
    board = build_leaderboard(store)
    assert (board.suite, board.suite_version) == ("board", 1)
    assert board.dataset["name"] == "digits" and board.dataset["size"] == 100
    assert [c.name for c in board.columns] == ["clean", "corruptions", "adversarial"]
    assert [e.name for e in board.entries] == ["lopsided", "steady", "weak"]  # Kemeny order
    by = {e.name: e for e in board.entries}
    assert by["steady"].mean == pytest.approx(0.6)
    assert by["lopsided"].mean == pytest.approx(1.32 / 3)
    assert by["steady"].borda == pytest.approx(4 / 3) == by["lopsided"].borda
    assert [by[n].kemeny for n in ("lopsided", "steady", "weak")] == [1, 2, 3]
    assert [by[n].mean_rank for n in ("steady", "weak", "lopsided")] == [1, 2, 3]
    assert [by[n].borda_rank for n in ("steady", "lopsided", "weak")] == [1, 1, 3]
    assert by["lopsided"].disagrees and by["steady"].disagrees and by["weak"].disagrees
    assert board.agreement["mean_vs_kemeny"] == pytest.approx(-1 / 3)
    assert board.agreement["discordant"][0] == {
        "mean_prefers": "steady",
        "kemeny_prefers": "lopsided",
        "wins": 2.0,
        "shared": 3,
    }
    assert by["steady"].run_id == ids["steady"]
    cell = by["steady"].cells["clean"]
    assert (cell.value, cell.ci_low, cell.ci_high) == pytest.approx((0.6, 0.58, 0.62))
    assert board.best("clean") == {ids["lopsided"]}
    assert board.best("adversarial") == {ids["steady"]}
    assert board.kemeny_method == "exact" and board.warnings == [] and board.notes == []


def test_board_cells_are_the_axis_scores_of_the_runs(store: Store) -> None:
    from robustlab.report.data import run_data

    ids = fill(store, LOPSIDED)
    board = build_leaderboard(store)
    for run in (run_data(store, i) for i in ids.values()):
        entry = next(e for e in board.entries if e.run_id == run["id"])
        expected = {a["axis"]: a["value"] for a in axis_scores(run["metrics"], run["probes"])}
        assert {k: c.value for k, c in entry.cells.items()} == expected


def test_sort_orders(store: Store) -> None:
    fill(store, LOPSIDED)
    assert [e.name for e in build_leaderboard(store, sort="mean").entries] == [
        "steady",
        "weak",
        "lopsided",
    ]
    # a Borda tie between lopsided and steady is broken by the Kemeny position
    assert [e.name for e in build_leaderboard(store, sort="borda").entries] == [
        "lopsided",
        "steady",
        "weak",
    ]
    with pytest.raises(ConfigError, match="'sort' parameter"):
        build_leaderboard(store, sort="median")


def test_lower_is_better_axis_and_missing_cells(store: Store) -> None:
    fill(
        store,
        {
            "calibrated": {"clean": 0.9, "ece": 0.01, "corruption": 0.7},
            "overconfident": {"clean": 0.9, "ece": 0.20, "corruption": 0.7, "attack": 0.4},
        },
    )
    board = build_leaderboard(store)
    names = [c.name for c in board.columns]
    assert names == ["clean", "corruptions", "adversarial", "calibration"]
    assert [e.name for e in board.entries] == ["calibrated", "overconfident"]
    calibrated = board.entries[0]
    assert "adversarial" not in calibrated.cells
    # ties on clean and corruptions, calibration decides; adversarial is not shared
    assert calibrated.borda == pytest.approx(2 / 3)
    assert calibrated.mean == pytest.approx((0.9 + 0.7 + 0.99) / 3)
    assert any("calibrated lacks adversarial" in w for w in board.warnings)
    assert board.best("calibration") == {calibrated.run_id}
    html = render_leaderboard_html(board)
    assert 'title="calibrated was not measured on adversarial">–</td>' in html


def test_latest_complete_run_per_model(store: Store) -> None:
    add_run(store, "m1", {"clean": 0.5})
    newest = add_run(store, "m1", {"clean": 0.7})
    add_run(store, "m1", {"clean": 0.9}, status="interrupted")
    add_run(store, "m2", {"clean": 0.6})
    board = build_leaderboard(store)
    assert len(board.entries) == 2
    m1 = next(e for e in board.entries if e.name == "m1")
    assert m1.run_id == newest and m1.cells["clean"].value == 0.7
    assert any("1 unfinished run left out" in n for n in board.notes)
    assert any("1 older run of the same models" in n for n in board.notes)


def test_two_checkpoints_of_one_name_are_two_rows(store: Store) -> None:
    add_run(store, "cnn", {"clean": 0.5}, fingerprint="aaaaaaaa11")
    add_run(store, "cnn", {"clean": 0.7}, fingerprint="bbbbbbbb22")
    board = build_leaderboard(store)
    assert sorted(e.name for e in board.entries) == ["cnn (aaaaaa)", "cnn (bbbbbb)"]


def test_explicit_run_ids(store: Store) -> None:
    ids = fill(store, LOPSIDED)
    board = build_leaderboard(store, run_ids=[ids["weak"][:8], ids["steady"]])
    assert sorted(e.name for e in board.entries) == ["steady", "weak"]
    other = add_run(store, "x", {"clean": 0.5}, suite="other")
    with pytest.raises(ConfigError, match="different suites") as exc:
        build_leaderboard(store, run_ids=[ids["weak"], other])
    assert f"{other} (other v1)" in str(exc.value)
    with pytest.raises(StoreError, match="No run 'nope'"):
        build_leaderboard(store, run_ids=["nope"])
    broken = add_run(store, "y", {"clean": 0.5}, status="failed")
    with pytest.raises(StoreError, match="is 'failed', not complete"):
        build_leaderboard(store, run_ids=[broken])


def test_many_models_use_the_local_search(store: Store) -> None:
    rng = np.random.default_rng(0)
    for i in range(14):
        add_run(
            store,
            f"m{i:02d}",
            {k: float(v) for k, v in zip(("clean", "corruption", "attack"), rng.random(3))},
        )
    board = build_leaderboard(store)
    assert board.kemeny_method == "local search"
    assert sorted(e.kemeny for e in board.entries) == list(range(1, 15))
    assert [e.kemeny for e in board.entries] == list(range(1, 15))  # sorted by it


def test_empty_store_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="is empty; run `robustlab demo` or `robustlab scan`"):
        build_leaderboard(store)


def test_several_suites_default_to_the_one_with_most_models(store: Store) -> None:
    fill(store, LOPSIDED)
    add_run(store, "other-model", {"clean": 0.5}, suite="quick")
    board = build_leaderboard(store)
    assert len(board.entries) == 3 and "other-model" not in [e.model for e in board.entries]
    msg = " ".join(board.notes)
    assert "ranking suite 'board'" in msg and "board v1 (3 models), quick v1 (1 model)" in msg
    assert "--suite NAME" in msg
    assert len(build_leaderboard(store, suite="quick").entries) == 1
    with pytest.raises(UnknownNameError, match="Did you mean 'quick'") as exc2:
        build_leaderboard(store, suite="quik")
    assert "Suites with runs: board v1" in str(exc2.value)


def test_several_versions_are_never_mixed(store: Store) -> None:
    fill(store, LOPSIDED)
    add_run(store, "newer", {"clean": 0.5}, version=2)
    with pytest.raises(ConfigError) as exc:
        build_leaderboard(store, suite="board")
    msg = str(exc.value)
    assert "board v1 (3 models), board v2 (1 model)" in msg
    assert "--suite-version 2 (the newest)" in msg
    assert [e.name for e in build_leaderboard(store, suite_version=2).entries] == ["newer"]
    assert len(build_leaderboard(store, suite_version=1).entries) == 3
    with pytest.raises(ConfigError, match="versions with runs: 1, 2"):
        build_leaderboard(store, suite_version=3)


def test_several_datasets_are_never_mixed(store: Store) -> None:
    fill(store, LOPSIDED)
    add_run(store, "elsewhere", {"clean": 0.5}, dataset="cifar")
    with pytest.raises(ConfigError) as exc:
        build_leaderboard(store)
    assert "cifar [fp-cifar] (1 model), digits [fp-digits] (3 models)" in str(exc.value)
    assert "--dataset NAME" in str(exc.value)
    assert len(build_leaderboard(store, dataset="digits").entries) == 3
    assert len(build_leaderboard(store, dataset="fp-ci").entries) == 1
    with pytest.raises(ConfigError, match="on dataset 'mnist'"):
        build_leaderboard(store, dataset="mnist")


def test_changed_probe_list_without_new_version_is_a_warning(store: Store) -> None:
    add_run(store, "a", {"clean": 0.5})
    add_run(store, "b", {"clean": 0.6}, extra_probe=True)
    board = build_leaderboard(store)
    assert any("2 different probe lists" in w for w in board.warnings)


def test_all_runs_without_axes_are_refused(store: Store) -> None:
    run = add_run(store, "a", {"clean": 0.5})
    store.write_metrics(run, [])
    with pytest.raises(ConfigError, match="measured a robustness axis"):
        build_leaderboard(store)


# -- outputs -----------------------------------------------------------------------------------


def _assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    urls = re.findall(r"https?://[^\s\"'<>)]*", html)
    assert set(urls) <= {SVG_NS}, urls


def test_html_is_self_contained_and_escapes_names(store: Store, tmp_path: Path) -> None:
    fill(store, {**LOPSIDED, XSS: {"clean": 0.2, "corruption": 0.2, "attack": 0.2}})
    board = build_leaderboard(store)
    path = write_leaderboard_html(board, tmp_path / "out")
    assert path == tmp_path / "out" / "leaderboard.html"
    html = path.read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "board v1" in html and board.generated_at in html
    for col in board.columns:
        describe = next(a.describe for a in AXES if a.name == col.name)
        assert describe in html
    # the best cells of each axis column (ties: all of them), and of mean, Borda and Kemeny
    top_borda = max(e.borda for e in board.entries)
    expected = sum(len(board.best(c.name)) for c in board.columns) + 1 + 1
    expected += sum(1 for e in board.entries if e.borda == pytest.approx(top_borda))
    assert len(re.findall(r'<td class="[^"]*\bbest\b', html)) == expected
    assert html.count("<circle") == sum(len(e.cells) for e in board.entries)
    assert html.count('<tr id="run-') == 4
    assert "Colombo et al." in html


def test_csv_export(store: Store) -> None:
    fill(store, {**LOPSIDED, "=cmd()": {"clean": 0.3}})
    board = build_leaderboard(store)
    rows = list(csv.DictReader(io.StringIO(leaderboard_csv(board))))
    assert [r["model"] for r in rows] == [
        e.name if e.name[0] != "=" else "'=cmd()" for e in board.entries
    ]
    steady = next(r for r in rows if r["model"] == "steady")
    assert float(steady["clean"]) == 0.6 and float(steady["clean ci_low"]) == pytest.approx(0.58)
    assert math.isnan(float(steady["corruptions ci_low"] or "nan"))
    assert float(steady["mean"]) == pytest.approx(0.6)
    assert int(steady["kemeny"]) == next(e.kemeny for e in board.entries if e.name == "steady")
    formula = next(r for r in rows if r["model"] == "'=cmd()")
    assert formula["adversarial"] == ""  # missing cell


def test_markdown_export_escapes(store: Store) -> None:
    fill(store, {**LOPSIDED, "a|b <i>": {"clean": 0.3, "corruption": 0.3, "attack": 0.3}})
    md = leaderboard_markdown(build_leaderboard(store))
    assert "a\\|b &lt;i&gt;" in md and "<i>" not in md
    header = next(line for line in md.splitlines() if line.startswith("| # |"))
    assert header.count("|") == 1 + 2 + 3 + 4  # #, model, 3 axes, 4 aggregations
    assert "**0.6100**" in md  # best clean value in bold
    assert "The mean ranks steady above lopsided" in md


def test_json_round_trip(store: Store, tmp_path: Path) -> None:
    fill(store, LOPSIDED)
    board = build_leaderboard(store)
    path = tmp_path / "b.json"
    path.write_text(leaderboard_json(board))
    doc = json.loads(path.read_text())
    assert doc["schema"] == "robustlab.leaderboard" and doc["schema_version"] == 1
    again = read_leaderboard_json(path)
    assert again.to_dict() == board.to_dict()
    assert math.isnan(again.entries[0].cells["corruptions"].ci_low)  # null in JSON, NaN again
    with pytest.raises(ConfigError, match="newer than this RobustLab"):
        Leaderboard.from_dict({**doc, "schema_version": 99})
    with pytest.raises(ConfigError, match="Not a leaderboard document"):
        Leaderboard.from_dict({**doc, "schema": "robustlab.report"})


def test_terminal_tables_fit_the_width(store: Store) -> None:
    from rich.console import Console

    fill(store, LOPSIDED)
    board = build_leaderboard(store)
    for width in (60, 100, 200):
        console = Console(width=width, record=True)
        for table in rich_tables(board, width):
            console.print(table)
        text = console.export_text()
        assert all(len(line) <= width for line in text.splitlines())
        for e in board.entries:
            assert e.name in text


# -- a leaderboard of real scans ---------------------------------------------------------------

REAL_SUITE: dict[str, Any] = {
    "name": "board-real",
    "version": 1,
    "probes": [
        "clean",
        {"probe": "corruption", "corruption": "gaussian_noise", "severity": 5},
        {"probe": "attack", "attack": "fgsm", "norm": "linf", "epsilon": 0.1},
    ],
}


def test_leaderboard_of_real_scans(tmp_path: Path, small_digits, cnn, logreg) -> None:
    store = Store(f"sqlite:///{tmp_path}/real.db")
    tiny = TorchModel(TinyLinear(), num_classes=10, name="tiny-linear")
    results = {
        m.name: robustlab.scan(m, small_digits, REAL_SUITE, store=store, progress=False)
        for m in (cnn, logreg, tiny)
    }
    board = build_leaderboard(store)
    assert len(board.entries) == 3
    assert [c.name for c in board.columns] == [
        "clean",
        "corruptions",
        "adversarial",
        "subgroups",
        "calibration",
    ]
    for name, res in results.items():
        entry = next(e for e in board.entries if e.name == name)
        assert entry.cells["clean"].value == pytest.approx(res.value("clean"))
    # the gradient attack cannot run on the scikit-learn model: a missing cell, not a zero
    lr = next(e for e in board.entries if e.name == logreg.name)
    assert "adversarial" not in lr.cells
    assert board.entries[-1].name == "tiny-linear"  # an untrained model is last by every rule
    html = render_leaderboard_html(board)
    _assert_self_contained(html)
    assert all(name in html for name in results)
