"""Backends compute the same records: the local one, the process pool on one and two workers, and
any execution order; an interrupted process-backend scan resumes to identical metrics; objects a
worker cannot rebuild are refused, with the reason and the fix, before any unit runs."""

from __future__ import annotations

import multiprocessing
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import robustlab
from robustlab.data import ArrayDataset
from robustlab.errors import ConfigError
from robustlab.models import FunctionModel, TorchModel
from robustlab.models.loading import load_model
from robustlab.runner import LocalBackend, ProcessBackend, Source, Workload, plan_units, run_job
from robustlab.runner.jobs import check_portable, unimportable
from robustlab.store import Store

SUITE = {
    "name": "backends-test",
    "version": 1,
    "probes": [
        "clean",
        {"probe": "corruption", "corruption": "gaussian_noise", "severity": 3},
        {"probe": "attack", "attack": "pgd", "epsilon": 0.1, "steps": 3},
    ],
}
SHARD = 10  # 40 examples: 4 shards per probe, 12 units


class NoisyLogits(nn.Module):
    """The digits CNN with Gaussian noise from torch's *global* generator added to its logits, as a
    model with sampling (e.g. dropout at test time) draws: its outputs depend on the seed each unit
    runs under, so any seed leaking between units or processes changes the records."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.inner(x)
        return logits + 0.5 * torch.randn(logits.shape)


class FailsInWorkers(nn.Module):
    """The digits CNN, except that in a worker process it fails on the examples' third shard:
    with ``kill`` the worker dies of SIGKILL (as the kernel's OOM killer does), else it raises."""

    def __init__(self, inner: nn.Module, kill: bool) -> None:
        super().__init__()
        self.inner = inner
        self.kill = kill

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import os
        import signal

        in_worker = multiprocessing.parent_process() is not None
        if in_worker and len(x) == SHARD and bool((x[0] == self.marker).all()):
            if self.kill:
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("boom on the third shard")
        return self.inner(x)


class ShuffledBackend(LocalBackend):
    """Runs the units in a shuffled order, with torch's global generator disturbed before each."""

    name = "shuffled"

    def execute(self, workload, units):
        order = list(units)
        random.Random(7).shuffle(order)
        for unit in order:
            torch.manual_seed(12345)
            torch.rand(100)
            yield from super().execute(workload, [unit])


@pytest.fixture(scope="module")
def data40(small_digits) -> ArrayDataset:
    idx = np.arange(40)
    return ArrayDataset(
        small_digits.inputs[idx],
        small_digits.targets[idx],
        ids=[small_digits.ids[i] for i in idx],
        meta={"group": [small_digits.meta["group"][i] for i in idx]},
        name="digits-40",
    )


@pytest.fixture(scope="module")
def noisy(cnn) -> TorchModel:
    return TorchModel(NoisyLogits(cnn.module), name="noisy-cnn")


def _scan(model, data, store, reference, **kwargs):
    return robustlab.scan(
        model,
        data,
        SUITE,
        store=store,
        shard_size=SHARD,
        progress=False,
        reference=reference,
        **kwargs,
    )


def _stored(result) -> dict:
    """Every stored record and artifact of a run, by probe."""
    store, run_id = result.store, result.run_id
    keys = sorted({u["probe_key"] for u in store.units(run_id)})
    records = {k: store.load_records(run_id, k).rows() for k in keys}
    artifacts = sorted((a["probe_key"], a["name"], a["data"]) for a in store.artifacts(run_id))
    return {"records": records, "artifacts": artifacts}


@pytest.fixture(scope="module")
def local_run(noisy, data40, logreg, tmp_path_factory):
    store = f"sqlite:///{tmp_path_factory.mktemp('local')}/local.db"
    result = _scan(noisy, data40, store, logreg)
    return result.metrics, _stored(result)


def test_process_backend_matches_local_on_one_and_two_workers(
    noisy, data40, logreg, local_run, tmp_path
) -> None:
    metrics, stored = local_run
    assert any(m["metric"] == "reference_agreement" for m in metrics)
    assert any(r["reference"] is not None for r in stored["records"]["clean"])
    # one worker started with "spawn" (a fresh interpreter), two forked from the forkserver
    for workers, how in (
        (1, {"backend": ProcessBackend(workers=1, start_method="spawn")}),
        (2, {"backend": "process", "workers": 2}),
    ):
        result = _scan(noisy, data40, f"sqlite:///{tmp_path}/p{workers}.db", logreg, **how)
        assert result.status == "complete"
        assert len(result.store.units(result.run_id)) == 12
        assert result.metrics == metrics
        assert _stored(result) == stored
    assert multiprocessing.active_children() == []  # every worker was joined


def test_unit_order_and_global_seed_do_not_change_records(
    noisy, data40, logreg, local_run, tmp_path
) -> None:
    metrics, stored = local_run
    result = _scan(noisy, data40, f"sqlite:///{tmp_path}/s.db", logreg, backend=ShuffledBackend())
    assert result.metrics == metrics
    assert _stored(result) == stored


def test_pickled_workload_and_units_compute_the_same_records(noisy, data40, logreg) -> None:
    """What a worker receives (the pickled workload and units) rebuilds everything it needs."""
    probes = list(robustlab.load_suite(SUITE).probes)
    live = Workload(Source.of_model(noisy), Source.of_dataset(data40), Source.of_model(logreg))
    check_portable(live, probes)
    shipped = pickle.loads(pickle.dumps(live))
    assert shipped.model.get() is not noisy  # rebuilt, once
    assert shipped.model.get() is shipped.model.get()
    assert pickle.loads(pickle.dumps(live)) is shipped  # received again: nothing rebuilt
    for unit in plan_units(probes, len(data40), 20, seed=3):
        copy = pickle.loads(pickle.dumps(unit))
        assert copy.probe.key == unit.probe.key and copy.seed == unit.seed
        torch.manual_seed(99)
        before = torch.random.get_rng_state()
        here, _ = run_job(unit, live)
        assert torch.equal(torch.random.get_rng_state(), before)  # the unit drew from its own
        there, _ = run_job(copy, shipped)
        assert there.rows() == here.rows()


def test_interrupted_process_scan_resumes_to_identical_metrics(
    noisy, data40, logreg, local_run, tmp_path, monkeypatch
) -> None:
    metrics, stored = local_run
    url = f"sqlite:///{tmp_path}/i.db"
    original = Store.write_unit
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):  # Ctrl-C in the scan's process after four units
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "write_unit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _scan(noisy, data40, url, logreg, backend="process", workers=2)
    assert multiprocessing.active_children() == []  # the workers were stopped
    store = Store(url)
    (run,) = store.runs()
    assert run["status"] == "interrupted"
    kept = {u["id"]: u["finished_at"] for u in store.units(run["id"])}
    assert len(kept) == 4
    monkeypatch.setattr(Store, "write_unit", original)
    resumed = _scan(noisy, data40, url, logreg)
    assert resumed.run_id == run["id"] and resumed.status == "complete"
    after = store.units(run["id"])
    assert len(after) == 12
    assert all(u["finished_at"] == kept[u["id"]] for u in after if u["id"] in kept)
    assert resumed.metrics == metrics
    assert _stored(resumed) == stored


