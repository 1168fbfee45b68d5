"""Robust training: recipes, losses, weight averaging and a monitor (the evaluation core never imports this).

::

    from robustlab import training
    recipe = training.make_recipe("pgd_at", epsilon=0.1)
    monitor = training.Monitor(x_val, y_val, every=50, epsilon=0.1)
    result = training.fit(net, (x_train, y_train), recipe, epochs=10, averaging="swa",
                          monitor=monitor)
    monitor.to_html("monitor.html")
"""

from robustlab.registry import import_submodules
from robustlab.training._base import Recipe, Step, make_recipe
from robustlab.training._fit import TrainResult, fit
from robustlab.training._registry import (
    AVERAGERS,
    LOSSES,
    RECIPES,
    register_averager,
    register_loss,
    register_recipe,
)
from robustlab.training.averaging import (
    Averager,
    greedy_soup,
    interpolate,
    make_averager,
    uniform_soup,
    wise_ft_sweep,
)
from robustlab.training.losses import Loss, make_loss
from robustlab.training.mixed import MixedClassifier
from robustlab.training.monitor import Monitor, detect_events

import_submodules("robustlab.training.recipes")

__all__ = [
    "AVERAGERS",
    "LOSSES",
    "RECIPES",
    "Averager",
    "Loss",
    "MixedClassifier",
    "Monitor",
    "Recipe",
    "Step",
    "TrainResult",
    "detect_events",
    "fit",
    "greedy_soup",
    "interpolate",
    "make_averager",
    "make_loss",
    "make_recipe",
    "register_averager",
    "register_loss",
    "register_recipe",
    "uniform_soup",
    "wise_ft_sweep",
]
