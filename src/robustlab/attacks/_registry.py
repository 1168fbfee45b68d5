"""The one ``ATTACKS`` registry of image and text attacks: one decorator per attack file, looked up
by name with did-you-mean; :func:`attacks_for` lists the attacks of one modality."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from robustlab.errors import UnknownNameError
from robustlab.registry import Registry

if TYPE_CHECKING:
    from robustlab.attacks._base import Attack

__all__ = ["ATTACKS", "ModalityView", "attacks_for", "register_attack"]

ATTACKS: Registry[type[Attack]] = Registry("attack")

A = TypeVar("A", bound="type[Attack]")


def register_attack(name: str) -> Callable[[A], A]:
    """Class decorator registering an attack (image or text) under ``name``."""

    def decorator(cls: A) -> A:
        cls.name = name
        ATTACKS.add(name, cls)
        return cls

    return decorator


def attacks_for(modality: str) -> list[tuple[str, type[Attack]]]:
    """The registered attacks of one family (``image`` or ``text``), sorted by name."""
    return [(n, c) for n, c in ATTACKS.items() if c.modality == modality]


class ModalityView:
    """The attacks of one modality in :data:`ATTACKS`, read like a registry (the 0.1
    ``TEXT_ATTACKS`` is one); registering through it registers in :data:`ATTACKS`."""

    def __init__(self, modality: str, kind: str) -> None:
        self.modality = modality
        self.kind = kind

    def names(self) -> list[str]:
        return [n for n, _ in attacks_for(self.modality)]

    def items(self) -> list[tuple[str, type[Attack]]]:
        return attacks_for(self.modality)

    def get(self, name: str) -> type[Attack]:
        if name in ATTACKS and ATTACKS.get(name).modality == self.modality:
            return ATTACKS.get(name)
        import difflib

        close = difflib.get_close_matches(str(name), self.names(), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(
            f"Unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}."
        )

    def build(self, name: str, **params: Any) -> Any:
        self.get(name)
        return ATTACKS.build(name, **params)

    def add(self, name: str, obj: type[Attack]) -> None:
        ATTACKS.add(name, obj)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"ModalityView({self.modality!r}, {len(self)} entries)"
