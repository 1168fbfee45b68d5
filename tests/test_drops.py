"""Source Drop and Target Drop: known answers and a shift scan against a target-trained model."""

from __future__ import annotations

import numpy as np
import pytest

import robustlab
from robustlab.data import ArrayDataset
from robustlab.errors import DataError
from robustlab.records import Records
from robustlab.report import collect
from robustlab.report.drops import domain_drops, drops_of


def _records(correct: list[int], domain: list[str], ids: list[str] | None = None) -> Records:
    n = len(correct)
    return Records(
        example_id=ids or [f"{d}-{i}" for i, d in enumerate(domain)],
        target=np.zeros(n, int),
        prediction=1 - np.array(correct),
        correct=np.array(correct, bool),
        confidence=np.full(n, 0.9),
        loss=np.zeros(n),
        brier=np.zeros(n),
        perturbation=np.full(n, np.nan),
        domain=domain,
    )


def test_source_and_target_drop_known_answer() -> None:
    domains = ["id"] * 4 + ["night"] * 4
    source = _records([1, 1, 1, 0, 1, 0, 0, 0], domains)  # S_S = 3/4, S_T = 1/4
    # the night-trained model reaches 1/2 on night: the domain is hard for everyone
    target = _records([0, 0, 1, 1, 1, 1, 0, 0], domains)
    row = drops_of(source, "id", "night", target)
    assert row["source_drop"]["value"] == pytest.approx((0.75 - 0.25) / 0.75)
    assert row["target_drop"]["value"] == pytest.approx((0.5 - 0.25) / 0.5)
    assert row["target_accuracy"] == 0.5 and row["n"] == 4
    for key in ("source_drop", "target_drop"):
        est = row[key]
        assert est["ci_low"] <= est["value"] <= est["ci_high"]
    # without a target-trained model only the Source Drop is defined
    assert drops_of(source, "id", "night")["target_drop"] is None


def test_target_drop_pairs_examples_by_id() -> None:
    domains = ["id"] * 2 + ["night"] * 2
    source = _records([1, 1, 1, 0], domains, ["a", "b", "c", "d"])
    target = _records([1, 1, 0, 1], domains, ["a", "b", "d", "c"])  # night order swapped
    row = drops_of(source, "id", "night", target)
    # target is right on c (its 4th row) and wrong on d: T_T = 1/2 whatever the order
    assert row["target_accuracy"] == 0.5
    other = _records([1, 1, 1], ["id", "id", "night"], ["a", "b", "x"])
    with pytest.raises(DataError, match="lacks 2 examples"):
        drops_of(source, "id", "night", other)


def test_shift_report_has_target_drop_from_a_target_trained_model(small_digits, store_url) -> None:
    from robustlab.demo import train_digits_logreg

    dim = ArrayDataset(small_digits.inputs * 0.3, small_digits.targets, name="dim")
    suite = {"name": "pop", "probes": ["clean"]}
    source = robustlab.scan(
        train_digits_logreg(name="normal"),
        small_digits,
        suite,
        store=store_url,
        progress=False,
        shift={"dim": dim},
    )
    doc = collect(source.store, [source.run_id])
    drops = domain_drops(source.store, doc["runs"][0])
    (row,) = drops["domains"]
    assert row["target_domain"] == "dim" and row["target_drop"] is None
    assert "--trained-on dim" in row["target_reason"]

    dim_train = ArrayDataset(small_digits.inputs * 0.3, small_digits.targets, name="dim-train")
    on_dim = train_digits_logreg(dim_train, name="dim-trained")
    on_dim.trained_on = "dim"
    target = robustlab.scan(
        on_dim, small_digits, suite, store=store_url, progress=False, shift={"dim": dim}
    )
    doc = collect(source.store, [source.run_id, target.run_id])
    (row,) = domain_drops(source.store, doc["runs"][0])["domains"]
    records = source.store.load_records(source.run_id, "clean")
    t_records = source.store.load_records(target.run_id, "clean")
    acc_t = t_records.correct[t_records.domain == "dim"].mean()
    acc_s = records.correct[records.domain == "dim"].mean()
    assert row["target_model"] == "dim-trained"
    assert row["target_drop"]["value"] == pytest.approx((acc_t - acc_s) / acc_t)
    # the dim-trained model's own source domain is "dim"; its Target Drop on "id" comes from
    # the normally trained model
    (back,) = domain_drops(source.store, doc["runs"][1])["domains"]
    assert back["source_domain"] == "dim" and back["target_domain"] == "id"
    assert back["target_model"] == "normal"


def test_cli_trained_on_and_id_domains(small_digits, tmp_path, capsys) -> None:
    import json

    from robustlab.cli import main

    np.savez(tmp_path / "d.npz", x=small_digits.inputs.numpy(), y=small_digits.targets)
    np.savez(tmp_path / "dim.npz", x=small_digits.inputs.numpy() * 0.3, y=small_digits.targets)
    np.savez(tmp_path / "noisy.npz", x=small_digits.inputs.numpy() ** 2, y=small_digits.targets)
    (tmp_path / "m.py").write_text(
        "import numpy as np\n"
        "from robustlab.data import shifted_digits\n"
        "from robustlab.demo import train_digits_logreg\n"
        "from robustlab.data import ArrayDataset, load_dataset\n\n"
        "def build(scale=1.0, c=1.0):\n"
        "    t = load_dataset('digits-train')\n"
        "    return train_digits_logreg(ArrayDataset(t.inputs * scale, t.targets), C=c,\n"
        "                               name=f'lr-{scale}-{c}')\n\n"
        "def normal(): return build(1.0, 1.0)\n"
        "def normal_small(): return build(1.0, 0.01)\n"
        "def dim(): return build(0.3, 1.0)\n"
        "def dim_small(): return build(0.3, 0.01)\n"
    )
    db = f"sqlite:///{tmp_path / 'r.db'}"
    common = ["--data", str(tmp_path / "d.npz"), "--suite", str(_suite(tmp_path)), "--store", db]
    common += [
        "--shift",
        f"dim={tmp_path / 'dim.npz'}",
        "--shift",
        f"noisy={tmp_path / 'noisy.npz'}",
    ]
    common += ["--no-progress"]
    for factory, domain in (
        ("normal", None),
        ("normal_small", None),
        ("dim", "dim"),
        ("dim_small", "dim"),
    ):
        extra = ["--trained-on", domain] if domain else []
        main(["scan", "--model", f"{tmp_path / 'm.py'}:{factory}", *common, *extra])
    capsys.readouterr()
    from robustlab.store import open_store

    ids = [r["id"] for r in open_store(db).runs()]
    out = tmp_path / "rep"
    main(["report", *ids, "--store", db, "--out", str(out), "--id-domains", "id,dim"])
    doc = json.loads((out / "results.json").read_text())
    (multi,) = doc["effective_robustness_multi_id"].values()
    assert multi["defined"] and multi["id_domains"] == ["id", "dim"]
    run = next(r for r in doc["runs"] if r["model"].get("trained_on") is None)
    dim_row = next(x for x in run["domain_drops"]["domains"] if x["target_domain"] == "dim")
    assert dim_row["target_model"].startswith("lr-0.3")
    html = (out / "index.html").read_text()
    assert "Target Drop" in html and "Several ID sets" in html


def _suite(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: pop\nversion: 1\nprobes:\n  - clean\n")
    return path
