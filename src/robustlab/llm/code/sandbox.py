"""Running a user's tests on a generated program in a sandboxed subprocess.

Each run gets a fresh temporary folder and a separate interpreter started in isolated mode
(``python -I``: no user site, no ``PYTHON*`` variables, the script's folder is the only path
entry), with resource limits set before it starts (``RLIMIT_CPU`` for CPU seconds,
``RLIMIT_AS`` for memory, ``RLIMIT_FSIZE`` for files written, ``RLIMIT_CORE`` 0) and a wall-clock
timeout after which its whole process group is killed. Every outcome has a reason: ``passed``,
``assertion`` (a test failed), ``error`` (the program or a test raised, or does not compile),
``timeout`` (CPU or wall clock) or ``memory``.

This guards against accidents (an infinite loop, a runaway allocation, a stray file), not
against a hostile program: the child runs as the same user with network access. Run untrusted
code in a container or a VM as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from robustlab import validation

__all__ = ["REASONS", "TestOutcome", "run_tests"]

#: Every reason an outcome can have.
REASONS = ("passed", "assertion", "error", "timeout", "memory")

_OUTPUT_LIMIT = 4000  # characters of the program's output kept with its outcome

# The harness the child runs: executes the program, then the tests, in one namespace, and
# writes what happened to result.json (read by the parent; stdout stays the program's).
_HARNESS = r"""
import json, sys, traceback
def _report(reason, message=""):
    with open("result.json", "w") as f:
        json.dump({"reason": reason, "message": message}, f)
namespace = {"__name__": "__main__"}
try:
    for name in ("program.py", "tests.py"):
        with open(name) as f:
            source = f.read()
        exec(compile(source, name, "exec"), namespace)
except AssertionError as exc:
    tb = traceback.extract_tb(exc.__traceback__)
    where = next((f"{t.filename}:{t.lineno}: {t.line}" for t in reversed(tb)
                  if t.filename in ("program.py", "tests.py")), "")
    _report("assertion", (str(exc) or where).strip()[:2000])
except MemoryError:
    _report("memory", "MemoryError: the program ran out of its memory limit")
except RecursionError as exc:
    _report("error", f"RecursionError: {exc}")
except SyntaxError as exc:
    _report("error", f"SyntaxError: {exc.msg} ({exc.filename}, line {exc.lineno})")
except BaseException as exc:
    _report("error", f"{type(exc).__name__}: {exc}"[:2000])
else:
    _report("passed")
"""


@dataclass(frozen=True)
class TestOutcome:
    """What running the tests on one program gave.

    Attributes:
        passed: Whether every test passed.
        reason: One of :data:`REASONS`.
        message: The failing assertion, the error, or which limit was hit.
        output: The end of the program's stdout and stderr.
        seconds: Wall-clock time of the run.
    """

    __test__ = False  # not a pytest test class, despite its name

    passed: bool
    reason: str
    message: str
    output: str
    seconds: float


def _limits(cpu_seconds: int, memory_bytes: int, file_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _tail(text: bytes) -> str:
    out = text.decode("utf-8", "replace")
    return out if len(out) <= _OUTPUT_LIMIT else "..." + out[-_OUTPUT_LIMIT:]


def run_tests(
    program: str,
    tests: str,
    *,
    timeout: float = 10.0,
    cpu_seconds: int | None = None,
    memory_mb: int = 512,
    file_mb: int = 16,
) -> TestOutcome:
    """Run ``tests`` (Python source, e.g. ``assert f(1) == 2`` lines) after ``program`` in a
    sandboxed interpreter and say whether they passed, or why not.

    Args:
        program: The generated program (the prompt and its completion).
        tests: Test source run in the program's namespace after it.
        timeout: Wall-clock seconds before the process group is killed (reason ``timeout``).
        cpu_seconds: CPU-time limit (``RLIMIT_CPU``); default ``ceil(timeout)``.
        memory_mb: Address-space limit (``RLIMIT_AS``) in MiB (reason ``memory`` when hit).
        file_mb: Largest file the program may write, in MiB.
    """
    owner = "run_tests()"
    timeout = float(validation.check_number(owner, "timeout", timeout) or 0)
    cpu = cpu_seconds if cpu_seconds is not None else max(1, int(-(-timeout // 1)))
    validation.check_int(owner, "cpu_seconds", cpu)
    validation.check_int(owner, "memory_mb", memory_mb, 16)
    validation.check_int(owner, "file_mb", file_mb, 0)
    with tempfile.TemporaryDirectory(prefix="robustlab-code-") as folder:
        root = Path(folder)
        (root / "program.py").write_text(program, encoding="utf-8")
        (root / "tests.py").write_text(tests, encoding="utf-8")
        (root / "harness.py").write_text(_HARNESS, encoding="utf-8")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": folder, "LANG": "C.UTF-8"}
        env.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "harness.py"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole, children included
            preexec_fn=lambda: _limits(cpu, memory_mb * 2**20, file_mb * 2**20),
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            out, _ = proc.communicate()
        seconds = time.perf_counter() - started
        _kill(proc)  # anything it left running in its group
        output = _tail(out or b"")
        if timed_out:
            return TestOutcome(
                False, "timeout", f"killed after {timeout:g} s of wall-clock time", output, seconds
            )
        result_file = root / "result.json"
        result = None
        if result_file.exists():
            try:
                result = json.loads(result_file.read_text())
            except ValueError:
                result = None
        code = proc.returncode
        if result is None or code < 0:
            return TestOutcome(False, *_signal_reason(code, cpu, memory_mb), output, seconds)
        reason = str(result.get("reason", "error"))
        if reason == "passed" and code != 0:
            reason = "error"
        return TestOutcome(
            reason == "passed", reason, str(result.get("message", "")), output, seconds
        )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _signal_reason(code: int, cpu: int, memory_mb: int) -> tuple[str, str]:
    """Why a child died without writing its result."""
    if code == -signal.SIGXCPU:
        return "timeout", f"killed at its CPU-time limit ({cpu} s)"
    if code == -signal.SIGKILL:
        return "timeout", f"killed (SIGKILL) at its CPU-time limit ({cpu} s)"
    if code in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
        # what a C allocation failing under RLIMIT_AS usually looks like
        return "memory", (
            f"crashed with signal {signal.Signals(-code).name}, most likely at its memory "
            f"limit ({memory_mb} MiB)"
        )
    if code == -signal.SIGXFSZ:
        return "error", "killed for writing a file over its size limit"
    if code < 0:
        return "error", f"killed by signal {signal.Signals(-code).name}"
    if code == 0:  # os._exit(0) before the tests ran: nothing passed
        return "error", "the program exited before its tests ran (exit status 0)"
    return "error", f"the program exited with status {code} before its tests finished"
