"""A real scan process killed mid-way loses no finished unit, and resuming it matches an
uninterrupted scan exactly without recomputing what was stored."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from robustlab.store import Store

SUITE = """
name: interrupt
version: 1
probes:
  - clean
  - {probe: corruption, corruption: gaussian_noise, severity: 4}
  - {probe: attack, attack: pgd, norm: linf, epsilon: 0.1, steps: 40}
"""

MODEL_FILE = """
import os
import time

from robustlab.demo import DigitsCNN


class Slow(DigitsCNN):
    # The interrupted scans wait a little per forward call, so the signal always lands mid-scan
    # however fast the machine (same outputs: the sleep changes nothing computed).
    def forward(self, x):
        time.sleep(float(os.environ.get("SLOW_FORWARD", "0")))
        return super().forward(x)


def build():
    return Slow()
"""


def _scan_cmd(tmp: Path, store: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "robustlab",
        "scan",
        "--model",
        f"{tmp / 'model.py'}:build",
        "--weights",
        str(tmp / "w.pt"),
        "--data",
        str(tmp / "digits200.npz"),
        "--suite",
        str(tmp / "suite.yaml"),
        "--store",
        store,
        "--shard-size",
        "10",
        "--no-progress",
    ]


def _units(store: str) -> list[dict]:
    s = Store(store)
    runs = s.runs()
    return s.units(runs[0]["id"]) if runs else []


def _count_units(store: str) -> int:
    """Units stored so far, read through a short-lived read-only SQLite connection (so polling
    never creates, migrates or locks the store the scan is writing)."""
    path = store.split(":///", 1)[1]
    if not Path(path).exists():
        return 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
    try:
        return int(con.execute("SELECT count(*) FROM units").fetchone()[0])
    except sqlite3.Error:  # the scan has not created its tables yet
        return 0
    finally:
        con.close()


def _wait_for_units(
    store: str, at_least: int, proc: subprocess.Popen, timeout: float = 120
) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"scan ended before it could be interrupted: {proc.communicate()}")
        if _count_units(store) >= at_least:
            return
        time.sleep(0.05)
    pytest.fail("scan did not store units in time")


ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, cnn, digits_test) -> tuple[Path, list[dict]]:
    """Files for the scan, and the metrics of one uninterrupted scan to compare against."""
    tmp = tmp_path_factory.mktemp("interrupt")
    (tmp / "suite.yaml").write_text(SUITE)
    (tmp / "model.py").write_text(MODEL_FILE)
    torch.save(cnn.module.state_dict(), tmp / "w.pt")
    np.savez(tmp / "digits200.npz", x=digits_test.inputs[:200].numpy(), y=digits_test.targets[:200])
    store = f"sqlite:///{tmp}/reference.db"
    whole = subprocess.run(
        _scan_cmd(tmp, store), env=ENV, capture_output=True, text=True, timeout=300
    )
    assert whole.returncode == 0, whole.stderr
    ref = Store(store)
    return tmp, ref.metrics(ref.runs()[0]["id"])


#: The process backend with two workers: the workers rebuild the model from model.py and w.pt.
PROCESS = ["--backend", "process", "--workers", "2"]


@pytest.mark.parametrize(
    ("sig", "backend"),
    [
        (signal.SIGINT, []),
        (signal.SIGKILL, []),
        (signal.SIGTERM, []),
        (signal.SIGINT, PROCESS),
        (signal.SIGTERM, PROCESS),
        pytest.param(signal.SIGKILL, PROCESS, marks=pytest.mark.slow),
    ],
    ids=["ctrl-c", "kill", "term", "ctrl-c-process", "term-process", "kill-process"],
)
def test_killed_scan_resumes_to_identical_metrics(setup, sig, backend) -> None:
    tmp_path, reference = setup
    env = {**ENV, "SLOW_FORWARD": "0.003"}
    store = f"sqlite:///{tmp_path}/killed-{sig.name}-{len(backend)}.db"

    proc = subprocess.Popen(
        _scan_cmd(tmp_path, store) + backend,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell without job control starts background jobs with SIGINT ignored, and Python
        # then installs no Ctrl-C handler; give the scan the default disposition, as a terminal does.
        preexec_fn=_default_sigint,
    )
    _wait_for_units(store, 4, proc)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the scan did not stop within 120 s of {sig.name}: {err[-2000:]}")
    if sig in (signal.SIGINT, signal.SIGTERM):  # SIGTERM is handled like Ctrl-C
        assert proc.returncode == 128 + sig
        assert "re-run the same command to resume" in " ".join(err.split())
        assert "Traceback" not in err  # nothing printed by stopped workers either
    else:
        assert proc.returncode == -signal.SIGKILL
    stored = _units(store)
    total = 3 * 20  # three probes x 200 / 10 shards
    assert 4 <= len(stored) < total
    run = Store(store).runs()[0]
    assert run["status"] == ("running" if sig == signal.SIGKILL else "interrupted")
    owner = run["environment"]["owner"]
    assert owner["pid"] == proc.pid and owner["host"] == socket.gethostname()
    listed = subprocess.run(
        [sys.executable, "-m", "robustlab", "runs", "--store", store],
        env={**ENV, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    # a killed scan's run stays "running" in the store, but its process is gone: shown as such
    shown = "interrupted (stale)" if sig == signal.SIGKILL else "interrupted"
    assert shown in listed.stdout and " running " not in listed.stdout
    if sig == signal.SIGKILL:
        assert f"its process {proc.pid} on {owner['host']} is gone" in " ".join(
            listed.stdout.split()
        )

    resumed = subprocess.run(
        _scan_cmd(tmp_path, store) + backend, env=ENV, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    after = _units(store)
    assert len(after) == total
    kept = {u["id"]: u["finished_at"] for u in stored}
    assert all(u["finished_at"] == kept[u["id"]] for u in after if u["id"] in kept)

    s1 = Store(store)
    assert s1.metrics(s1.runs()[0]["id"]) == reference
    assert s1.runs()[0]["status"] == "complete"


def _run_row(status: str, owner: dict | None) -> dict:
    return {"status": status, "environment": {} if owner is None else {"owner": owner}}


def test_liveness_shows_dead_and_silent_runs_as_interrupted(monkeypatch) -> None:
    """A running run whose owner process is gone from this host, or whose heartbeat is older
    than the threshold, is shown as interrupted; a live owner's run stays running."""
    import datetime as dt

    from robustlab.runner.liveness import liveness, owner_note

    me = owner_note()
    assert liveness(_run_row("running", me)) == ("running", "")
    assert liveness(_run_row("complete", me)) == ("complete", "")
    assert liveness(_run_row("running", None)) == ("running", "")  # stored before owners
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    status, why = liveness(_run_row("running", {**me, "pid": dead.pid, "started": None}))
    assert status == "interrupted" and f"process {dead.pid}" in why
    # the same pid, reused by another process: the start time tells them apart
    assert liveness(_run_row("running", {**me, "started": -1}))[0] == "interrupted"
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).isoformat()
    elsewhere = {**me, "host": "another-machine", "heartbeat": old}
    status, why = liveness(_run_row("running", elsewhere))
    assert status == "interrupted" and "no heartbeat for 120 min" in why
    monkeypatch.setenv("ROBUSTLAB_STALE_AFTER", str(3 * 3600))
    assert liveness(_run_row("running", elsewhere))[0] == "running"
    monkeypatch.setenv("ROBUSTLAB_STALE_AFTER", "soon")
    from robustlab.errors import ConfigError

    with pytest.raises(ConfigError, match="ROBUSTLAB_STALE_AFTER"):
        liveness(_run_row("running", elsewhere))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_in_the_metrics_phase_marks_the_run_interrupted(
    sig, cnn, digits_test, tmp_path, monkeypatch
) -> None:
    """SIGTERM or Ctrl-C while metrics and summaries are computed: the run is interrupted, not
    left running, and a re-run completes it (issue 24 item 9)."""
    import importlib

    import robustlab

    scan_module = importlib.import_module("robustlab.runner.scan")
    original = scan_module._summary_rows

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler raises before this ends
        pytest.fail("the signal did not stop the scan")

    monkeypatch.setattr(scan_module, "_summary_rows", signalled)
    store = f"sqlite:///{tmp_path}/metrics.db"
    data = (digits_test.inputs[:40], digits_test.targets[:40])
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        robustlab.scan(cnn, data, {"name": "c", "probes": ["clean"]}, store=store, progress=False)
    assert signal.getsignal(signal.SIGTERM) == before  # restored
    run = Store(store).runs()[0]
    assert run["status"] == "interrupted" and run["environment"]["owner"]["pid"] == os.getpid()
    monkeypatch.setattr(scan_module, "_summary_rows", original)
    res = robustlab.scan(cnn, data, {"name": "c", "probes": ["clean"]}, store=store, progress=False)
    assert res.status == "complete" and res.run_id == run["id"]
