"""Parameter checks shared by every plugin: one argument order, one message format.

Every check takes ``(owner, param, value, ...)``, where ``owner`` names what is being configured
(``"attack 'pgd'"``, ``"corruption 'fog'"``), and raises :class:`~robustlab.errors.ConfigError`
with the message ``The 'param' parameter of owner must be <expected>. Got <value> instead.``
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from robustlab.errors import ConfigError

__all__ = [
    "check_choice",
    "check_int",
    "check_number",
    "check_seed",
    "epsilon_label",
    "fail",
    "parse_fraction",
]


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


def parse_fraction(value: object, where: str = "value") -> float:
    """``"8/255"``, ``"0.03"`` or a number to a float; a zero denominator or a non-number raises
    a ConfigError naming ``where`` and the accepted forms (epsilons are written ``8/255``)."""
    if isinstance(value, bool):
        raise ConfigError(f"The {where} must be a number or a fraction like 8/255. Got {value!r}.")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    num, sep, den = text.partition("/")
    try:
        top = float(num)
        bottom = float(den) if sep else 1.0
    except ValueError:
        raise ConfigError(
            f"The {where} must be a number or a fraction like 8/255. Got {value!r}."
        ) from None
    if bottom == 0:
        raise ConfigError(
            f"The {where} {text!r} divides by zero; write a fraction with a non-zero "
            f"denominator, e.g. 8/255."
        )
    return top / bottom


def epsilon_label(eps: float | None) -> str:
    """``eps`` as ``k/255`` when it is (to float precision) a whole number of 255ths, else ``%g``."""
    if eps is None:
        return "None"
    k = eps * 255
    if eps > 0 and abs(k - round(k)) < 1e-6 * max(1.0, k):
        return f"{round(k)}/255"
    return f"{eps:.4g}"
