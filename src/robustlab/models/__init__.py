"""Model adapters: white-box torch modules, black-box callables and scikit-learn estimators."""

from robustlab.models.base import MODALITIES, Model, resolve_device
from robustlab.models.function import FunctionModel
from robustlab.models.loading import as_model, load_model, load_weights
from robustlab.models.sklearn_model import SklearnModel
from robustlab.models.torch_model import TorchModel

__all__ = [
    "MODALITIES",
    "FunctionModel",
    "Model",
    "SklearnModel",
    "TorchModel",
    "as_model",
    "load_model",
    "load_weights",
    "resolve_device",
]
