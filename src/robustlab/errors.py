"""One exception hierarchy: every user-facing failure is a RobustLabError with a one-line fix."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "ModelError",
    "RobustLabError",
    "StoreError",
    "UnknownNameError",
]


class RobustLabError(Exception):
    """Base class: a problem the user can fix, described in one line that says how."""


class ConfigError(RobustLabError, ValueError):
    """A parameter, suite or command-line option is invalid."""


class UnknownNameError(ConfigError, KeyError):
    """A registry lookup failed (unknown probe, metric, suite, corruption or attack)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class DataError(RobustLabError, ValueError):
    """The dataset is empty, malformed, or does not match the model (labels, bounds, shape)."""


class ModelError(RobustLabError, ValueError):
    """The model cannot be loaded or returns outputs of the wrong shape, type or value."""


class StoreError(RobustLabError):
    """The results store cannot be opened, is of a newer schema, or lacks the requested run."""
