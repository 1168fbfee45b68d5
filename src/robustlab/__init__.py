"""RobustLab: measure how and where a model breaks (corruptions, attacks, shift, calibration)."""

from __future__ import annotations

import os as _os

# Idle OpenMP threads sleep instead of spinning. With torch's default (busy-waiting) every
# parallel operation stalled for milliseconds whenever anything else used the cores, which made
# the small batches of attacks and corruptions up to 6x slower end to end. Set before torch is
# imported; a value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

from robustlab import _compat

_compat.install()

from robustlab.data import ArrayDataset, Dataset, ImageFolderDataset, TextDataset, load_dataset
from robustlab.errors import (
    ConfigError,
    DataError,
    ModelError,
    RobustLabError,
    StoreError,
    UnknownNameError,
)
from robustlab.metrics import METRICS, Estimate, Metric
from robustlab.models import FunctionModel, Model, SklearnModel, TorchModel, as_model, load_model
from robustlab.probes import PROBES, Probe, make_probe
from robustlab.result import ScanResult
from robustlab.runner import scan
from robustlab.runner.estimate import estimate_scan
from robustlab.store import Store, open_store
from robustlab.suites import SUITES, Suite, load_suite

__all__ = [
    "METRICS",
    "PROBES",
    "SUITES",
    "ArrayDataset",
    "ConfigError",
    "DataError",
    "Dataset",
    "Estimate",
    "FunctionModel",
    "ImageFolderDataset",
    "Metric",
    "Model",
    "ModelError",
    "Probe",
    "RobustLabError",
    "ScanResult",
    "SklearnModel",
    "Store",
    "StoreError",
    "Suite",
    "TextDataset",
    "TorchModel",
    "UnknownNameError",
    "__version__",
    "as_model",
    "estimate_scan",
    "load_dataset",
    "load_model",
    "load_suite",
    "make_probe",
    "open_store",
    "scan",
]
