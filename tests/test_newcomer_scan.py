"""Issue 23 items 3, 5, 8: undefined suite metrics are named, train mode is left, --threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

import robustlab
from robustlab.cli import cli
from robustlab.data import ArrayDataset
from robustlab.errors import ConfigError
from robustlab.models import TorchModel


def _tiny_data(n: int = 40, groups: bool = False) -> ArrayDataset:
    rng = np.random.default_rng(0)
    x = rng.random((n, 4)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    meta = {"group": ["a" if i % 2 else "b" for i in range(n)]} if groups else None
    return ArrayDataset(x, y, meta=meta, modality="tabular")


def _module() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5), nn.Linear(16, 2))


CLEAN = {"name": "c", "version": 1, "probes": ["clean"]}
SUITE = {
    "name": "t",
    "version": 1,
    "probes": ["clean"],
    "metrics": ["accuracy", "worst_group_accuracy"],
}


def test_suite_metric_without_groups_is_named_not_dropped(tmp_path) -> None:
    model = TorchModel(_module(), modality="tabular", bounds=None)
    res = robustlab.scan(model, _tiny_data(), SUITE, store=str(tmp_path / "s.db"), progress=False)
    assert "worst_group_accuracy" in res.undefined_metrics
    assert "group" in res.undefined_metrics["worst_group_accuracy"]
    assert "not computed" in str(res)
    # with a group column it is computed and not listed
    res2 = robustlab.scan(
        model, _tiny_data(groups=True), SUITE, store=str(tmp_path / "s.db"), progress=False
    )
    assert res2.undefined_metrics == {}
    assert any(m["metric"] == "worst_group_accuracy" for m in res2.metrics)
    from robustlab.report import write_report

    html, _ = write_report(res.store, [res.run_id], str(tmp_path / "rep"))
    text = html.read_text(encoding="utf-8")
    assert "worst_group_accuracy</strong> not computed" in text


def test_train_mode_model_is_put_in_eval_with_a_warning(tmp_path) -> None:
    model = TorchModel(_module(), modality="tabular", bounds=None, eval_mode=False)
    assert model.training
    with pytest.warns(UserWarning, match="train mode.*Dropout.*robust accuracy"):
        robustlab.scan(model, _tiny_data(), CLEAN, store=str(tmp_path / "s.db"), progress=False)
    assert not model.training
    # deterministic afterwards: two scans of the eval-mode model agree
    a = model.predict_scores(torch.ones(3, 4))
    b = model.predict_scores(torch.ones(3, 4))
    assert torch.equal(torch.as_tensor(a), torch.as_tensor(b))


def test_threads_are_set_during_the_scan_and_restored(tmp_path, monkeypatch) -> None:
    seen: list[int] = []
    model = TorchModel(_module(), modality="tabular", bounds=None)
    original = model.predict_scores

    def spy(x):  # type: ignore[no-untyped-def]
        seen.append(torch.get_num_threads())
        return original(x)

    monkeypatch.setattr(model, "predict_scores", spy)
    before = torch.get_num_threads()
    target = 2 if before != 2 else 1
    robustlab.scan(
        model,
        _tiny_data(),
        CLEAN,
        store=str(tmp_path / "s.db"),
        progress=False,
        threads=target,
    )
    assert seen and set(seen) == {target}
    assert torch.get_num_threads() == before
    with pytest.raises(ConfigError, match="threads"):
        robustlab.scan(model, _tiny_data(), "quick", store=str(tmp_path / "s.db"), threads=0)


def test_cli_has_threads_option() -> None:
    out = CliRunner().invoke(cli, ["scan", "--help"])
    assert "--threads" in out.output


def test_cli_browses_a_read_only_store_without_writing_it(tmp_path) -> None:
    """Issue 23 item 12: runs, report and leaderboard open an archived store read-only."""
    import os
    import stat

    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "s.db"
    model = TorchModel(_module(), modality="tabular", bounds=None, name="tiny")
    res = robustlab.scan(model, _tiny_data(), CLEAN, store=str(db), progress=False)
    run_id = res.run_id
    res.store.close()  # checkpoints the write-ahead log into the file
    before, files = db.read_bytes(), sorted(os.listdir(folder))
    db.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        runner = CliRunner()
        for args in (
            ["runs", "--store", str(db)],
            ["report", run_id, "--store", str(db), "--out", str(tmp_path / "rep")],
            ["leaderboard", "--store", str(db)],
        ):
            out = runner.invoke(cli, args)
            assert out.exit_code == 0, (args, out.output)
        assert "tiny" in runner.invoke(cli, ["runs", "--store", str(db)]).output
        # SQLite may add its -wal/-shm index where it can (root ignores the mode bits), nothing else
        assert set(os.listdir(folder)) - {"s.db-wal", "s.db-shm"} == set(files)
        assert db.read_bytes() == before
    finally:
        folder.chmod(stat.S_IRWXU)
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_resume_says_how_much_was_done(tmp_path, capsys) -> None:
    """Issue 23 item 7: a resumed scan states the units already done."""
    model = TorchModel(_module(), modality="tabular", bounds=None)
    store = str(tmp_path / "s.db")
    first = robustlab.scan(model, _tiny_data(), CLEAN, store=store, shard_size=10, progress=False)
    capsys.readouterr()
    again = robustlab.scan(model, _tiny_data(), CLEAN, store=store, shard_size=10, progress=True)
    assert again.run_id == first.run_id
    assert "4 of 4 units already done, 0 to go" in capsys.readouterr().err
