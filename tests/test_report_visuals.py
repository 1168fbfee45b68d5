"""What a person sees: the gallery of stored images, severity curves and summaries in the HTML."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

import robustlab
from robustlab.probes.base import GALLERY_SIZE
from robustlab.probes.base import WORST_PER_SHARD as WORST

SUITE = {
    "name": "visuals",
    "probes": [
        "clean",
        {
            "probe": "corruption",
            "grid": {"corruption": ["contrast", "gaussian_noise"], "severity": [1, 5]},
        },
        {"probe": "attack", "attack": "pgd", "epsilon": 0.2, "steps": 5},
    ],
}


def test_gallery_curves_and_summaries_render(cnn, small_digits, store_url, tmp_path) -> None:
    result = robustlab.scan(
        cnn, small_digits, SUITE, store=store_url, shard_size=50, progress=False
    )
    arts = [a for a in result.store.artifacts(result.run_id) if a["meta"]["role"] == "gallery"]
    assert len(arts) == GALLERY_SIZE * 6  # the first examples under each of the six probes
    clean_png = next(a for a in arts if a["probe_key"] == "clean" and a["meta"]["index"] == 0)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(clean_png["data"]))), dtype=float)
    expected = np.round(small_digits.inputs[0, 0].numpy() * 255)
    assert np.array_equal(pixels, expected)  # the stored picture is the real input

    html = result.to_html(tmp_path / "r" / "index.html").read_text()
    gallery = html[html.index('<table class="gallery">') :]
    gallery = gallery[: gallery.index("</table>")]
    assert gallery.count('src="data:image/png;base64,') == 6  # one cell per probe, example 0
    assert "contrast: accuracy vs severity" in html
    assert "Summaries across probes" in html and "mean_corruption_accuracy" in html
    doc = json.loads(result.to_json(tmp_path / "r" / "results.json").read_text())
    assert "artifacts" not in doc["runs"][0]  # the JSON export stays metric-only


def _png(art: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(art["data"]))), dtype=float)


def test_worst_examples_are_the_highest_loss_errors_of_each_shard(
    cnn, small_digits, store_url, tmp_path
) -> None:
    result = robustlab.scan(
        cnn, small_digits, SUITE, store=store_url, shard_size=50, progress=False
    )
    store, run_id = result.store, result.run_id
    worst = [a for a in store.artifacts(run_id) if a["meta"]["role"] == "worst"]
    units = {(u["probe_key"], u["shard"]): u for u in store.units(run_id)}
    by_unit: dict[tuple[str, int], list[str]] = {}
    for art in worst:
        shard = next(
            s for (k, s), u in units.items() if k == art["probe_key"] and u["id"] == art["unit_id"]
        )
        by_unit.setdefault((art["probe_key"], shard), []).append(art["meta"]["example_id"])
    assert worst, "the contrast and attack probes misclassify some digits"
    for key, shard in units:
        records = store.load_records(run_id, key)
        part = records.subset(np.arange(len(records)) // 50 == shard)
        wrong = np.flatnonzero(~part.correct)
        expected = [str(part.example_id[i]) for i in wrong[np.argsort(-part.loss[wrong])][:WORST]]
        assert by_unit.get((key, shard), []) == expected, (key, shard)
    by_id = {str(i): n for n, i in enumerate(small_digits.ids)}
    for art in worst:
        meta = art["meta"]
        n = by_id[meta["example_id"]]
        assert meta["target"] == int(small_digits.targets[n]) != meta["prediction"]
        assert meta["loss"] > 0 and 0 < meta["confidence"] <= 1
        if art["probe_key"] == "clean":  # the picture is the input the model got wrong
            assert np.array_equal(_png(art), np.round(small_digits.inputs[n, 0].numpy() * 255))

    html = result.to_html(tmp_path / "w.html").read_text()
    assert f'id="run-{run_id}-worst"' in html
    shown = html[html.index(f'id="run-{run_id}-worst"') : html.index(f'id="run-{run_id}-metadata"')]
    probes_with_errors = {a["probe_key"] for a in worst}
    assert shown.count('class="probe"') == len(probes_with_errors)
    assert shown.count("<figure") == sum(
        min(4, len([a for a in worst if a["probe_key"] == k])) for k in probes_with_errors
    )
    top = max(worst, key=lambda a: a["meta"]["loss"])
    assert (
        f'true {top["meta"]["target"]}<br><span class="pred">pred {top["meta"]["prediction"]}</span>'
        in shown
    )


def test_stored_corrupted_image_matches_the_corruption(cnn, small_digits, store_url) -> None:
    from robustlab.perturbations import image as corruptions

    result = robustlab.scan(
        cnn, small_digits, SUITE, store=store_url, shard_size=50, progress=False
    )
    key = "corruption(contrast,severity=5)"
    art = next(
        a
        for a in result.store.artifacts(result.run_id)
        if a["probe_key"] == key and a["meta"]["index"] == 1
    )
    unit = next(
        u for u in result.store.units(result.run_id) if u["probe_key"] == key and u["shard"] == 0
    )
    again = corruptions.apply(
        small_digits.inputs[:50], "contrast", 5, seed=int(unit["info"]["seed"])
    )
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(art["data"]))), dtype=float)
    assert np.abs(pixels - np.round(again[1, 0].numpy() * 255)).max() <= 1


def test_robust_accuracy_curve_from_minimal_perturbations_known_answer() -> None:
    from robustlab.report.data import robust_accuracy_at

    # Unbroken & correct; broken at 0.1; broken at 0.3; misclassified clean (no perturbation).
    correct = np.array([True, False, False, False])
    perturbation = np.array([np.nan, 0.1, 0.3, np.nan])
    curve = robust_accuracy_at(correct, perturbation, np.array([0.0, 0.1, 0.2, 0.3, 1.0]))
    assert curve.tolist() == [0.75, 0.5, 0.5, 0.25, 0.25]


def test_minimal_probe_curve_and_per_class_medians_in_report(
    cnn, small_digits, store_url, tmp_path
) -> None:
    suite = {
        "name": "curve",
        "probes": [
            "clean",
            {"probe": "minimal", "attack": "deepfool", "norm": "linf"},
            {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": 0.1, "steps": 10},
        ],
    }
    result = robustlab.scan(cnn, small_digits, suite, store=store_url, progress=False)
    doc = result._doc()
    (curve,) = doc["runs"][0]["robustness_curves"]
    acc = np.array(curve["robust_accuracy"])
    assert acc[0] == pytest.approx(result.value("clean"))  # epsilon 0: the clean accuracy
    assert np.all(np.diff(acc) <= 1e-12)  # never increases with the budget
    (point,) = curve["confirmed"]
    assert point["epsilon"] == pytest.approx(0.1)
    # A fixed-budget attack at least as strong as the minimal one lies on or below the curve.
    at = np.interp(0.1, curve["epsilons"], curve["robust_accuracy"])
    assert point["accuracy"] <= at + 0.05
    median = next(
        m for m in result.metrics if m["metric"] == "median_perturbation" and m["kind"] == "minimal"
    )
    assert set(median["details"]["per_class"]) <= {str(c) for c in range(10)}
    html = result.to_html(tmp_path / "c.html").read_text()
    assert "Robust accuracy vs perturbation budget" in html
    assert "Median minimal perturbation per class" in html


def test_robustness_curve_of_a_shift_scan_uses_in_distribution_examples(
    cnn, small_digits, store_url
) -> None:
    dim = robustlab.ArrayDataset(
        small_digits.inputs[:60] * 0.2, small_digits.targets[:60], name="dim"
    )
    suite = {
        "name": "curve-shift",
        "probes": ["clean", {"probe": "minimal", "attack": "deepfool", "norm": "linf"}],
    }
    result = robustlab.scan(
        cnn, small_digits, suite, store=store_url, progress=False, shift={"dim": dim}
    )
    (curve,) = result._doc()["runs"][0]["robustness_curves"]
    assert curve["robust_accuracy"][0] == pytest.approx(result.value("clean"))


def test_summary_confusion_and_minimal_rows(cnn, small_digits, store_url, tmp_path) -> None:
    """Issue 23 item 13: the summary names the weakest axes with their cost in accuracy and
    what to try next; per-class accuracy and the confusion matrix under the costliest probe
    agree with the records; a minimal-norm row shows its median perturbation, not accuracy 0."""
    import re

    from robustlab.report import write_report
    from robustlab.report.summary import class_breakdown, weakest_axes

    suite = {
        "name": "summary",
        "probes": [
            "clean",
            {"probe": "perturbation", "perturbation": "gaussian_noise", "severity": 5},
            {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": 0.2, "steps": 5},
            {"probe": "minimal", "attack": "deepfool", "norm": "linf"},
        ],
    }
    result = robustlab.scan(cnn, small_digits, suite, store=store_url, progress=False)
    run = result._doc()["runs"][0]
    weak = weakest_axes(run)
    clean = result.value("clean")
    pgd = next(m for m in result.metrics if m["kind"] == "attack" and m["metric"] == "accuracy")
    assert weak[0]["axis"] == "adversarial"  # PGD at 0.2 costs most
    assert weak[0]["cost"] == pytest.approx(clean - pgd["value"])
    assert weak[0]["worst_probe"] == pgd["label"]
    breakdown = class_breakdown(result.store, run)
    assert breakdown is not None and breakdown["confusion"]["key"] == pgd["probe_key"]
    records = result.store.load_records(result.run_id, pgd["probe_key"])
    matrix = np.array(breakdown["confusion"]["matrix"])
    assert matrix.sum() == len(records.target)
    assert np.trace(matrix) == int(np.sum(records.correct))
    for c, acc in enumerate(breakdown["confusion"]["accuracy"]):
        mask = np.asarray(records.target) == c
        if mask.any():
            assert acc == pytest.approx(float(np.mean(np.asarray(records.correct)[mask])))
    html, _ = write_report(result.store, [result.run_id], tmp_path / "rep")
    text = html.read_text(encoding="utf-8")
    assert text.index('id="summary"') < text.index('id="scorecard"')  # the summary comes first
    assert f'costs <span class="cost">{100 * (clean - pgd["value"]):.1f} points</span>' in text
    assert "What to try next" in text and "adversarial training" in text
    assert 'table class="confusion"' in text and 'table class="per-class-accuracy"' in text
    median = next(
        m for m in result.metrics if m["metric"] == "median_perturbation" and m["kind"] == "minimal"
    )
    assert f"median ε {median['value']:.4f}" in text
    assert "median perturbation" in str(result) and "deepfool" in str(result)
    assert not re.search(r"deepfool minimal L∞\s+accuracy 0\.0000", str(result))
