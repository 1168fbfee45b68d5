"""Contract tests from the ATTACKS registry: batches with nothing to attack, and one example.

Weak models, ``--shard-size 1`` and small trailing shards give an attack a batch in which no
example is correctly classified, or a single one; every attack must handle both.
"""

from __future__ import annotations

import pytest
import torch

from robustlab.attacks import ATTACKS, run
from robustlab.attacks.text import TEXT_ATTACKS
from robustlab.attacks.text import run as run_text

EPS = {"linf": 0.1, "l2": 0.8, "l1": 3.0, "l0": 6.0}
CASES = [
    pytest.param(name, norm, id=f"{name}-{norm}")
    for name in ATTACKS
    if ATTACKS.get(name).modality == "image"
    for norm in ATTACKS.get(name).norms
]


def _attack(model, x, y, name, norm):
    cls = ATTACKS.get(name)
    return run(model, x, y, name, norm=norm, epsilon=EPS[norm], seed=0, **cls.quick_params)


def _model_for(name, mlp, black_box):
    return mlp if "gradients" in ATTACKS.get(name).needs else black_box


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_a_batch_without_a_correctly_classified_example(name, norm, mlp, black_box, batch):
    model = _model_for(name, mlp, black_box)
    x, _ = batch
    wrong = (model.predict_scores(x).argmax(dim=1) + 1) % 10  # every label misses
    result = _attack(model, x, wrong, name, norm)
    assert not result.clean_correct.any()
    assert result.success.all()  # already misclassified counts as broken, with no perturbation
    assert torch.equal(result.adversarial, x)
    assert torch.equal(result.norms, torch.zeros(len(x)))
    if result.queries is not None:
        assert (result.queries == 0).all()


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_a_single_example(name, norm, mlp, black_box, batch):
    model = _model_for(name, mlp, black_box)
    x, _ = batch
    x1 = x[:1]
    y1 = model.predict_scores(x1).argmax(dim=1)  # correctly classified by construction
    result = _attack(model, x1, y1, name, norm)
    assert result.adversarial.shape == x1.shape
    assert result.success.shape == (1,) and bool(result.clean_correct[0])
    if bool(result.success[0]):
        assert int(model.predict_scores(result.adversarial).argmax(dim=1)[0]) != int(y1[0])


def _keyword_model():
    import numpy as np

    from robustlab.models import FunctionModel

    def predict(texts: list[str]) -> np.ndarray:
        p = np.array([0.9 if "good" in t.split() else 0.1 for t in texts])
        return np.stack([1 - p, p], axis=1)

    return FunctionModel(predict, modality="text", num_classes=2, name="keyword")


@pytest.mark.parametrize("name", TEXT_ATTACKS.names())
def test_text_attacks_on_nothing_correct_and_on_one_text(name):
    model = _keyword_model()
    params = TEXT_ATTACKS.get(name).quick_params
    texts = ["a good film", "a dull film"]
    result = run_text(model, texts, [0, 1], attack=name, similarity=False, **params)
    assert len(result) == 2 and not result.clean_correct.any()
    one = run_text(model, texts[:1], [1], attack=name, similarity=False, **params)
    assert len(one) == 1 and bool(one.clean_correct[0])
