"""Unions of threat models: transformations with known answers, the search, the probe, bad input."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from robustlab.attacks import Hue, RotationTranslation
from robustlab.attacks.image.union import DEFAULT_UNION, attack_union, parse_members
from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.probes.base import make_probe
from robustlab.probes.union import UNION_MEDIA_TYPE, union_levels

SMALL = [
    {"threat": "lp", "norm": "linf", "grid": [0.04, 0.08, 0.16]},
    {"threat": "lp", "norm": "l2", "grid": [0.3, 0.6, 1.2], "attack": "pgd"},
    {"threat": "rotation_translation", "grid": [0.33, 0.67, 1.0], "params": {"per_axis": 3}},
    {"threat": "brightness", "grid": [0.1, 0.2, 0.4], "params": {"per_axis": 5}},
]


def test_hue_rotation_by_a_third_turn_permutes_the_channels():
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 1.0
    out = Hue(1.0).transform(red, torch.tensor([[2 / 3]]), (0.0, 1.0))
    assert torch.allclose(out[:, 1], torch.ones(1, 2, 2), atol=1e-6)
    assert torch.allclose(out[:, [0, 2]], torch.zeros(1, 2, 2, 2), atol=1e-6)
    gray = torch.full((1, 3, 2, 2), 0.4)  # gray lies on the axis: unchanged
    assert torch.allclose(Hue(1.0).transform(gray, torch.tensor([[0.3]]), (0.0, 1.0)), gray)


def test_rotation_by_ninety_degrees_and_a_shift_are_exact():
    x = torch.arange(16.0).view(1, 1, 4, 4) / 16
    threat = RotationTranslation(1.0)
    assert threat.limits((1, 32, 32)).tolist() == [30.0, 3.0, 3.0]
    assert threat.limits((1, 64, 64)).tolist() == [30.0, 6.0, 6.0]  # scaled by the side
    turned = threat.transform(x, torch.tensor([[90.0, 0.0, 0.0]]), (0.0, 1.0))
    assert torch.allclose(turned, torch.rot90(x, k=-1, dims=(2, 3)), atol=1e-5) or torch.allclose(
        turned, torch.rot90(x, k=1, dims=(2, 3)), atol=1e-5
    )
    shifted = threat.transform(x, torch.tensor([[0.0, 1.0, 0.0]]), (0.0, 1.0))
    assert torch.allclose(shifted[..., 1:], x[..., :-1], atol=1e-5)
    assert torch.allclose(shifted[..., 0], torch.zeros(1, 1, 4))
    grid = threat.candidates((1, 8, 8), 3)
    assert grid.shape == (27, 3) and grid[0].abs().sum() == 0  # the identity first


def test_union_search_binary_equals_full_and_curves_are_monotone(mlp, digits):
    x, y = digits[0][:40], digits[1][:40]
    members = parse_members(SMALL)
    binary = attack_union(mlp, x, y, members)
    full = attack_union(mlp, x, y, members, search="full")
    # The transformation members are deterministic and PGD starts at random per batch, so
    # compare the deterministic members exactly and the Lp ones by their curves' shape.
    assert torch.equal(binary.broken_at[2:], full.broken_at[2:])
    assert sum(binary.evaluations) < sum(full.evaluations) <= sum(full.full_evaluations)
    for curve in binary.member_curves():
        assert all(b <= a for a, b in itertools.pairwise(curve))
    worst = binary.worst_case()
    per = np.array(binary.member_curves())
    assert np.allclose(worst[-1] <= per[:, -1].min() + 1e-12, True)
    assert all(w <= p + 1e-12 for w, p in zip(worst, per.min(axis=0), strict=True))
    # The worst case's adversarials are real: every example broken by some member at the top
    # level is misclassified on a fresh pass, the others are the clean input.
    broken = (binary.broken_at <= 2).any(dim=0) & binary.clean_correct
    pred = mlp.predict_scores(binary.adversarial).argmax(dim=1)
    assert (pred[broken] != y[broken]).all() and binary.info["unconfirmed"] == 0
    assert torch.equal(binary.adversarial[~broken], x[~broken])


@pytest.mark.parametrize(
    ("members", "match"),
    [
        ([], "at least one member"),
        ([{"threat": "lp", "norm": "linf", "grid": [0.1, 0.05]}], "strictly increasing"),
        ([{"threat": "lp", "norm": "linf", "grid": []}], "non-empty list"),
        ([{"threat": "hues", "grid": [0.1]}], "Did you mean 'hue'"),
        ([{"norm": "linf", "grid": [0.1]}], "needs a 'threat' key"),
        ([{"threat": "lp", "norm": "l1", "grid": [1.0], "attack": "apgd"}], "cannot search"),
        (
            [{"threat": "lp", "grid": [0.1, 0.2]}, {"threat": "hue", "grid": [0.5]}],
            "same length",
        ),
        ([{"threat": "lp", "grid": [0.1], "colour": 1}], "has no key 'colour'"),
    ],
)
def test_bad_unions_are_refused_when_the_probe_is_built(members, match):
    with pytest.raises(ConfigError, match=match):
        make_probe({"probe": "union", "members": members})


def test_colour_on_one_channel_is_refused_in_preflight_before_any_unit(cnn, small_digits, tmp_path):
    import robustlab

    suite = {
        "name": "u",
        "version": 1,
        "probes": [{"probe": "union", "members": [{"threat": "hue", "grid": [0.5, 1.0]}]}],
    }
    with pytest.raises(ConfigError, match="needs 3-channel images"):
        robustlab.scan(cnn, small_digits, suite, store=str(tmp_path / "s.db"), progress=False)


def test_default_union_parses_and_scales_with_the_image_side():
    members = parse_members(list(DEFAULT_UNION))
    l2 = next(m for m in members if m.norm == "l2")
    l1 = next(m for m in members if m.norm == "l1")
    assert l2.grid_for((3, 64, 64)) == [2 * v for v in l2.grid]
    assert l1.grid_for((3, 16, 16)) == [v / 4 for v in l1.grid]
    probe = make_probe("union")
    assert len(probe.parsed()) == len(DEFAULT_UNION)


def test_union_probe_records_and_stored_levels(mlp, digits):
    x, y = digits[0][:30], digits[1][:30]
    batch = Batch(x, y.numpy(), [f"d{i}" for i in range(30)], indices=np.arange(30))
    probe = make_probe({"probe": "union", "members": SMALL[2:], "reference": "abc"})
    again = make_probe(probe.spec)  # a stored spec rebuilds the same probe
    assert again == probe and again.key == probe.key and probe.params["reference"] == "abc"
    records = probe.run(mlp, batch, seed=0)
    art = [a for a in records.artifacts if a["media_type"] == UNION_MEDIA_TYPE]
    assert len(art) == 1
    levels = union_levels([{**art[0], "probe_key": probe.key}], probe.key)
    assert levels is not None and levels["members"] == ["rotation/translation", "brightness"]
    b = levels["broken_at"]
    top = len(levels["grids"][0]) - 1
    union_broken = (b <= top).any(axis=0) & levels["clean_correct"]
    assert np.array_equal(~records.correct, union_broken | ~levels["clean_correct"])
    count = records.value[levels["clean_correct"]]
    assert np.array_equal(count, (b <= top).sum(axis=0)[levels["clean_correct"]])
    assert json.loads(art[0]["data"])["ids"] == batch.ids
    assert not math.isnan(float(records.value[levels["clean_correct"]][0]))


def test_default_union_leaves_out_colour_on_grayscale_but_a_listed_one_is_refused(mlp, batch):
    x, _ = batch
    default = make_probe("union")
    assert default.skip_inapplicable and make_probe(default.spec) == default
    kept = [m.label for m in default.applicable_members(tuple(x.shape))]
    assert "hue" not in kept and "saturation" not in kept and "brightness" in kept
    default.check_inputs(x)  # no error
    listed = make_probe({"probe": "union", "members": [{"threat": "hue", "grid": [0.5]}]})
    with pytest.raises(ConfigError, match="needs 3-channel images"):
        listed.check_inputs(x)