@pytest.mark.slow
def test_interrupted_local_scan_resumes_on_process_backend(
    noisy, data40, logreg, local_run, tmp_path, monkeypatch
) -> None:
    metrics, stored = local_run
    url = f"sqlite:///{tmp_path}/i.db"
    original = Store.write_unit
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "write_unit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _scan(noisy, data40, url, logreg)
    monkeypatch.setattr(Store, "write_unit", original)
    resumed = _scan(noisy, data40, url, logreg, backend=ProcessBackend(workers=2))
    assert len(resumed.store.units(resumed.run_id)) == 12
    assert resumed.metrics == metrics
    assert _stored(resumed) == stored


def test_model_loaded_from_a_file_travels_as_its_factory(cnn, tmp_path) -> None:
    (tmp_path / "net.py").write_text(
        "from robustlab.demo import DigitsCNN\n\n\ndef build():\n    return DigitsCNN()\n"
    )
    torch.save(cnn.module.state_dict(), tmp_path / "w.pt")
    model = load_model(f"{tmp_path / 'net.py'}:build", tmp_path / "w.pt")
    model.num_classes = 10
    source = Source.of_model(model)
    assert source.factory is not None
    assert source.factory.weights == str((tmp_path / "w.pt").resolve())
    rebuilt = pickle.loads(pickle.dumps(source)).get()
    assert rebuilt is not model and rebuilt.fingerprint() == model.fingerprint()
    assert rebuilt.num_classes == 10
    with torch.no_grad():  # changed after loading: the rebuilt model would differ
        next(model.module.parameters()).add_(1.0)
    changed = pickle.loads(pickle.dumps(Source.of_model(model)))
    with pytest.raises(ConfigError, match=r"was changed after loading, or its factory is not"):
        changed.get()


# -- objects a worker cannot rebuild: refused before any unit runs ------------------------------


def test_unpicklable_model_is_refused_before_any_work(data40, store_url) -> None:
    model = FunctionModel(lambda x: np.full((len(x), 10), 0.1), num_classes=10, name="lambda-model")
    with pytest.raises(
        ConfigError,
        match=r"sends the model 'lambda-model' to worker processes, but it cannot be pickled: "
        r".*lambda.*load_model\('FILE\.py:FACTORY'.*local backend",
    ):
        robustlab.scan(model, data40, SUITE, store=store_url, progress=False, backend="process")
    assert Store(store_url).count_runs() == 0
    # the local backend runs it
    result = robustlab.scan(
        model, data40, {"name": "c", "probes": ["clean"]}, store=store_url, progress=False
    )
    assert result.status == "complete"


