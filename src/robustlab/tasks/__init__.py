"""Tasks: what a model predicts, what its records hold, and what "broken" means (one file each)."""

from robustlab.registry import import_submodules
from robustlab.tasks.base import CRITERIA, TASKS, Criterion, Task, get_task

import_submodules(__name__)  # every plugin module registers its task or criteria

__all__ = ["CRITERIA", "TASKS", "Criterion", "Task", "get_task"]
