"""Contract tests generated from PERTURBATIONS: every registered perturbation of every modality."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from robustlab.errors import ConfigError
from robustlab.perturbations import PERTURBATIONS, Perturbation, Perturbed, perturbation_of
from robustlab.perturbations.image import CORRUPTIONS
from robustlab.perturbations.text import TRANSFORMATIONS

TEXTS = [
    "I don't think Emma and John went to Paris in 2019 with 3 friends; it is what it is.",
    "We're not sure the film was good, but the actors did a wonderful job in London.",
    "",
    "Do not open the door before 10 o'clock, Michael said; they can't wait for Sarah.",
    "The movie is a quiet, beautiful story and I would watch it again in Berlin or Rome.",
    "ok",
    "I'm sure you're right, we'll see; they've gone, she's here and it's late, isn't it?",
    "He is not here, it is late, we are tired and they are not coming; I do not know why.",
]


def _images() -> torch.Tensor:
    """Smooth random colour fields with a bright square: edges, flat areas and mid-tones."""
    g = torch.Generator().manual_seed(2)
    coarse = torch.rand(3, 3, 4, 4, generator=g)
    images = 0.15 + 0.7 * torch.nn.functional.interpolate(coarse, size=(32, 32), mode="bilinear")
    images[:, :, 8:16, 8:16] = 0.95
    return images.clamp(0, 1)


def _texts() -> list[str]:
    return list(TEXTS)


def _rows() -> torch.Tensor:
    """Tabular rows in [0, 1] (encoded, float64): seven rows, three numeric columns and a binary
    one (inferred as categorical)."""
    g = torch.Generator().manual_seed(5)
    rows = torch.rand(7, 4, generator=g, dtype=torch.float64)
    rows[:, 3] = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    return rows


def _queries() -> list[Any]:
    from robustlab.perturbations.llm._base import example_queries

    return example_queries()


#: Example inputs per modality: a modality without an entry fails the test that needs it.
INPUTS: dict[str, Callable[[], Any]] = {
    "image": _images,
    "text": _texts,
    "tabular": _rows,
    "llm": _queries,
}

NAMES = PERTURBATIONS.names()


def _inputs(cls: type[Perturbation[Any]]) -> Any:
    if cls.modality not in INPUTS:
        pytest.fail(f"no example inputs for {cls.modality} perturbations; add them to INPUTS")
    return INPUTS[cls.modality]()


def _same(a: Any, b: Any) -> bool:
    return torch.equal(a, b) if torch.is_tensor(a) else a == b


@pytest.mark.parametrize("name", NAMES)
def test_declarations(name: str) -> None:
    cls = PERTURBATIONS.get(name)
    assert cls.name == name
    for attr in ("modality", "axis", "kind", "description", "size_unit"):
        assert isinstance(getattr(cls, attr), str) and getattr(cls, attr), attr
    assert (cls.__doc__ or "").strip()
    p = cls.example()
    assert dataclasses.is_dataclass(p) and p.params, "parameters are dataclass fields"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(p, dataclasses.fields(p)[0].name, None)
    assert PERTURBATIONS.build(name, **p.params) == p
    assert pickle.loads(pickle.dumps(p)) == p
    assert isinstance(p.label, str) and p.label


@pytest.mark.parametrize("name", NAMES)
def test_output_contract(name: str) -> None:
    cls = PERTURBATIONS.get(name)
    p = cls.example()
    x = _inputs(cls)
    before = x.clone() if torch.is_tensor(x) else list(x)
    out = p.apply(x, seed=3)
    assert isinstance(out, Perturbed)
    assert _same(x, before), "the inputs must not be modified"
    n = len(x)
    assert type(out.inputs) is type(x) and len(out.inputs) == n
    if torch.is_tensor(x):
        assert out.inputs.shape == x.shape and out.inputs.dtype == x.dtype
        assert out.inputs.device == x.device
        assert torch.isfinite(out.inputs).all()
        assert float(out.inputs.min()) >= 0.0 and float(out.inputs.max()) <= 1.0
    else:
        assert all(isinstance(t, type(x[0])) for t in out.inputs)
    assert out.size.shape == (n,) and out.size.dtype == np.float64
    defined = ~np.isnan(out.size)
    assert np.all(out.size[defined] >= 0) and np.all(np.isfinite(out.size[defined]))
    assert out.changed.shape == (n,) and out.changed.dtype == bool
    assert np.all(out.size[defined & ~out.changed] == 0), "an unchanged input has size 0"
    for i in range(n):
        assert out.changed[i] == (not _same(out.inputs[i], x[i]))
    if out.edits is not None:
        assert len(out.edits) == n
        for i in range(n):
            assert bool(out.edits[i]) == bool(out.changed[i])
    if cls.partial:
        for i in np.flatnonzero(out.changed):
            assert p.applies_to(x[i]), "a changed input is one the perturbation applies to"
    else:
        assert out.changed.any(), "a perturbation must change its example inputs"


@pytest.mark.parametrize("name", NAMES)
def test_seeded(name: str) -> None:
    cls = PERTURBATIONS.get(name)
    p = cls.example()
    x = _inputs(cls)
    out = p.apply(x, seed=3)
    again = p.apply(x, seed=3)
    assert _same(out.inputs, again.inputs), "the same seed must give the same output"
    assert np.array_equal(out.size, again.size, equal_nan=True)
    if cls.random:
        # a few binary draws (a sign per image) can repeat for one other seed, not for four
        others = [p.apply(x, seed=s).inputs for s in (4, 5, 6, 7)]
        assert any(not _same(out.inputs, o) for o in others), "seeds must matter"


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch(name: str) -> None:
    cls = PERTURBATIONS.get(name)
    x = _inputs(cls)[:0]
    out = cls.example().apply(x, seed=0)
    assert len(out.inputs) == 0 and out.size.shape == (0,) and out.changed.shape == (0,)


@pytest.mark.parametrize("name", NAMES)
def test_spec_round_trips_through_perturbation_of(name: str) -> None:
    p = PERTURBATIONS.get(name).example()
    spec = {"probe": "perturbation", "perturbation": name, **p.params}
    assert perturbation_of(spec) == (name, p.params)


def test_modality_views_keep_their_names_and_records() -> None:
    image = [n for n in NAMES if PERTURBATIONS.get(n).modality == "image"]
    text = [n for n in NAMES if PERTURBATIONS.get(n).modality == "text"]
    assert CORRUPTIONS.names() == image and TRANSFORMATIONS.names() == text
    for name in image:
        assert PERTURBATIONS.get(name).corruption is CORRUPTIONS.get(name)
    for name in text:
        assert PERTURBATIONS.get(name).transformation is TRANSFORMATIONS.get(name)
    assert len(CORRUPTIONS) == len(image) and "fog" in CORRUPTIONS and "fog" not in TRANSFORMATIONS
    with pytest.raises(KeyError, match=r"Unknown text transformation 'fog'.*Available: casing"):
        TRANSFORMATIONS.get("fog")


def test_names_are_unique_across_modalities() -> None:
    @dataclasses.dataclass(frozen=True)
    class Clash(Perturbation[list[str]]):
        """A text perturbation claiming an image corruption's name."""

        strength: float = 1.0
        name = "fog"
        modality = "text"
        axis = "text perturbations"
        kind = "text_transformation"

        def apply(self, inputs: list[str], seed: int = 0) -> Perturbed[list[str]]:
            raise AssertionError("never run")

    from robustlab.perturbations import register

    with pytest.raises(ConfigError, match=r"The perturbation 'fog' is registered twice"):
        register(Clash)


def test_parameters_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"'severity' parameter of perturbation 'fog' must be"):
        PERTURBATIONS.build("fog", severity=0)
    with pytest.raises(ConfigError, match=r"'rate' parameter of perturbation 'casing' must be"):
        PERTURBATIONS.build("casing", rate=1.5)
    with pytest.raises(ConfigError, match=r"Perturbation 'fog' has no parameter 'rate'"):
        PERTURBATIONS.build("fog", rate=0.5)


def test_sizes_are_the_modality_measures() -> None:
    x = _images()
    out = PERTURBATIONS.build("gaussian_noise", severity=2).apply(x, seed=0)
    expected = (out.inputs - x).flatten(1).norm(dim=1).numpy().astype(np.float64)
    assert np.array_equal(out.size, expected)
    texts = ["one two three four", "Emma left."]
    swapped = PERTURBATIONS.build("swap_names", rate=1.0).apply(texts, seed=0)
    assert swapped.changed.tolist() == [False, True]
    assert swapped.size.tolist() == [0.0, 0.5]  # one of two words
    (edit,) = swapped.edits[1]
    assert texts[1][edit.original_start : edit.original_start + len(edit.original)] == "Emma"
