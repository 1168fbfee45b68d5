"""Tests of the plugin registry: registration, lookups with suggestions, submodule discovery."""

from __future__ import annotations

import sys

import pytest

from robustlab.errors import ConfigError, UnknownNameError
from robustlab.registry import Registry, import_submodules


@pytest.fixture
def reg() -> Registry[object]:
    r: Registry[object] = Registry("widget")
    r.add("alpha", 1)
    r.add("beta", 2)
    r.add("gamma", 3)
    return r


def test_register_decorator_returns_object_and_registers_it() -> None:
    r: Registry[type] = Registry("widget")

    @r.register("thing")
    class Thing:
        pass

    assert r.get("thing") is Thing
    assert "thing" in r
    assert len(r) == 1


def test_duplicate_registration_raises_config_error_naming_the_name(reg: Registry[object]) -> None:
    with pytest.raises(ConfigError, match=r"The widget 'alpha' is registered twice"):
        reg.add("alpha", object())
    assert reg.get("alpha") == 1  # the first registration is kept, not overwritten


def test_duplicate_registration_via_decorator_raises() -> None:
    r: Registry[type] = Registry("widget")

    @r.register("x")
    class A:
        pass

    with pytest.raises(ConfigError, match="registered twice"):

        @r.register("x")
        class B:
            pass


def test_registering_the_same_object_again_is_idempotent(reg: Registry[object]) -> None:
    obj = object()
    reg.add("delta", obj)
    reg.add("delta", obj)
    assert reg.get("delta") is obj
    assert len(reg) == 4


@pytest.mark.parametrize("bad", ["", " alpha", "two words", "tail "])
def test_invalid_names_are_refused(bad: str) -> None:
    r: Registry[int] = Registry("widget")
    with pytest.raises(ConfigError, match="must be a non-empty word"):
        r.add(bad, 1)
    assert len(r) == 0


def test_unknown_name_raises_unknown_name_error_with_suggestion(reg: Registry[object]) -> None:
    with pytest.raises(UnknownNameError) as info:
        reg.get("alpah")
    err = info.value
    assert isinstance(err, ConfigError)
    assert isinstance(err, KeyError)
    assert isinstance(err, ValueError)
    msg = str(err)
    assert msg == "Unknown widget 'alpah'. Did you mean 'alpha'? Available: alpha, beta, gamma."
    assert "Did you mean 'alpha'?" in msg
    assert "Available:" in msg


def test_unknown_name_str_is_not_quoted_like_a_key_error(reg: Registry[object]) -> None:
    with pytest.raises(KeyError) as info:
        reg.get("zzz")
    assert str(info.value).startswith("Unknown widget 'zzz'.")


def test_unknown_name_without_close_match_lists_available_only(reg: Registry[object]) -> None:
    with pytest.raises(UnknownNameError) as info:
        reg.get("zzzzzz")
    msg = str(info.value)
    assert "Did you mean" not in msg
    assert msg.endswith("Available: alpha, beta, gamma.")


def test_unknown_name_can_suggest_several(reg: Registry[object]) -> None:
    reg.add("alphas", 4)
    msg = reg.unknown_message("alph")
    assert "Did you mean 'alpha' or 'alphas'?" in msg


def test_names_items_iter_are_sorted() -> None:
    r: Registry[int] = Registry("widget")
    for name, v in [("c", 3), ("a", 1), ("b", 2)]:
        r.add(name, v)
    assert r.names() == ["a", "b", "c"]
    assert list(r) == ["a", "b", "c"]
    assert r.items() == [("a", 1), ("b", 2), ("c", 3)]
    assert "d" not in r
    assert repr(r) == "Registry('widget', 3 entries)"


def test_import_submodules_imports_public_modules_only(tmp_path, monkeypatch) -> None:
    pkg = tmp_path / "rl_fake_plugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("LOADED = []\n")
    (pkg / "one.py").write_text("from rl_fake_plugins import LOADED\nLOADED.append('one')\n")
    (pkg / "two.py").write_text("from rl_fake_plugins import LOADED\nLOADED.append('two')\n")
    (pkg / "_private.py").write_text("from rl_fake_plugins import LOADED\nLOADED.append('priv')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import_submodules("rl_fake_plugins")
        assert sorted(sys.modules["rl_fake_plugins"].LOADED) == ["one", "two"]
    finally:
        for name in [m for m in sys.modules if m.startswith("rl_fake_plugins")]:
            del sys.modules[name]


def test_builtin_registries_answer_with_suggestions() -> None:
    from robustlab.metrics import METRICS

    name = METRICS.names()[0]
    with pytest.raises(UnknownNameError, match=rf"Did you mean '{name}'"):
        METRICS.get(name + "x")
