"""The runner: plans units (probe x shard), executes them on a backend, stores and resumes."""

from robustlab.runner.backends import BACKENDS, Backend, LocalBackend
from robustlab.runner.plan import Unit, plan_units
from robustlab.runner.scan import scan

__all__ = ["BACKENDS", "Backend", "LocalBackend", "Unit", "plan_units", "scan"]
