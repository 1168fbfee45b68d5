"""Tests of the model adapters: preprocessing, fingerprints, output validation and loading."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers_core import TinyLinear, fit_logreg
from robustlab.errors import ConfigError, ModelError
from robustlab.models import (
    FunctionModel,
    Model,
    SklearnModel,
    TorchModel,
    as_model,
    load_model,
    resolve_device,
)


@pytest.fixture(scope="module")
def lr_estimator():
    return fit_logreg()


class ThreeChannelNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).flatten(1))


# -- TorchModel ------------------------------------------------------------------------------


def test_torch_model_applies_per_channel_preprocessing_inside() -> None:
    net = ThreeChannelNet()
    mean, std = [0.1, 0.5, 0.9], [0.2, 0.3, 0.4]
    model = TorchModel(net, mean=mean, std=std)
    x = torch.rand(6, 3, 4, 4)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = net((x - m) / s)
        got = model(x)
        scores = model.predict_scores(x)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(scores, expected)
    # the preprocessing really does something: the raw module gives other outputs
    assert not torch.allclose(net(x), expected)


def test_torch_model_scalar_mean_std() -> None:
    net = ThreeChannelNet()
    model = TorchModel(net, mean=0.5, std=0.25)
    x = torch.rand(2, 3, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net((x - 0.5) / 0.25))


def test_torch_model_without_preprocessing_is_the_module() -> None:
    net = ThreeChannelNet()
    x = torch.rand(2, 3, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(TorchModel(net)(x), net(x))


def test_torch_model_forward_is_differentiable_wrt_raw_inputs() -> None:
    model = TorchModel(ThreeChannelNet(), mean=[0.5] * 3, std=[0.5] * 3)
    x = torch.rand(2, 3, 4, 4, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_torch_model_sets_eval_mode_and_exposes_capabilities() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(64, 3))
    net.train()
    model = TorchModel(net)
    assert not net.training and not model.training
    x = torch.rand(8, 1, 8, 8)
    torch.testing.assert_close(model.predict_scores(x), model.predict_scores(x))
    assert model.capabilities == frozenset({"scores", "gradients"})


def test_torch_model_eval_mode_false_keeps_train_mode() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    net.train()
    assert TorchModel(net, eval_mode=False).training


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"std": [1.0, 0.0, 1.0]}, "'std' parameter of TorchModel must be positive"),
        ({"mean": [float("nan")]}, "'mean' parameter of TorchModel must be finite"),
        ({"output": "labels"}, "TorchModel needs scores"),
        ({"bounds": (1.0, 0.0)}, "must be (low, high) with low < high"),
        ({"num_classes": 1}, "'num_classes' parameter of TorchModel must be an int >= 2"),
        ({"batch_size": 0}, "'batch_size' parameter of TorchModel must be a positive int"),
        ({"modality": "audio"}, "'modality' parameter of TorchModel must be one of"),
    ],
)
def test_torch_model_parameter_checks(kwargs: dict, phrase: str) -> None:
    with pytest.raises(ConfigError) as info:
        TorchModel(ThreeChannelNet(), **kwargs)
    assert phrase in str(info.value)


def test_torch_model_refuses_non_module() -> None:
    with pytest.raises(ConfigError, match=r"TorchModel wraps a torch\.nn\.Module\. Got function"):
        TorchModel(lambda x: x)  # type: ignore[arg-type]


def test_torch_fingerprint_stable_and_sensitive_to_weights() -> None:
    a, b = TinyLinear(seed=0), TinyLinear(seed=0)
    fa = TorchModel(a).fingerprint()
    assert fa == TorchModel(a).fingerprint()
    assert fa == TorchModel(b).fingerprint()  # same weights, separate instance
    assert len(fa) == 16
    with torch.no_grad():
        b.fc.weight[0, 0] += 1e-3
    assert TorchModel(b).fingerprint() != fa
    assert TorchModel(TinyLinear(seed=0), mean=0.5).fingerprint() != fa
    assert TorchModel(TinyLinear(seed=0), bounds=(0.0, 255.0)).fingerprint() != fa


def test_predict_scores_batches_and_matches_a_single_call() -> None:
    net = TinyLinear()
    x = torch.rand(23, 1, 8, 8)
    with torch.no_grad():
        expected = net(x)
    scores = TorchModel(net, batch_size=5).predict_scores(x)
    assert scores.shape == (23, 10) and scores.dtype == torch.float32
    torch.testing.assert_close(scores, expected)


def test_predict_proba_of_logit_model_is_softmax() -> None:
    net = TinyLinear()
    x = torch.rand(4, 1, 8, 8)
    proba = TorchModel(net).predict_proba(x)
    with torch.no_grad():
        torch.testing.assert_close(proba, torch.softmax(net(x), dim=1))
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(4))


# -- output validation (shared by every adapter) ----------------------------------------------


def _fn_model(out: np.ndarray, **kwargs) -> FunctionModel:
    return FunctionModel(lambda x: out, **kwargs)


def test_wrong_shape_is_a_model_error_naming_the_shapes() -> None:
    model = _fn_model(np.full((3,), 0.5), num_classes=2)
    with pytest.raises(ModelError) as info:
        model.predict_scores(np.zeros((3, 4)))
    msg = str(info.value)
    assert "must return scores of shape (batch, num_classes) = (3, 2)" in msg
    assert "it returned shape (3,)" in msg


def test_wrong_row_count_is_a_model_error() -> None:
    model = _fn_model(np.full((2, 2), 0.5), num_classes=2)
    with pytest.raises(ModelError, match=r"it returned shape \(2, 2\)"):
        model.predict_scores(np.zeros((3, 4)))


def test_wrong_num_classes_is_a_model_error() -> None:
    model = _fn_model(np.full((3, 4), 0.25), num_classes=3)
    with pytest.raises(ModelError) as info:
        model.predict_scores(np.zeros((3, 4)))
    assert "returned 4 scores per input but num_classes=3" in str(info.value)


def test_nan_outputs_are_a_model_error_counting_bad_rows() -> None:
    out = np.array([[0.5, 0.5], [np.nan, 1.0], [np.inf, 0.0]])
    model = _fn_model(out, output="logits")
    with pytest.raises(ModelError) as info:
        model.predict_scores(np.zeros((3, 4)))
    assert "returned NaN or infinite scores for 2 of 3 inputs" in str(info.value)


def test_probabilities_not_summing_to_one_are_a_model_error() -> None:
    out = np.array([[0.5, 0.4], [0.5, 0.5]])
    model = _fn_model(out, output="probabilities")
    with pytest.raises(ModelError) as info:
        model.predict_scores(np.zeros((2, 4)))
    msg = str(info.value)
    assert "declares output='probabilities' but its rows are not probability vectors" in msg
    assert "row sums range 0.9..1" in msg
    assert "declare output='logits'" in msg


def test_negative_probabilities_are_a_model_error() -> None:
    model = _fn_model(np.array([[1.5, -0.5]]), output="probabilities")
    with pytest.raises(ModelError, match="not probability vectors"):
        model.predict_scores(np.zeros((1, 4)))


def test_torch_model_declared_probabilities_are_checked() -> None:
    model = TorchModel(TinyLinear(num_classes=3), output="probabilities")
    with pytest.raises(ModelError, match="not probability vectors"):
        model.predict_scores(torch.rand(4, 1, 8, 8))
    ok = TorchModel(
        nn.Sequential(TinyLinear(num_classes=3), nn.Softmax(dim=1)), output="probabilities"
    )
    proba = ok.predict_proba(torch.rand(4, 1, 8, 8))
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(4))


def test_empty_batch_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="got an empty batch"):
        TorchModel(TinyLinear()).predict_scores(torch.zeros(0, 1, 8, 8))


# -- FunctionModel -----------------------------------------------------------------------------


def test_function_model_labels_give_one_hot_and_no_scores_capability() -> None:
    labels = np.array([2, 0, 1, 2])
    model = FunctionModel(lambda x: labels, output="labels", num_classes=3)
    scores = model.predict_scores(np.zeros((4, 1, 8, 8), dtype=np.float32))
    expected = torch.tensor([[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=torch.float32)
    torch.testing.assert_close(scores, expected)
    assert "scores" not in model.capabilities
    assert model.capabilities == frozenset()
    torch.testing.assert_close(model.predict_proba(np.zeros((4, 1, 8, 8))), expected)


def test_function_model_labels_validation() -> None:
    out_of_range = FunctionModel(lambda x: np.array([0, 5]), output="labels", num_classes=3)
    with pytest.raises(ModelError, match=r"returned labels outside 0..2"):
        out_of_range.predict_scores(np.zeros((2, 3)))
    fractional = FunctionModel(lambda x: np.array([0.5, 1.0]), output="labels", num_classes=3)
    with pytest.raises(ModelError, match="non-integer labels"):
        fractional.predict_scores(np.zeros((2, 3)))
    matrix = FunctionModel(lambda x: np.zeros((2, 3)), output="labels", num_classes=3)
    with pytest.raises(ModelError, match=r"must return one label per input, shape \(2,\)"):
        matrix.predict_scores(np.zeros((2, 3)))


def test_function_model_labels_need_num_classes() -> None:
    # without K the one-hot width would follow each batch's largest label
    with pytest.raises(ConfigError) as info:
        FunctionModel(lambda x: np.zeros(len(x), dtype=int), output="labels")
    assert "'num_classes' parameter of FunctionModel is required with output='labels'" in str(
        info.value
    )


def test_function_model_labels_are_consistent_across_batches() -> None:
    model = FunctionModel(
        lambda x: np.asarray(x)[:, 0].astype(int), output="labels", num_classes=4, batch_size=2
    )
    scores = model.predict_scores(np.array([[0.0], [1.0], [3.0], [2.0]]))
    torch.testing.assert_close(scores, torch.eye(4)[[0, 1, 3, 2]])


def test_function_model_receives_numpy_or_torch() -> None:
    seen: list[type] = []

    def f(x):
        seen.append(type(x))
        return np.full((len(x), 2), 0.5)

    FunctionModel(f).predict_scores(np.zeros((2, 3)))
    FunctionModel(f, input_format="torch").predict_scores(np.zeros((2, 3)))
    assert seen == [np.ndarray, torch.Tensor]
    with pytest.raises(ConfigError, match="'input_format' parameter of FunctionModel"):
        FunctionModel(f, input_format="jax")


def test_function_model_defaults_and_fingerprint() -> None:
    def predictor(x):
        return np.full((len(x), 2), 0.5)

    model = FunctionModel(predictor)
    assert model.name == "predictor"
    assert model.capabilities == frozenset({"scores"})
    assert model.fingerprint() == FunctionModel(predictor).fingerprint()
    assert model.fingerprint() != FunctionModel(predictor, version="2").fingerprint()
    with pytest.raises(ConfigError, match=r"FunctionModel needs a callable\. Got int"):
        FunctionModel(3)  # type: ignore[arg-type]


# -- SklearnModel ------------------------------------------------------------------------------


def test_sklearn_model_matches_predict_proba_on_flattened_images(lr_estimator) -> None:
    x = np.random.default_rng(0).random((7, 1, 8, 8)).astype(np.float32)
    model = SklearnModel(lr_estimator, modality="image", bounds=(0.0, 1.0), batch_size=3)
    got = model.predict_proba(torch.from_numpy(x))
    expected = lr_estimator.predict_proba(x.reshape(7, -1))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert model.num_classes == 10
    assert model.name == "LogisticRegression"
    assert model.capabilities == frozenset({"scores"})


def test_sklearn_model_refuses_estimator_without_predict_proba() -> None:
    from sklearn.svm import LinearSVC

    with pytest.raises(ConfigError) as info:
        SklearnModel(LinearSVC())
    assert "LinearSVC has no predict_proba()" in str(info.value)
    assert "FunctionModel(fn, output='logits')" in str(info.value)


def test_sklearn_model_refuses_unfitted_estimator() -> None:
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ModelError, match=r"LogisticRegression is not fitted \(no classes_\)"):
        SklearnModel(LogisticRegression())


@pytest.mark.parametrize("labels", [[1, 2, 3], ["a", "b", "c"], [0, 2, 5]])
def test_sklearn_model_refuses_classes_not_0_to_k_minus_1(labels) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    y = np.array(labels * 10)
    clf = LogisticRegression().fit(x, y)
    with pytest.raises(ModelError) as info:
        SklearnModel(clf)
    assert "RobustLab needs integer labels 0..K-1" in str(info.value)
    assert "LabelEncoder" in str(info.value)


def test_sklearn_fingerprint_stable_and_sensitive(lr_estimator) -> None:
    fp = SklearnModel(lr_estimator).fingerprint()
    assert fp == SklearnModel(lr_estimator).fingerprint()
    assert fp != SklearnModel(lr_estimator, bounds=(0.0, 1.0)).fingerprint()
    changed = copy.deepcopy(lr_estimator)
    changed.coef_[0, 0] += 1e-3
    assert fp != SklearnModel(changed).fingerprint()


# -- as_model ----------------------------------------------------------------------------------


def test_as_model_dispatch(lr_estimator) -> None:
    assert isinstance(as_model(TinyLinear()), TorchModel)
    assert isinstance(as_model(lr_estimator), SklearnModel)
    fm = as_model(lambda x: np.full((len(x), 2), 0.5))
    assert isinstance(fm, FunctionModel)
    existing = TorchModel(TinyLinear())
    assert as_model(existing) is existing
    assert as_model(TinyLinear(), name="named").name == "named"


def test_as_model_refuses_other_objects() -> None:
    with pytest.raises(ConfigError) as info:
        as_model(42)
    assert "Cannot use a int as a model" in str(info.value)
    assert "torch.nn.Module" in str(info.value)


def test_as_model_refuses_kwargs_for_an_existing_model() -> None:
    with pytest.raises(ConfigError, match="already a RobustLab model"):
        as_model(TorchModel(TinyLinear()), name="x")


def test_model_is_abstract() -> None:
    with pytest.raises(TypeError):
        Model(  # type: ignore[abstract]
            name="m", modality="image", num_classes=2, bounds=None, output="logits", batch_size=1
        )


# -- resolve_device ----------------------------------------------------------------------------


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    with pytest.raises(ConfigError, match="'device' parameter must be"):
        resolve_device("toaster")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_resolve_device_cuda_without_gpu() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_device("cuda")
    assert "no CUDA GPU is visible; use device='cpu'" in str(info.value)
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        TorchModel(TinyLinear(), device="cuda")


# -- load_model --------------------------------------------------------------------------------

MODEL_FILE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, hidden={hidden}):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def build():
    torch.manual_seed(123)
    return Net()


def not_a_factory_value():
    return 1


CONSTANT = 3
"""


