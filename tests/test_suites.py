"""Suites: YAML loading, grid expansion, built-in presets and name errors."""

from __future__ import annotations

import pytest

import robustlab
from robustlab.errors import ConfigError, UnknownNameError
from robustlab.suites import SUITES, Suite, load_suite


@pytest.mark.parametrize("name", SUITES.names())
def test_builtin_suites_load_and_are_versioned(name: str) -> None:
    suite = load_suite(name)
    assert suite.name == name
    assert suite.version >= 1
    assert suite.probes[0].key == "clean"
    assert Suite.from_dict(suite.spec).fingerprint == suite.fingerprint


def test_grid_expands_to_cartesian_product(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: mine\nversion: 2\nprobes:\n  - clean\n"
        "  - probe: corruption\n    grid: {corruption: [gaussian_noise, contrast], severity: [1, 5]}\n"
        "  - {probe: attack, attack: pgd, epsilon: 8/255}\n"
    )
    suite = Suite.from_yaml(path)
    keys = [p.key for p in suite.probes]
    assert keys[:5] == [
        "clean",
        "corruption(gaussian_noise,severity=1)",
        "corruption(gaussian_noise,severity=5)",
        "corruption(contrast,severity=1)",
        "corruption(contrast,severity=5)",
    ]
    assert suite.probes[5].epsilon == pytest.approx(8 / 255)
    assert suite.version == 2


def test_unknown_suite_suggests_close_name() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown suite 'quik'\. Did you mean 'quick'"):
        load_suite("quik")


def test_unknown_probe_and_parameter_and_metric() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown probe 'clen'\. Did you mean 'clean'\?"):
        load_suite({"name": "x", "probes": ["clen"]})
    with pytest.raises(ConfigError, match=r"Probe 'corruption' has no parameter 'level'"):
        load_suite(
            {"name": "x", "probes": [{"probe": "corruption", "corruption": "fog", "level": 2}]}
        )
    with pytest.raises(
        UnknownNameError, match=r"Unknown metric 'acuracy'\. Did you mean 'accuracy'"
    ):
        load_suite({"name": "x", "probes": ["clean"], "metrics": ["acuracy"]})


def test_bad_values_are_reported_in_the_standard_format() -> None:
    with pytest.raises(
        ConfigError, match=r"The 'severity' parameter of probe 'corruption' must be an int"
    ):
        robustlab.make_probe("corruption corruption=fog severity=high")
    with pytest.raises(ConfigError, match=r"must be an int in 1\.\.5\. Got 7 instead"):
        robustlab.make_probe("corruption corruption=fog severity=7")
    with pytest.raises(
        ConfigError, match=r"'epsilon' parameter of probe 'attack' must be a positive"
    ):
        robustlab.make_probe({"probe": "attack", "epsilon": -0.1})


def test_suite_structure_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="lists no probes"):
        load_suite({"name": "x", "probes": []})
    with pytest.raises(ConfigError, match="more than once"):
        load_suite({"name": "x", "probes": ["clean", "clean"]})
    with pytest.raises(ConfigError, match="unknown key"):
        load_suite({"name": "x", "probes": ["clean"], "tests": []})
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_suite(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(tmp_path / "missing.yaml")


def test_cli_style_probe_strings_round_trip() -> None:
    probe = robustlab.make_probe("attack attack=pgd norm=l2 epsilon=0.5 steps=10")
    assert probe.key == "attack(pgd,norm=l2,epsilon=0.5,steps=10)"
    with pytest.raises(ConfigError, match=r"attack .pgd. has no parameter .n_queries."):
        robustlab.make_probe("attack attack=pgd n_queries=10")
    assert robustlab.make_probe(probe.spec) == probe
