"""The training registries: recipes, losses and averaging hooks, each plugin one file and one decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from robustlab.registry import Registry

__all__ = [
    "AVERAGERS",
    "LOSSES",
    "RECIPES",
    "register_averager",
    "register_loss",
    "register_recipe",
]

RECIPES: Registry[Any] = Registry("recipe")
LOSSES: Registry[Any] = Registry("loss")
AVERAGERS: Registry[Any] = Registry("averaging method")

C = TypeVar("C")


def _register(registry: Registry[Any], name: str) -> Callable[[C], C]:
    def decorator(cls: C) -> C:
        cls.name = name  # type: ignore[attr-defined]
        registry.add(name, cls)
        return cls

    return decorator


def register_recipe(name: str) -> Callable[[C], C]:
    """Class decorator registering a :class:`~robustlab.training.Recipe` under ``name``."""
    return _register(RECIPES, name)


def register_loss(name: str) -> Callable[[C], C]:
    """Class decorator registering a :class:`~robustlab.training.Loss` under ``name``."""
    return _register(LOSSES, name)


def register_averager(name: str) -> Callable[[C], C]:
    """Class decorator registering an :class:`~robustlab.training.Averager` under ``name``."""
    return _register(AVERAGERS, name)
