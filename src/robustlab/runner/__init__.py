"""The runner: plans units (probe x shard), executes them on a backend, stores and resumes."""

from robustlab.runner.backends import BACKENDS, Backend, LocalBackend, ProcessBackend
from robustlab.runner.jobs import Finished, Source, Workload, run_job
from robustlab.runner.plan import Unit, plan_units
from robustlab.runner.ray_backend import RayBackend
from robustlab.runner.scan import scan

__all__ = [
    "BACKENDS",
    "Backend",
    "Finished",
    "LocalBackend",
    "ProcessBackend",
    "RayBackend",
    "Source",
    "Unit",
    "Workload",
    "plan_units",
    "run_job",
    "scan",
]
