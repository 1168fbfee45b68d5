"""The ``ATTACKS`` registry: one decorator per attack file, looked up by name with did-you-mean."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from robustlab.registry import Registry

if TYPE_CHECKING:
    from robustlab.attacks.image._base import Attack

__all__ = ["ATTACKS", "register_attack"]

ATTACKS: Registry[type[Attack]] = Registry("attack")

A = TypeVar("A", bound="type[Attack]")


def register_attack(name: str) -> Callable[[A], A]:
    """Class decorator registering an :class:`Attack` subclass under ``name``."""

    def decorator(cls: A) -> A:
        cls.name = name
        ATTACKS.add(name, cls)
        return cls

    return decorator
