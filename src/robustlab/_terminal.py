"""Text from users (names, labels, messages) made safe to print to a terminal with rich."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.markup import escape
from rich.segment import Segment
from rich.text import Text

__all__ = ["SafeConsole", "markup", "printable", "safe_text"]

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows
_BIDI = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_CHARS = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_EXCEPT_NEWLINE = re.compile(rf"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: Any, *, newlines: bool = False) -> str:
    """``str(value)`` with every control character (ESC, CR, BEL, ...) and bidirectional override
    written as a visible escape such as ``\\x1b``, so it cannot move the cursor, recolour the
    terminal or open a hyperlink.

    Args:
        value: Any value; it is converted with ``str``.
        newlines: Keep line breaks (for multi-line messages).
    """
    pattern = _UNSAFE_EXCEPT_NEWLINE if newlines else _UNSAFE_CHARS
    return pattern.sub(_visible, str(value))


def markup(value: Any, *, newlines: bool = False) -> str:
    """A user-supplied value to embed in a rich markup string: printable and markup-escaped, so
    ``[link=...]`` or ``[/x]`` in a name is shown as typed."""
    return escape(printable(value, newlines=newlines))


def safe_text(value: Any) -> Text:
    """A user-supplied value as a table cell or title: printable, never parsed as markup."""
    return Text(printable(value))


class SafeConsole(Console):
    """A rich console that drops control characters from the text of everything it renders.

    Rich adds its own styling and cursor controls when it writes the rendered segments, so
    removing controls from the segments' text keeps those and drops only what a renderable
    carried in (a name in a table built elsewhere, say).
    """

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and _UNSAFE_EXCEPT_NEWLINE.search(segment.text):
                yield Segment(_UNSAFE_EXCEPT_NEWLINE.sub("", segment.text), segment.style)
            else:
                yield segment
