"""Per-example seeding (issue 19 item 2): every random choice depends on (seed, probe, example id)
only, so a scan gives the same per-example records at any shard size and on any backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import robustlab
from robustlab.perturbations import PERTURBATIONS
from robustlab.seeding import ExampleSeeds, as_seeds, example_seeds, mix64
from robustlab.seeding import _mix64_torch as mix64_torch

SHARD_SIZES = (300, 100, 37)


# -- the utility -----------------------------------------------------------------------------


def test_mix64_is_splitmix64_in_numpy_and_torch() -> None:
    # SplitMix64 from state 0: its first output is mix(0 + golden) = 0xE220A8397B1DCDAF
    # (Steele et al.'s reference generator; also Java's SplittableRandom(0).nextLong()).
    golden = np.array([0x9E3779B97F4A7C15], dtype=np.uint64)
    assert int(mix64(golden)[0]) == 0xE220A8397B1DCDAF
    x = np.random.default_rng(0).integers(0, 2**63, 1000, dtype=np.uint64) * np.uint64(3)
    ours = mix64_torch(torch.from_numpy(x.view(np.int64))).numpy().view(np.uint64)
    assert np.array_equal(ours, mix64(x))


def test_example_seeds_depend_on_seed_key_and_id_only() -> None:
    a = example_seeds(5, "probe", ["x", "y", "z"])
    assert np.array_equal(a[[2, 0]], example_seeds(5, "probe", ["z", "x"]))
    assert len(set(a.tolist())) == 3
    assert not np.array_equal(a, example_seeds(6, "probe", ["x", "y", "z"]))
    assert not np.array_equal(a, example_seeds(5, "other", ["x", "y", "z"]))
    # stable across processes and versions: BLAKE2b of "seed\x1fkey\x1fid"
    import hashlib

    digest = hashlib.blake2b(b"0\x1f\x1f0", digest_size=8).digest()
    assert int(example_seeds(0, "", ["0"])[0]) == int.from_bytes(digest, "little")
    assert ExampleSeeds.positional(4, 3) == ExampleSeeds.of(4, ["0", "1", "2"])


def test_draws_of_an_example_do_not_depend_on_its_batch() -> None:
    seeds = ExampleSeeds.of(1, [f"id{i}" for i in range(10)])
    whole = seeds.draws()
    u, n, k = whole.rand((10, 3, 4)), whole.randn((10, 5)), whole.randint(0, 7, (10, 2))
    part = seeds[[7, 2, 9]].draws()
    assert torch.equal(part.rand((3, 3, 4)), u[[7, 2, 9]])
    assert torch.equal(part.randn((3, 5)), n[[7, 2, 9]])
    assert torch.equal(part.randint(0, 7, (3, 2)), k[[7, 2, 9]])
    # a sub-batch shares its examples' counters: examples 3 and 4 draw their second value next
    fresh = seeds.draws()
    first = fresh.rand((10,))
    sub = fresh.take([3, 4])
    again = seeds.draws()
    again.rand((10,))
    second = again.rand((10,))
    assert torch.equal(sub.rand((2,)), second[3:5])
    assert not torch.equal(second, first)


def test_draws_have_the_right_distributions() -> None:
    d = ExampleSeeds.positional(0, 4000).draws()
    u = d.rand((4000, 50), dtype=torch.float64)
    assert float(u.min()) >= 0 and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.003
    z = d.randn((4000, 50), dtype=torch.float64)
    assert abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1) < 0.01
    counts = np.bincount(d.randint(-2, 3, (4000, 50)).flatten().numpy() + 2, minlength=5)
    assert counts.min() > 0.19 * 200_000 and counts.max() < 0.21 * 200_000
    p = d.poisson(torch.full((4000, 10), 3.0))
    assert abs(float(p.mean()) - 3) < 0.05 and abs(float(p.var()) - 3) < 0.15
    r = d.random((4000, 50))
    assert abs(r.mean() - 0.5) < 0.003 and abs(d.standard_normal((4000, 50)).std() - 1) < 0.01
    assert set(np.unique(d.integers(3, size=(4000, 2)))) == {0, 1, 2}


def test_as_seeds_checks_the_batch_length() -> None:
    from robustlab.errors import ConfigError

    with pytest.raises(ConfigError, match="holds seeds for 2 examples, but the batch has 3"):
        as_seeds("apply()", ExampleSeeds.of(0, ["a", "b"]), 3)
    with pytest.raises(ConfigError, match="seed"):
        as_seeds("apply()", -1, 3)


# -- perturbations: an example's output does not depend on its batch -------------------------


@pytest.mark.parametrize(
    "name", ["gaussian_noise", "shot_noise", "glass_blur", "frost", "dotted_line", "fog"]
)
def test_image_corruption_per_example(name: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 28, 28, generator=g)
    ids = [f"img{i}" for i in range(6)]
    p = PERTURBATIONS.build(name, severity=3)
    whole = p.apply(x, seed=ExampleSeeds.of(9, ids)).inputs
    for rows in ([4, 1], [5], [0, 2, 3]):
        part = p.apply(x[rows], seed=ExampleSeeds.of(9, [ids[i] for i in rows])).inputs
        assert torch.equal(part, whole[rows])


@pytest.mark.parametrize("name", ["typo_keyboard", "synonym", "swap_names", "punctuation"])
def test_text_transformation_per_example(name: str) -> None:
    texts = [
        "Emma said the pasta in Rome was cheap and good.",
        "John loved the movie, it was wonderful.",
        "The service in Paris was slow but friendly.",
        "A small house with a large garden.",
    ]
    ids = ["a", "b", "c", "d"]
    p = PERTURBATIONS.build(name, rate=0.5)
    whole = p.apply(texts, seed=ExampleSeeds.of(3, ids)).inputs
    for rows in ([3, 0], [2], [1, 2, 3]):
        part = p.apply([texts[i] for i in rows], seed=ExampleSeeds.of(3, [ids[i] for i in rows]))
        assert part.inputs == [whole[i] for i in rows]


@pytest.mark.parametrize("name", ["column_noise", "category_swap", "rounding", "unit_error"])
def test_tabular_perturbation_per_example(name: str) -> None:
    from robustlab.tabular import Schema

    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=40), rng.integers(0, 3, 40), rng.normal(size=40) * 9])
    schema = Schema.infer(x)
    ids = [f"row{i}" for i in range(40)]
    p = PERTURBATIONS.build(name)
    whole = p.apply(x, seed=ExampleSeeds.of(2, ids), schema=schema).inputs
    rows = [30, 3, 17]
    part = p.apply(x[rows], seed=ExampleSeeds.of(2, [ids[i] for i in rows]), schema=schema)
    np.testing.assert_array_equal(part.inputs, whole[rows])


# -- scans at three shard sizes --------------------------------------------------------------


def _records(result) -> dict[str, list[dict]]:
    store, run_id = result.store, result.run_id
    keys = sorted({u["probe_key"] for u in store.units(run_id)})
    out = {}
    for k in keys:
        rows = store.load_records(run_id, k).rows()
        out[k] = sorted(rows, key=lambda r: str(r["example_id"]))
    return out


def _same(a: dict[str, list[dict]], b: dict[str, list[dict]], what: str) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert len(a[key]) == len(b[key]), (what, key)
        for ra, rb in zip(a[key], b[key], strict=True):
            assert ra.keys() == rb.keys()
            for col in ra:
                va, vb = ra[col], rb[col]
                if isinstance(va, float) and isinstance(vb, float):
                    # the model's forward pass on another batch size may round differently
                    assert math.isclose(va, vb, rel_tol=1e-5, abs_tol=1e-6), (what, key, col)
                else:
                    assert va == vb, (what, key, ra["example_id"], col, va, vb)


def _scan_at(model, data, suite, shard_size: int, **kwargs):
    return robustlab.scan(
        model, data, suite, store="sqlite://", shard_size=shard_size, progress=False, **kwargs
    )


IMAGE_SUITE = {
    "name": "shard-invariance-image",
    "version": 1,
    "probes": [
        {"probe": "perturbation", "perturbation": "gaussian_noise", "severity": 4},
        {"probe": "perturbation", "perturbation": "glass_blur", "severity": 2},
        {"probe": "attack", "attack": "pgd", "epsilon": 0.15, "steps": 3, "random_start": True},
        {"probe": "attack", "attack": "square", "epsilon": 0.2, "n_queries": 40},
    ],
}


@pytest.fixture(scope="module")
def image_runs(cnn, digits_test):
    return {s: _records(_scan_at(cnn, digits_test, IMAGE_SUITE, s)) for s in SHARD_SIZES}


def test_image_scan_records_do_not_depend_on_the_shard_size(image_runs) -> None:
    first = image_runs[SHARD_SIZES[0]]
    assert len(first) == 4 and all(len(v) == 539 for v in first.values())
    for s in SHARD_SIZES[1:]:
        _same(first, image_runs[s], f"shard_size={s}")


def test_image_scan_records_are_random_at_all(image_runs, cnn, digits_test) -> None:
    # the probes do draw: another scan seed changes the perturbed records
    other = _records(_scan_at(cnn, digits_test, IMAGE_SUITE, 300, seed=1))
    key = next(k for k in other if "gaussian_noise" in k)
    conf = [r["confidence"] for r in other[key]]
    assert conf != [r["confidence"] for r in image_runs[300][key]]


def test_process_backend_gives_the_same_records(image_runs, cnn, digits_test) -> None:
    suite = {**IMAGE_SUITE, "probes": IMAGE_SUITE["probes"][::3]}  # noise and Square
    res = _scan_at(cnn, digits_test, suite, 100, backend="process", workers=2)
    got = _records(res)
    want = {k: v for k, v in image_runs[300].items() if k in got}
    assert len(got) == 2
    _same(want, got, "process backend")


def test_text_transformation_scan_does_not_depend_on_the_shard_size() -> None:
    from helpers_text import reviews, tfidf

    suite = {
        "name": "shard-invariance-text",
        "version": 1,
        "probes": [{"probe": "perturbation", "perturbation": "typo_keyboard", "rate": 0.3}],
    }
    data, model = reviews("train"), tfidf()
    runs = [_records(_scan_at(model, data, suite, s)) for s in SHARD_SIZES]
    assert sum(len(v) for v in runs[0].values()) > 250
    for s, run in zip(SHARD_SIZES[1:], runs[1:], strict=True):
        _same(runs[0], run, f"shard_size={s}")


def test_tabular_perturbation_scan_does_not_depend_on_the_shard_size() -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from robustlab.tabular import TableDataset, TableModel

    wine = load_wine(as_frame=True)
    data = TableDataset(wine.data, wine.target.to_numpy(), name="wine")
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model = TableModel(pipe.fit(wine.data, wine.target), data.schema)
    suite = {
        "name": "shard-invariance-tabular",
        "version": 1,
        "probes": [
            {"probe": "perturbation", "perturbation": "column_noise", "scale": 0.8},
            {"probe": "perturbation", "perturbation": "unit_error", "rate": 0.3},
        ],
    }
    runs = [_records(_scan_at(model, data, suite, s)) for s in (178, 60, 37)]
    for s, run in zip((60, 37), runs[1:], strict=True):
        _same(runs[0], run, f"shard_size={s}")


@pytest.mark.slow  # about a minute: DeepWordBug on 104 reviews, three times
def test_text_attack_scan_does_not_depend_on_the_shard_size() -> None:
    from helpers_text import reviews, tfidf

    suite = {
        "name": "shard-invariance-text-attack",
        "version": 1,
        "probes": [{"probe": "attack", "attack": "deepwordbug", "budget": 30}],
    }
    data, model = reviews("test"), tfidf()
    runs = [_records(_scan_at(model, data, suite, s)) for s in (104, 50, 17)]
    for s, run in zip((50, 17), runs[1:], strict=True):
        _same(runs[0], run, f"shard_size={s}")
