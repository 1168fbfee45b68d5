"""The shared parameter checks: accepted values pass through, rejected ones name the fix."""

import math

import pytest

from robustlab.errors import ConfigError
from robustlab.validation import check_choice, check_int, check_number, check_seed


def test_check_int_accepts_and_rejects():
    assert check_int("attack 'pgd'", "steps", 10) == 10
    assert check_int("x", "n", None, optional=True) is None
    with pytest.raises(
        ConfigError,
        match=r"The 'steps' parameter of attack 'pgd' must be a positive int\. Got 0 instead\.",
    ):
        check_int("attack 'pgd'", "steps", 0)
    with pytest.raises(ConfigError, match=r"must be an int in 1\.\.5\. Got 6 instead"):
        check_int("corruption 'fog'", "severity", 6, maximum=5)
    with pytest.raises(ConfigError, match=r"must be a non-negative int\. Got True instead"):
        check_int("x", "seed", True, minimum=0)
    with pytest.raises(ConfigError, match="an int >= 2"):
        check_int("x", "k", 1.5, minimum=2)


def test_check_number_ranges():
    assert check_number("x", "eps", 3) == 3.0
    assert check_number("x", "rate", 0.0, low_inclusive=True, high=1) == 0.0
    for bad, pattern in [
        (0.0, "a positive float"),
        (math.nan, "a positive float"),
        (math.inf, "a positive float"),
        ("0.1", "a positive float"),
    ]:
        with pytest.raises(ConfigError, match=pattern):
            check_number("x", "eps", bad)
    with pytest.raises(ConfigError, match=r"a float in \[0, 1\]\. Got 1.5"):
        check_number("x", "rate", 1.5, low_inclusive=True, high=1)
    with pytest.raises(ConfigError, match=r"a float in \(0, 1\)\. Got 1"):
        check_number("x", "p", 1, high=1, high_inclusive=False)
    with pytest.raises(ConfigError, match=r"a float >= 2 or None"):
        check_number("x", "t", 1, low=2, low_inclusive=True, optional=True)


def test_check_choice_and_seed():
    assert check_choice("attack 'pgd'", "norm", "l2", ("linf", "l2")) == "l2"
    with pytest.raises(ConfigError, match=r"must be one of \['linf', 'l2'\]\. Got 'l3' instead"):
        check_choice("attack 'pgd'", "norm", "l3", ("linf", "l2"))
    assert check_seed("x", 0) == 0
    with pytest.raises(ConfigError, match="'seed' parameter of x must be a non-negative int"):
        check_seed("x", -1)
