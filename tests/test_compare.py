"""Paired comparisons (McNemar, churn) and effective robustness over a population of models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

import robustlab
from robustlab.data import ArrayDataset
from robustlab.report import collect
from robustlab.report.compare import mcnemar_exact
from robustlab.report.effective import effective_robustness, fit_logit_line


def test_mcnemar_known_answer() -> None:
    a = np.array([1, 1, 1, 1, 1, 0, 1, 0], bool)
    b = np.array([0, 0, 0, 0, 0, 1, 1, 0], bool)
    n_ab, n_ba, p = mcnemar_exact(a, b)
    assert (n_ab, n_ba) == (5, 1)
    assert p == pytest.approx(2 * (1 + 6) / 2**6)  # two-sided exact binomial, k <= 1 of 6
    assert mcnemar_exact(a, a)[2] == 1.0


def test_logit_line_recovers_a_known_relation() -> None:
    ident = np.array([0.6, 0.7, 0.8, 0.9, 0.95])
    ood = expit(0.8 * logit(ident) - 0.5)
    ood[2] += 0.05  # one model above the line
    fit = fit_logit_line(ident, ood)
    assert fit["effective_robustness"][2] > 0.03
    assert abs(fit["effective_robustness"][0]) < 0.02
    assert fit["nonlinear"] is not None and "p_value" in fit["nonlinear"]


def test_effective_robustness_needs_three_models_then_fits(small_digits, store_url) -> None:
    from robustlab.demo import train_digits_logreg

    dim = ArrayDataset(small_digits.inputs * 0.5, small_digits.targets, name="dim")
    suite = {"name": "pop", "probes": ["clean"]}
    runs = []
    for c in (0.001, 0.01):
        model = train_digits_logreg(C=c, name=f"lr{c}")
        runs.append(
            robustlab.scan(
                model, small_digits, suite, store=store_url, progress=False, shift={"dim": dim}
            )
        )
    fp = runs[0].store.run(runs[0].run_id)["dataset_fingerprint"]
    er = effective_robustness(runs[0].store, fp)
    assert not er["defined"] and "needs at least 3 models" in er["reason"]
    model = train_digits_logreg(C=1.0, name="lr1")
    runs.append(
        robustlab.scan(
            model, small_digits, suite, store=store_url, progress=False, shift={"dim": dim}
        )
    )
    er = effective_robustness(runs[0].store, fp)
    assert er["defined"] and len(er["models"]) == 3
    doc = collect(runs[0].store, [r.run_id for r in runs])
    assert doc["comparisons"][0]["probes"][0]["probe"] == "clean"
    assert next(iter(doc["effective_robustness"].values()))["defined"]


def test_checkpoints_of_one_model_give_seed_variance(
    small_digits, store_url, tmp_path, capsys
) -> None:
    import torch

    from robustlab.cli import main
    from robustlab.demo import train_digits_cnn

    (tmp_path / "m.py").write_text(
        "from robustlab.demo import DigitsCNN\n\ndef build():\n    return DigitsCNN(width=4)\n"
    )
    paths = []
    for seed in (0, 1, 2):
        path = tmp_path / f"seed{seed}.pt"
        torch.save(train_digits_cnn(epochs=1, seed=seed, width=4).module.state_dict(), path)
        paths.append(path)
    np.savez(tmp_path / "d.npz", x=small_digits.inputs.numpy(), y=small_digits.targets)
    argv = [
        "scan",
        "--model",
        f"{tmp_path / 'm.py'}:build",
        "--data",
        str(tmp_path / "d.npz"),
        "--suite",
        str(tmp_path / "s.yaml"),
        "--store",
        store_url,
        "--out",
        str(tmp_path / "rep"),
        "--no-progress",
    ]
    (tmp_path / "s.yaml").write_text("name: seeds\nprobes: [clean]\n")
    for p in paths:
        argv += ["--weights", str(p)]
    main(argv)  # returns normally on success; errors exit non-zero
    import json

    doc = json.loads((tmp_path / "rep" / "results.json").read_text())
    (group,) = doc["seed_variance"]
    assert len(group["runs"]) == 3
    (row,) = group["probes"]
    accs = [
        next(m["value"] for m in r["metrics"] if m["metric"] == "accuracy") for r in doc["runs"]
    ]
    assert row["mean"] == pytest.approx(np.mean(accs))
    assert row["std"] == pytest.approx(np.std(accs, ddof=1))
    assert 0 < row["churn"] < 1
    assert (
        "Seed variance: 3 checkpoints of DigitsCNN" in (tmp_path / "rep" / "index.html").read_text()
    )


def test_reference_agreement_known_answer() -> None:
    from robustlab.metrics import get_metric
    from robustlab.records import Records

    probs = np.eye(3)[[0, 1, 2, 2]]
    records = Records.from_probabilities(probs, [0, 1, 2, 0], list("abcd"), reference=[0, 2, 2, 2])
    est = get_metric("reference_agreement").compute(records)
    assert est.value == pytest.approx(3 / 4)
    assert not get_metric("reference_agreement").applies(
        Records.from_probabilities(probs, [0, 1, 2, 0], list("abcd"))
    )


def test_reference_predictions_are_on_the_same_perturbed_inputs(
    cnn, logreg, small_digits, store_url
) -> None:
    from robustlab import attacks
    from robustlab.seeding import ExampleSeeds

    suite = {
        "name": "ref",
        "probes": ["clean", {"probe": "attack", "attack": "pgd", "epsilon": 0.1, "steps": 5}],
    }
    with_ref = robustlab.scan(
        cnn, small_digits, suite, store=store_url, progress=False, reference=logreg
    )
    clean_ref = logreg.predict_scores(small_digits.inputs).argmax(1).numpy()
    clean_own = cnn.predict_scores(small_digits.inputs).argmax(1).numpy()
    assert with_ref.value("clean", "reference_agreement") == pytest.approx(
        np.mean(clean_ref == clean_own)
    )
    # Under the attack the reference sees the CNN's adversarial inputs, not the clean ones.
    unit = next(
        u for u in with_ref.store.units(with_ref.run_id) if u["probe_key"].startswith("attack")
    )
    adv = attacks.run(
        cnn,
        small_digits.inputs,
        small_digits.targets,
        attack="pgd",
        norm="linf",
        epsilon=0.1,
        # the scan seeds each example by its id (issue 19 item 2)
        seed=ExampleSeeds.of(int(unit["info"]["seed"]), small_digits.ids),
        steps=5,
    ).adversarial
    records = with_ref.store.load_records(with_ref.run_id, unit["probe_key"])
    assert np.array_equal(records.reference, logreg.predict_scores(adv).argmax(1).numpy())
    without = robustlab.scan(cnn, small_digits, suite, store=store_url, progress=False)
    assert without.run_id != with_ref.run_id  # the reference is part of the run's identity
    assert "reference_agreement" not in {m["metric"] for m in without.metrics}


def test_logit_plane_recovers_a_known_relation_over_two_id_sets() -> None:
    from robustlab.report.effective import fit_logit_plane

    a = np.array([0.6, 0.7, 0.8, 0.9, 0.95, 0.85])
    b = np.array([0.5, 0.9, 0.6, 0.7, 0.8, 0.95])
    ood = expit(0.5 * logit(a) + 0.8 * logit(b) - 0.2)
    fit = fit_logit_plane(np.column_stack([a, b]), ood)
    assert fit["coefficients"] == pytest.approx([0.5, 0.8], abs=1e-9)
    assert fit["intercept"] == pytest.approx(-0.2, abs=1e-9)
    assert np.allclose(fit["effective_robustness"], 0, atol=1e-9) and fit["r_squared"] > 0.999


def test_multi_id_effective_robustness_from_the_store(small_digits, store_url) -> None:
    """Models trained on two distributions: fitted against both ID sets, not one."""
    import torch

    from robustlab.demo import train_digits_logreg

    dim = ArrayDataset(small_digits.inputs * 0.5, small_digits.targets, name="dim")
    noisy = ArrayDataset(
        (small_digits.inputs + 0.3 * (torch.arange(64).reshape(1, 1, 8, 8) % 3 == 0)).clamp(0, 1),
        small_digits.targets,
        name="noisy",
    )
    suite = {"name": "pop", "probes": ["clean"]}
    runs = []
    for c, train in ((0.001, None), (0.01, None), (1.0, None), (0.01, dim), (1.0, dim)):
        data = None if train is None else ArrayDataset(train.inputs, train.targets, name="t")
        model = train_digits_logreg(data, C=c, name=f"lr{c}-{'dim' if train else 'id'}")
        runs.append(
            robustlab.scan(
                model,
                small_digits,
                suite,
                store=store_url,
                progress=False,
                shift={"dim": dim, "noisy": noisy},
            )
        )
    store = runs[0].store
    fp = store.run(runs[0].run_id)["dataset_fingerprint"]
    er = effective_robustness(store, fp, id_domains=["id", "dim"])
    assert er["defined"] and er["id_domains"] == ["id", "dim"]
    assert len(er["models"]) == 5 and len(er["coefficients"]) == 2
    m = er["models"][0]
    assert m["ood_domains"] == ["noisy"] and set(m["id_accuracies"]) == {"id", "dim"}
    assert m["effective_robustness"] == pytest.approx(
        m["ood_accuracy"] - m["predicted_ood_accuracy"]
    )
    bad = effective_robustness(store, fp, id_domains=["id", "fog"])
    assert not bad["defined"] and "'fog' not in this data" in bad["reason"]
    assert not effective_robustness(store, fp, id_domains=["id", "dim", "noisy"])["defined"]


def test_moon_shaped_relation_is_flagged_and_drawn() -> None:
    from robustlab.report.svg import scatter_fit

    ident = np.linspace(0.55, 0.97, 9)
    z = logit(ident)
    ood = expit(-1.2 * (z - z.mean()) ** 2 + 0.3 * z)  # rises then falls: a "moon"
    fit = fit_logit_line(ident, ood)
    assert fit["nonlinear"]["significant"] and fit["nonlinear"]["curvature"] < 0
    models = [
        {
            "model": f"m{i}",
            "run": f"r{i}",
            "id_accuracy": a,
            "ood_accuracy": b,
            "effective_robustness": e,
        }
        for i, (a, b, e) in enumerate(zip(ident, ood, fit["effective_robustness"]))
    ]
    svg = str(scatter_fit({**fit, "models": models}, {"r0"}))
    assert 'class="quadratic"' in svg
    straight = fit_logit_line(ident, expit(0.8 * z - 0.5))
    assert not straight["nonlinear"]["significant"]
    assert 'class="quadratic"' not in str(scatter_fit({**straight, "models": models}, set()))
