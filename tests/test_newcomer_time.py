"""Issue 23 items 3, 5, 6, 7, 11: shift keeps groups, one copy per warning, --estimate and
--max-examples, progress inside units and as plain lines, runs named after weights."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import robustlab
from robustlab.data import ArrayDataset
from robustlab.models import TorchModel


def _data(n: int = 40, groups: bool = False, seed: int = 0) -> ArrayDataset:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    meta = {"group": ["a" if i % 2 else "b" for i in range(n)]} if groups else None
    return ArrayDataset(x, y, meta=meta, modality="tabular")


def _model() -> TorchModel:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    return TorchModel(module, modality="tabular", bounds=None)


GROUPS = {
    "name": "g",
    "version": 1,
    "probes": ["clean"],
    "metrics": ["accuracy", "worst_group_accuracy"],
}


def test_shift_keeps_the_in_distribution_groups(tmp_path) -> None:
    """Item 3: a shifted set without a group column no longer drops the ID set's groups."""
    ident, shifted = _data(groups=True), _data(seed=1)
    res = robustlab.scan(
        _model(),
        ident,
        GROUPS,
        shift={"night": shifted},
        store=str(tmp_path / "s.db"),
        progress=False,
    )
    assert "worst_group_accuracy" not in res.undefined_metrics
    worst = [m for m in res.metrics if m["metric"] == "worst_group_accuracy"]
    assert len(worst) == 1
    # computed on the ID examples' two groups, exactly as a scan of the ID set alone
    alone = robustlab.scan(_model(), ident, GROUPS, store=str(tmp_path / "a.db"), progress=False)
    expected = next(m for m in alone.metrics if m["metric"] == "worst_group_accuracy")
    assert worst[0]["value"] == expected["value"]
    assert set(worst[0]["details"]["groups"]) == {"a", "b"}


class _Flat(nn.Module):
    """Logits from rounded inputs: the input gradient is zero everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(torch.round(x))


ATTACK = {
    "name": "w",
    "version": 1,
    "probes": [{"probe": "ensemble", "norm": "linf", "epsilon": 0.1, "version": "fast"}],
}


def test_a_warning_raised_by_every_shard_is_kept_once(tmp_path) -> None:
    """Item 5: three shards (of 16, 16 and 8 examples) raise zero-gradients with different
    counts; the scan, the console and the report show it once, saying how many units did."""
    torch.manual_seed(0)
    model = TorchModel(_Flat(), modality="tabular", bounds=(0.0, 1.0))
    res = robustlab.scan(
        model, _data(), ATTACK, store=str(tmp_path / "s.db"), shard_size=16, progress=False
    )
    codes = [w["code"] for w in res.warnings]
    assert codes.count("zero-gradients") == 1
    (w,) = [w for w in res.warnings if w["code"] == "zero-gradients"]
    assert w["units"] == 3 and w["probes"] == [w["probe"]]
    from robustlab.report import write_report

    html, _ = write_report(res.store, [res.run_id], str(tmp_path / "rep"))
    text = html.read_text(encoding="utf-8")
    assert text.count("<strong>zero-gradients</strong>") == 1
    assert "raised by 3 units, shown once" in text


# -- item 6: --max-examples and --estimate --------------------------------------------------------

CLEAN = {"name": "c", "version": 1, "probes": ["clean"]}


def test_max_examples_scans_a_seeded_sample(tmp_path) -> None:
    data = _data(n=60, groups=True)
    res = robustlab.scan(
        _model(), data, CLEAN, store=str(tmp_path / "s.db"), max_examples=25, progress=False
    )
    records = res.store.load_records(res.run_id, "clean")
    assert len(records.example_id) == 25
    assert len(set(records.example_id)) == 25 and set(records.example_id) <= set(data.ids)
    assert "25 of 60" in res.store.run(res.run_id)["dataset_name"]
    again = robustlab.scan(
        _model(), data, CLEAN, store=str(tmp_path / "t.db"), max_examples=25, progress=False
    )
    same = again.store.load_records(again.run_id, "clean").example_id
    assert list(same) == list(records.example_id)  # seeded: the same sample
    # more than the data holds: all of it
    whole = robustlab.scan(
        _model(), data, CLEAN, store=str(tmp_path / "u.db"), max_examples=600, progress=False
    )
    assert len(whole.store.load_records(whole.run_id, "clean").example_id) == 60


def test_max_examples_is_checked(tmp_path) -> None:
    import pytest

    from robustlab.errors import ConfigError

    with pytest.raises(ConfigError, match="max_examples"):
        robustlab.scan(_model(), _data(), CLEAN, store=str(tmp_path / "s.db"), max_examples=0)


class _Slow(nn.Module):
    """A linear model that sleeps per forward call (2 ms), so timings are measurable."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time

        time.sleep(0.002)
        return self.lin(x)


