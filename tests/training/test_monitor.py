"""The monitor: curves measured in a user's own loop, event rules, saved JSON and HTML."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tests.training.conftest import mlp

from robustlab import attacks
from robustlab.errors import DataError
from robustlab.models import TorchModel
from robustlab.training import Monitor, detect_events, fit, make_recipe
from robustlab.training.config import inject_label_noise


def _log(**curves):
    n = len(next(iter(curves.values())))
    return [{"step": 10 * i, **{k: v[i] for k, v in curves.items()}} for i in range(n)]


def test_rules_flag_robust_overfitting_only_when_the_last_falls_from_the_best():
    falling = _log(pgd_accuracy=[0.1, 0.3, 0.4, 0.35, 0.3])
    kinds = [e["kind"] for e in detect_events(falling)]
    assert kinds == ["robust_overfitting"]
    event = detect_events(falling)[0]
    assert event["best_step"] == 20 and event["last"] == 0.3
    assert detect_events(_log(pgd_accuracy=[0.1, 0.3, 0.4, 0.38])) == []


def test_rules_flag_catastrophic_overfitting_when_pgd_collapses_and_fgsm_rises():
    log = _log(pgd_accuracy=[0.1, 0.3, 0.32, 0.05], fgsm_accuracy=[0.1, 0.35, 0.4, 0.7])
    co = [e for e in detect_events(log) if e["kind"] == "catastrophic_overfitting"]
    assert len(co) == 1 and co[0]["step"] == 30
    # both collapsing is a worse model, not catastrophic overfitting
    both = _log(pgd_accuracy=[0.1, 0.3, 0.32, 0.05], fgsm_accuracy=[0.1, 0.35, 0.4, 0.1])
    assert not [e for e in detect_events(both) if e["kind"] == "catastrophic_overfitting"]


def test_rules_flag_memorisation_onset_at_the_first_crossing():
    log = _log(noisy_fit=[0.05, 0.1, 0.15, 0.25, 0.6])
    onset = [e for e in detect_events(log) if e["kind"] == "memorisation_onset"]
    assert [e["step"] for e in onset] == [30]


def test_rules_flag_a_late_rise_and_not_an_early_one():
    late = _log(
        train_accuracy=[0.1, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        clean_accuracy=[0.0, 0.05, 0.05, 0.05, 0.1, 0.5, 0.9, 0.95],
    )
    delayed = [e for e in detect_events(late) if e["kind"] == "delayed_generalisation"]
    assert len(delayed) == 1 and delayed[0]["step"] == 50 and delayed[0]["reference_step"] == 10
    early = _log(train_accuracy=[0.1, 0.9, 1.0, 1.0, 1.0], clean_accuracy=[0.0, 0.8, 0.9, 0.9, 0.9])
    assert not [e for e in detect_events(early) if e["kind"].startswith("delayed")]


def test_monitor_in_a_users_own_loop(small_train, digits_eval, tmp_path):
    x, y = small_train
    groups = ["low" if t < 5 else "high" for t in digits_eval.targets[:150]]
    monitor = Monitor(
        digits_eval.inputs[:150],
        digits_eval.targets[:150],
        every=4,
        epsilon=0.1,
        pgd_steps=5,
        groups=groups,
        train_inputs=x[:100],
        train_targets=y[:100],
    )
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for step in range(1, 13):
        idx = torch.randint(0, len(x), (64,), generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
        monitor.step(net, step)
    assert net.training  # the monitor measured in eval mode and put the mode back
    assert [e["step"] for e in monitor.log] == [4, 8, 12]
    keys = {"clean_accuracy", "pgd_accuracy", "fgsm_accuracy", "ece", "worst_group_accuracy"}
    assert keys | {"train_accuracy"} <= set(monitor.log[-1])
    last = monitor.log[-1]
    assert last["pgd_accuracy"] <= last["clean_accuracy"]
    assert last["worst_group_accuracy"] <= last["clean_accuracy"]
    best = max(monitor.log, key=lambda e: e["pgd_accuracy"])
    assert monitor.best_step == best["step"]
    saved = json.loads(monitor.save(tmp_path / "m.json").read_text())
    assert saved["log"] == monitor.log
    page = monitor.to_html(tmp_path / "m.html").read_text()
    assert "<svg" in page and "pgd_accuracy" in page


def test_monitor_sees_cross_entropy_memorise_noisy_labels(digits_train, digits_eval):
    noisy, flipped = inject_label_noise(np.asarray(digits_train.targets), 0.4, 10, seed=0)
    monitor = Monitor(
        digits_eval.inputs[:200],
        digits_eval.targets[:200],
        every=100,
        train_inputs=digits_train.inputs[:500],
        train_targets=noisy[:500],
        noisy=flipped[:500],
    )
    data = (digits_train.inputs, torch.as_tensor(noisy))
    fit(
        mlp(512),
        data,
        "standard",
        epochs=32,
        batch_size=32,
        optimizer="adam",
        lr=3e-3,
        weight_decay=0.0,
        monitor=monitor,
    )
    fits = [e["noisy_fit"] for e in monitor.log]
    assert fits[1] < 0.2 < fits[-1]  # early learning first, memorisation later
    assert monitor.log[-1]["clean_fit"] > fits[-1]
    peak = max(e["clean_accuracy"] for e in monitor.log)
    assert monitor.log[-1]["clean_accuracy"] < peak  # memorising costs held-out accuracy
    assert "memorisation_onset" in [e["kind"] for e in monitor.events()]


def test_monitor_refuses_a_noise_mask_without_training_data(digits_eval):
    with pytest.raises(DataError, match="train_inputs"):
        Monitor(digits_eval.inputs[:10], digits_eval.targets[:10], noisy=[True] * 10)


def test_monitor_flags_robust_overfitting_on_small_noisy_data_and_a_long_schedule(
    digits_train, digits_eval
):
    # 300 examples, 30% of them mislabelled, 150 epochs of PGD-AT without early stopping: the
    # network memorises the noisy labels adversarially and robust test accuracy falls late
    # (Rice et al.; Dong et al., "Exploring memorization in adversarial training", ICLR 2022)
    noisy, _ = inject_label_noise(np.asarray(digits_train.targets[:300]), 0.3, 10, seed=0)
    monitor = Monitor(
        digits_eval.inputs[:300], digits_eval.targets[:300], every=50, epsilon=0.1, pgd_steps=10
    )
    net = mlp(512)
    fit(
        net,
        (digits_train.inputs[:300], torch.as_tensor(noisy)),
        make_recipe("pgd_at", epsilon=0.1, steps=5),
        epochs=150,
        optimizer="adam",
        lr=3e-3,
        weight_decay=0.0,
        monitor=monitor,
    )
    events = {e["kind"]: e for e in monitor.events()}
    assert "robust_overfitting" in events, monitor.log
    event = events["robust_overfitting"]
    assert event["best"] - event["last"] >= 0.05
    assert monitor.best_step == event["best_step"] < monitor.log[-1]["step"]
    best = monitor.best_module(net)
    model = TorchModel(best, bounds=(0.0, 1.0), num_classes=10)
    kept = attacks.run(
        model, digits_eval.inputs[:300], digits_eval.targets[:300], "pgd", epsilon=0.1, steps=10
    ).robust_accuracy
    assert kept == pytest.approx(event["best"], abs=1e-6)  # the kept weights are the best ones


@pytest.mark.slow
def test_monitor_flags_delayed_generalisation_and_robustness_on_modular_addition():
    p = 23
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    a, b = a.flatten(), b.flatten()
    x = torch.cat([F.one_hot(a, p), F.one_hot(b, p)], 1).float()
    y = (a + b) % p
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    n = int(0.6 * len(y))
    train, held = order[:n], order[n:]
    monitor = Monitor(
        x[held],
        y[held],
        every=100,
        epsilon=0.05,
        pgd_steps=5,
        rise=0.1,
        train_inputs=x[train],
        train_targets=y[train],
    )
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2 * p, 256), torch.nn.ReLU(), torch.nn.Linear(256, p))
    fit(
        net,
        (x[train], y[train]),
        "standard",
        epochs=4000,
        batch_size=n,
        optimizer="adamw",
        lr=3e-3,
        weight_decay=3.0,
        monitor=monitor,
    )
    events = {e["kind"]: e for e in monitor.events()}
    assert "delayed_generalisation" in events, monitor.log
    assert (
        events["delayed_generalisation"]["step"]
        >= 10 * events["delayed_generalisation"]["reference_step"]
    )
    assert "delayed_robustness" in events, monitor.log


def test_monitor_runs_the_standard_ensemble_every_few_measurements(small_train, digits_eval):
    net = fit(mlp(), small_train, "standard", epochs=2).module
    net.train()
    monitor = Monitor(
        digits_eval.inputs[:20],
        digits_eval.targets[:20],
        every=1,
        epsilon=0.1,
        pgd_steps=3,
        ensemble_every=2,
        ensemble_size=10,
    )
    for step in range(3):
        monitor.step(net, step)
    has = ["ensemble_accuracy" in e for e in monitor.log]
    assert has == [True, False, True]
    first = monitor.log[0]
    # the ensemble runs on the first 10 examples, so compare it with PGD's worst case bound loosely
    assert 0.0 <= first["ensemble_accuracy"] <= first["clean_accuracy"] + 0.5
