"""Probes: the robustness tests a suite lists (clean, corruption, attack, ...), one per file."""

from robustlab.probes.base import PROBES, NotApplicable, Probe, make_probe, predict_records
from robustlab.registry import import_submodules

import_submodules(__name__)

__all__ = ["PROBES", "NotApplicable", "Probe", "make_probe", "predict_records"]
