"""Run metadata: versions, machine and code revision, stored with every run."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from typing import Any

from robustlab.store._engine import mask_passwords

__all__ = ["environment"]


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment(device: str) -> dict[str, Any]:
    import numpy
    import torch

    from robustlab import __version__

    return {
        "robustlab": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu": _cpu_name(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "device": device,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "git_revision": _git_revision(),
        "argv": [mask_passwords(str(a)) for a in sys.argv[:20]],  # --store may carry one
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
