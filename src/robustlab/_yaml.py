"""YAML from users' files: safe tags only, and no aliases."""

from __future__ import annotations

from typing import Any

import yaml

from robustlab.errors import ConfigError

__all__ = ["load_yaml"]


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases: a few nested ones expand to billions of nodes (the
    "billion laughs"), and RobustLab's files have nothing to repeat that they cannot write out."""

    source = "The YAML file"

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            line = event.start_mark.line + 1 if event.start_mark else "?"
            raise ConfigError(
                f"{self.source} uses the YAML alias *{event.anchor} (line {line}); RobustLab's "
                "suite and test files may not use anchors and aliases: write the values out "
                "(in a suite, list parameter values under 'grid:')."
            )
        return super().compose_node(parent, index)


def load_yaml(text: str, source: str) -> Any:
    """The one document in ``text``, or a ConfigError naming ``source`` if it uses an alias.

    Args:
        text: The file's contents (JSON is YAML too).
        source: How messages name the file, e.g. ``"Suite file 'x.yaml'"``.
    """
    loader = _NoAliasLoader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