PGD = {
    "name": "p",
    "version": 1,
    "probes": [
        "clean",
        {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": 0.1, "steps": 10},
    ],
}


def test_estimate_times_each_probe_and_stores_nothing(tmp_path) -> None:
    torch.manual_seed(0)
    model = TorchModel(_Slow(), modality="tabular", bounds=(0.0, 1.0), batch_size=8)
    est = robustlab.estimate_scan(model, _data(n=200), PGD, batch_examples=8)
    assert [p.key for p in est.probes] == ["clean", next(iter(est.probes[1:])).key]
    clean, pgd = est.probes
    assert clean.timed == 32 and clean.examples == 200
    # PGD runs ~10 forward+backward passes per batch of 8, clean one forward pass per 8
    assert pgd.seconds > 3 * clean.seconds > 0
    assert est.seconds == clean.seconds + pgd.seconds
    # 2 ms per forward call of <= 8 examples: PGD over 200 examples takes at least 25 x 10 x 2 ms
    assert pgd.seconds > 0.25
    assert "per 1,000 examples" in str(est)
    assert not list(tmp_path.iterdir())


# -- item 7: progress inside units, plain lines, ETA ------------------------------------------------


def test_progress_advances_per_batch_inside_a_unit(tmp_path, monkeypatch) -> None:
    from robustlab._progress import ScanProgress

    seen: list[tuple[str | None, float]] = []
    original = ScanProgress.unit_fraction

    def spy(self, fraction):  # type: ignore[no-untyped-def]
        original(self, fraction)
        seen.append((self.current, self.fraction))

    monkeypatch.setattr(ScanProgress, "unit_fraction", spy)
    torch.manual_seed(0)
    model = TorchModel(_Slow(), modality="tabular", bounds=(0.0, 1.0), batch_size=8)
    res = robustlab.scan(
        model, _data(n=40), PGD, store=str(tmp_path / "s.db"), progress="lines", shard_size=40
    )
    attacked = sum(
        1 for m in res.metrics if m["metric"] == "accuracy" and m["probe_key"] == "clean"
    )
    assert attacked == 1
    pgd = [f for key, f in seen if key and key != "clean"]
    assert len(pgd) >= 2  # several batches of <= 8 examples inside the one 40-example unit
    assert 0 < pgd[0] < 1 and pgd == sorted(pgd) and pgd[-1] == 1.0


def test_plain_progress_lines_when_not_a_terminal(tmp_path, capsys) -> None:
    import io

    from robustlab._progress import ScanProgress

    assert ScanProgress.choose_mode(True, io.StringIO()) == "lines"
    assert ScanProgress.choose_mode(False, io.StringIO()) == "off"

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert ScanProgress.choose_mode(True, Tty()) == "bar"
    torch.manual_seed(0)
    model = TorchModel(_Slow(), modality="tabular", bounds=(0.0, 1.0), batch_size=8)
    robustlab.scan(
        model, _data(n=40), PGD, store=str(tmp_path / "s.db"), progress=0.1, shard_size=20
    )
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("progress: ")]
    assert len(lines) >= 3  # the first, at least one every 0.1 s, the last
    assert lines[0].startswith("progress: 0.00/4 units (0%)")
    assert lines[-1].startswith("progress: 4.00/4 units (100%)") and "ETA 0 s" in lines[-1]
    assert all("elapsed" in x and "ETA" in x for x in lines)


def test_eta_uses_each_probes_measured_time() -> None:
    from robustlab._progress import ScanProgress

    shown = ScanProgress()
    shown.add("clean", "clean", 4)
    shown.add("pgd", "pgd", 2)
    shown.start_unit("clean")
    shown.finish_unit("clean", 1.0)
    shown.start_unit("pgd")
    shown.finish_unit("pgd", 10.0)
    # 3 clean units at 1 s and 1 pgd unit at 10 s are left
    assert abs(shown.eta() - 13.0) < 1e-9
    shown.start_unit("pgd")
    shown.unit_fraction(0.5)
    assert abs(shown.eta() - 8.0) < 1e-9  # half of the running pgd unit is done
    assert "running pgd (50% of its unit)" in shown.line()
    assert "2.50/6 units" in shown.line()
