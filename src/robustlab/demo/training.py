"""The training demo: standard and PGD-AT training of a digits CNN, monitored, then scanned."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["build_network", "run_training_demo"]


def build_network(name: str, *, seed: int = 0) -> nn.Module:
    """A fresh network by name: ``digits-cnn`` (the demo's CNN) or ``digits-mlp`` (64-128-10)."""
    from robustlab.demo.digits import DigitsCNN
    from robustlab.errors import ConfigError

    torch.manual_seed(seed)
    if name == "digits-cnn":
        return DigitsCNN(16)
    if name == "digits-mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    raise ConfigError(
        f"Unknown built-in network {name!r}. Available: digits-cnn, digits-mlp; or give "
        f"FILE.py:FACTORY."
    )


def run_training_demo(
    *,
    store: Any = None,
    out: str | Path = "robustlab-report",
    suite: str = "quick",
    seed: int = 0,
    progress: bool = True,
    epochs: int = 8,
    epsilon: float = 0.1,
) -> tuple[list[Any], Path, Path]:
    """Train the digits CNN twice (standard, and PGD-AT with SWA) under a monitor, scan both
    with ``suite`` into the store, and write ``training.html`` with the curves and events.

    Returns:
        The two ScanResults, the path of the training page and of the training JSON.
    """
    from robustlab.data import ArrayDataset, load_dataset
    from robustlab.models import TorchModel
    from robustlab.runner import scan
    from robustlab.store import open_store
    from robustlab.training import Monitor, fit, make_recipe
    from robustlab.training.chart import ACCURACY_KEYS, svg_chart

    db = open_store(store)
    train, test = load_dataset("digits-train"), load_dataset("digits-test")
    assert isinstance(train, ArrayDataset) and isinstance(test, ArrayDataset)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    runs = [
        ("standard", make_recipe("standard"), None),
        ("pgd_at", make_recipe("pgd_at", epsilon=epsilon, steps=5), "swa"),
    ]
    results, summary, sections = [], [], []
    for label, recipe, averaging in runs:
        monitor = Monitor(
            test.inputs[:200],
            test.targets[:200],
            every=20,
            epsilon=epsilon,
            pgd_steps=10,
            seed=seed,
        )
        trained = fit(
            build_network("digits-cnn", seed=seed),
            (train.inputs, train.targets),
            recipe,
            epochs=epochs,
            optimizer="adam",
            lr=3e-3,
            weight_decay=0.0,
            averaging=averaging,
            monitor=monitor,
            seed=seed,
        )
        trained.save(folder / f"training-{label}.json")
        model = TorchModel(
            trained.module, bounds=(0.0, 1.0), num_classes=10, name=f"digits-cnn-{label}"
        )
        results.append(scan(model, test, suite, store=db, seed=seed, progress=progress))
        last = monitor.log[-1]
        summary.append(
            {
                "recipe": label,
                "averaging": averaging,
                "clean_accuracy": last["clean_accuracy"],
                "pgd_accuracy": last.get("pgd_accuracy"),
                "events": [e["kind"] for e in trained.events],
                "seconds": round(trained.elapsed_s, 1),
            }
        )
        events = "".join(
            f"<li>step {html.escape(str(e.get('step')))}: {html.escape(str(e.get('kind')))} — "
            f"{html.escape(str(e.get('message', '')))}</li>"
            for e in trained.events
        )
        sections.append(
            f"<h2>{html.escape(label)}{' + ' + averaging if averaging else ''}</h2>"
            f"{svg_chart(monitor.log, ACCURACY_KEYS, trained.events)}"
            f"<ul>{events or '<li>no events detected</li>'}</ul>"
        )
    rows = "".join(
        f"<tr><td>{html.escape(s['recipe'])}</td><td>{s['clean_accuracy']:.3f}</td>"
        f"<td>{s['pgd_accuracy']:.3f}</td><td>{s['seconds']}</td></tr>"
        for s in summary
    )
    page = folder / "training.html"
    page.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>RobustLab training "
        "demo</title><style>body{font-family:system-ui,sans-serif;margin:2em;max-width:960px}"
        "td,th{border:1px solid #ccc;padding:4px 8px}table{border-collapse:collapse}</style>"
        f"</head><body><h1>Training demo: digits CNN, PGD (10 steps) at epsilon {epsilon:g}</h1>"
        "<p>Accuracies are the monitor's last measurement of the weights being trained on 200 "
        "test digits; the scans in the store measure the final (for PGD-AT, SWA-averaged) "
        "weights.</p><table><tr><th>recipe</th><th>clean accuracy</th><th>PGD accuracy</th>"
        "<th>seconds</th>"
        f"</tr>{rows}</table>{''.join(sections)}</body></html>",
        encoding="utf-8",
    )
    js = folder / "training.json"
    js.write_text(json.dumps({"runs": summary, "scans": [r.run_id for r in results]}, indent=2))
    return results, page, js
