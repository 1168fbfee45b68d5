"""Parameter checks shared by every plugin: one argument order, one message format.

Every check takes ``(owner, param, value, ...)``, where ``owner`` names what is being configured
(``"attack 'pgd'"``, ``"corruption 'fog'"``), and raises :class:`~robustlab.errors.ConfigError`
with the message ``The 'param' parameter of owner must be <expected>. Got <value> instead.``
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from robustlab.errors import ConfigError

__all__ = ["check_choice", "check_int", "check_number", "check_seed", "fail"]


def fail(owner: str, param: str, expected: str, value: object, hint: str = "") -> ConfigError:
    """The error for ``param`` of ``owner`` not being ``expected`` (``hint`` says how to fix it)."""
    tail = f" {hint}" if hint else ""
    return ConfigError(
        f"The {param!r} parameter of {owner} must be {expected}. Got {value!r} instead.{tail}"
    )


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_int(
    owner: str,
    param: str,
    value: object,
    minimum: int = 1,
    maximum: int | None = None,
    *,
    optional: bool = False,
) -> int | None:
    """Return ``value`` if it is an int in ``minimum..maximum`` (or ``None`` when optional)."""
    if value is None and optional:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if ok and maximum is not None:
        ok = value <= maximum  # type: ignore[operator]
    if not ok:
        if maximum is not None:
            expected = f"an int in {minimum}..{maximum}"
        elif minimum == 1:
            expected = "a positive int"
        elif minimum == 0:
            expected = "a non-negative int"
        else:
            expected = f"an int >= {minimum}"
        raise fail(owner, param, expected + (" or None" if optional else ""), value)
    return value  # type: ignore[return-value]


def check_number(
    owner: str,
    param: str,
    value: object,
    *,
    low: float = 0.0,
    high: float = math.inf,
    low_inclusive: bool = False,
    high_inclusive: bool = True,
    optional: bool = False,
) -> float | None:
    """Return ``float(value)`` if it is a finite real number in the range (``None`` if optional).

    The range is ``(low, high]`` by default; ``low_inclusive`` / ``high_inclusive`` close or open
    its ends.
    """
    if value is None and optional:
        return None
    ok = _is_real(value) and math.isfinite(float(value))  # type: ignore[arg-type]
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (v >= low if low_inclusive else v > low) and (
            v <= high if high_inclusive else v < high
        )
    if not ok:
        if low == 0.0 and high == math.inf:
            expected = "a non-negative float" if low_inclusive else "a positive float"
        elif high == math.inf:
            expected = f"a float {'>=' if low_inclusive else '>'} {low:g}"
        else:
            expected = (
                f"a float in {'[' if low_inclusive else '('}{low:g}, {high:g}"
                f"{']' if high_inclusive else ')'}"
            )
        raise fail(owner, param, expected + (" or None" if optional else ""), value)
    return float(value)  # type: ignore[arg-type]


def check_choice(owner: str, param: str, value: object, choices: Sequence[object]) -> object:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise fail(owner, param, f"one of {list(choices)}", value)
    return value


def check_seed(owner: str, value: object) -> int:
    """Return ``value`` if it is a non-negative int (a seed)."""
    out = check_int(owner, "seed", value, minimum=0)
    assert out is not None
    return out