def test_local_class_and_unimportable_module_are_refused(cnn, data40, store_url) -> None:
    class Local(nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :10]

    with pytest.raises(ConfigError, match=r"reference model 'Local'.*Can't pickle local object"):
        robustlab.scan(
            cnn,
            data40,
            SUITE,
            store=store_url,
            progress=False,
            backend="process",
            reference=TorchModel(Local()),
        )
    ghost = type(
        "Ghost",
        (nn.Module,),
        {"forward": lambda self, x: x.flatten(1)[:, :10], "__module__": "no_such_mod"},
    )
    import sys

    sys.modules["no_such_mod"] = type(sys)("no_such_mod")
    sys.modules["no_such_mod"].Ghost = ghost  # pickles here, yet no worker could import it
    try:
        with pytest.raises(
            ConfigError, match=r"class 'Ghost' is defined in 'no_such_mod', a module no worker"
        ):
            robustlab.scan(
                TorchModel(ghost()),
                data40,
                SUITE,
                store=store_url,
                progress=False,
                backend="process",
            )
    finally:
        del sys.modules["no_such_mod"]
    assert Store(store_url).count_runs() == 0


def test_unimportable_names_the_main_module_of_an_interactive_session(monkeypatch) -> None:
    import sys
    import types

    fake = types.ModuleType("__main__")  # no __file__, no __spec__: a REPL or notebook
    monkeypatch.setitem(sys.modules, "__main__", fake)
    assert "interactive session" in unimportable("__main__")
    assert unimportable("torch.nn.modules.linear") is None
    assert unimportable("robustlab_user_0123456789abcdef") is None


def test_backend_parameters_are_checked(cnn, data40, store_url) -> None:
    with pytest.raises(
        ConfigError,
        match=r"'workers' parameter of ProcessBackend must be a "
        r"positive int\. Got 0 instead",
    ):
        ProcessBackend(workers=0)
    with pytest.raises(ConfigError, match=r"'start_method' parameter .* Got 'fork' instead"):
        ProcessBackend(start_method="fork")
    with pytest.raises(ConfigError, match=r"the 'local' backend runs units in this process"):
        robustlab.scan(cnn, data40, SUITE, store=store_url, progress=False, workers=2)
    with pytest.raises(robustlab.UnknownNameError, match=r"Did you mean 'process'"):
        robustlab.scan(cnn, data40, SUITE, store=store_url, progress=False, backend="proces")
    assert Store(store_url).count_runs() == 0


def test_every_builtin_suite_probe_rebuilds_from_its_spec() -> None:
    """A worker rebuilds each unit's probe from its JSON spec: every shipped probe must survive."""
    suites = Path(robustlab.__file__).parent / "suites" / "builtin"
    probes = [p for f in sorted(suites.glob("*.yaml")) for p in robustlab.load_suite(str(f)).probes]
    assert len(probes) > 50
    check_portable(Workload(Source("model", 1), Source("dataset", [1])), probes)
    for unit in plan_units(probes, 1, 1, seed=0):
        assert pickle.loads(pickle.dumps(unit)).probe == unit.probe


def test_reference_model_reaches_the_text_probes_own_batches(tmp_path) -> None:
    """Text probes measure sub-batches (the texts a transformation changed) and CheckList's own
    cases: the reference model's predictions must be in every one of their records."""
    from helpers_text import keyword_model, reviews, tfidf

    suite = {
        "name": "text-reference",
        "version": 1,
        "probes": [
            {"probe": "perturbation", "perturbation": "typo_keyboard", "rate": 0.2},
            {"probe": "checklist", "test": "simple_positive"},
            {"probe": "checklist", "test": "negation"},
            {"probe": "attack", "attack": "deepwordbug", "budget": 10},
        ],
    }
    oracle = keyword_model()
    result = robustlab.scan(
        tfidf(),
        reviews("test"),
        suite,
        store=f"sqlite:///{tmp_path}/t.db",
        progress=False,
        reference=oracle,
    )
    for probe in robustlab.load_suite(suite).probes:
        records = result.store.load_records(result.run_id, probe.key)
        assert len(records) > 0, probe.key
        assert not np.isnan(records.reference).any(), probe.key


@pytest.mark.slow
@pytest.mark.parametrize("kill", [False, True], ids=["raises", "killed"])
def test_a_failing_unit_stops_the_pool_and_says_where(cnn, data40, tmp_path, kill) -> None:
    module = FailsInWorkers(cnn.module, kill)
    module.marker = data40.inputs[2 * SHARD]  # the first example of shard 2
    url = f"sqlite:///{tmp_path}/f.db"
    suite = {"name": "c", "probes": ["clean"]}
    expected = (
        r"Worker process \d+ of the process backend died \(signal 9\) while running clean shard 2"
        if kill
        else r"boom on the third shard"
    )
    with pytest.raises(robustlab.RobustLabError if kill else RuntimeError, match=expected) as info:
        robustlab.scan(
            TorchModel(module),
            data40,
            suite,
            store=url,
            shard_size=SHARD,
            progress=False,
            backend="process",
            workers=2,
            fail_fast=True,  # else a unit's error is recorded and the scan goes on
        )
    if not kill:
        assert "while running clean shard 2" in "".join(getattr(info.value, "__notes__", []))
    assert multiprocessing.active_children() == []
    (run,) = Store(url).runs()
    assert run["status"] == "failed"
