"""A typed plugin registry: one decorator registers a plugin; unknown names suggest close ones."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from robustlab.errors import ConfigError, UnknownNameError

__all__ = ["Registry", "import_submodules"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named plugins of one kind (probes, metrics, corruptions, attacks, ...).

    Registering a name twice is an error rather than a silent overwrite, and looking up an unknown
    name raises :class:`UnknownNameError` listing the closest names and all available ones.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if not name or name != name.strip() or " " in name:
            raise ConfigError(f"A {self.kind} name must be a non-empty word. Got {name!r} instead.")
        if name in self._items and self._items[name] is not obj:
            raise ConfigError(
                f"The {self.kind} {name!r} is registered twice "
                f"({self._items[name]!r} and {obj!r}); rename one of them."
            )
        self._items[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def build(self, name: str, **params: Any) -> Any:
        """Construct the registered dataclass ``name`` from keyword parameters; an unknown
        parameter raises with the closest one and the list of valid ones."""
        cls: Any = self.get(name)
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = [p for p in params if p not in fields]
        if unknown:
            close = difflib.get_close_matches(unknown[0], fields, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{self.kind[:1].upper()}{self.kind[1:]} {name!r} has no parameter "
                f"{unknown[0]!r}.{hint} Its parameters: {', '.join(fields) or 'none'}."
            )
        return cls(**params)

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), list(self._items), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"Unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}."

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"


def import_submodules(package: str) -> None:
    """Import every module of ``package`` so their decorators register the plugins they define.

    This is what keeps "one plugin = one file": dropping a file into the package registers it.
    """
    import importlib
    import pkgutil

    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
