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