def _write_model_file(tmp_path: Path, hidden: int = 16, name: str = "net.py") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(MODEL_FILE).replace("{hidden}", str(hidden)))
    return p


def _saved_weights(tmp_path: Path, hidden: int = 16, seed: int = 7) -> tuple[Path, dict]:
    import importlib.util

    src = _write_model_file(tmp_path, hidden, name=f"src_{hidden}.py")
    spec = importlib.util.spec_from_file_location(f"rl_test_src_{hidden}", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(seed)
    net = mod.Net()
    path = tmp_path / f"weights_{hidden}.pt"
    torch.save(net.state_dict(), path)
    return path, net.state_dict()


def test_load_model_from_file_and_weights(tmp_path: Path) -> None:
    file = _write_model_file(tmp_path)
    weights, state = _saved_weights(tmp_path)
    model = load_model(f"{file}:build", weights, name="from-file")
    assert isinstance(model, TorchModel)
    assert model.name == "from-file"
    for key, value in state.items():
        torch.testing.assert_close(model.module.state_dict()[key], value)
    # without weights the factory's own initialisation is used: a different model
    plain = load_model(f"{file}:build")
    assert plain.fingerprint() != model.fingerprint()


def test_load_model_accepts_checkpoint_dict_with_state_dict(tmp_path: Path) -> None:
    file = _write_model_file(tmp_path)
    weights, state = _saved_weights(tmp_path)
    wrapped = tmp_path / "ckpt.pt"
    torch.save({"state_dict": torch.load(weights, weights_only=True), "epoch": 3}, wrapped)
    model = load_model(f"{file}:build", wrapped)
    torch.testing.assert_close(model.module.state_dict()["fc1.weight"], state["fc1.weight"])


def test_load_model_missing_weights_file(tmp_path: Path) -> None:
    file = _write_model_file(tmp_path)
    missing = tmp_path / "nope.pt"
    with pytest.raises(ConfigError) as info:
        load_model(f"{file}:build", missing)
    assert str(info.value) == (
        f"Weights file {str(missing)!r} does not exist; check the --weights path."
    )


def test_load_model_missing_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.py"
    with pytest.raises(ConfigError) as info:
        load_model(f"{missing}:build")
    assert str(info.value) == (
        f"Model file {str(missing)!r} does not exist; check the --model path."
    )


@pytest.mark.parametrize("spec", ["net.py", "net.py:", ":build"])
def test_load_model_bad_spec(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_model(spec)
    assert str(info.value) == (
        f"--model must look like FILE.py:FACTORY (e.g. models.py:build). Got {spec!r}."
    )


def test_load_model_missing_factory_lists_callables(tmp_path: Path) -> None:
    file = _write_model_file(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_model(f"{file}:make")
    msg = str(info.value)
    assert msg.startswith(f"{str(file)!r} has no callable 'make'. Callables there: ")
    assert "build" in msg and "Net" in msg and "not_a_factory_value" in msg
    assert "CONSTANT" not in msg
    with pytest.raises(ConfigError, match="has no callable 'CONSTANT'"):
        load_model(f"{file}:CONSTANT")


def test_load_model_weights_for_another_architecture(tmp_path: Path) -> None:
    file = _write_model_file(tmp_path, hidden=16)
    weights, _ = _saved_weights(tmp_path, hidden=32)
    with pytest.raises(ModelError) as info:
        load_model(f"{file}:build", weights)
    msg = str(info.value)
    assert f"Weights in {str(weights)!r} do not fit Net" in msg
    assert "same architecture" in msg


def test_load_model_unreadable_weights(tmp_path: Path) -> None:
    file = _write_model_file(tmp_path)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match=r"Could not read weights from .*weights_only=True"):
        load_model(f"{file}:build", junk)


def test_load_model_import_error_is_a_model_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ModelError, match=r"Importing .* failed: RuntimeError: boom"):
        load_model(f"{broken}:build")


def test_load_model_weights_need_a_torch_model(tmp_path: Path) -> None:
    file = tmp_path / "fn.py"
    file.write_text(
        "import numpy as np\n\ndef build():\n    return lambda x: np.zeros((len(x), 2))\n"
    )
    weights, _ = _saved_weights(tmp_path)
    with pytest.raises(ConfigError, match="--weights applies to torch models"):
        load_model(f"{file}:build", weights)
    assert isinstance(load_model(f"{file}:build"), FunctionModel)
