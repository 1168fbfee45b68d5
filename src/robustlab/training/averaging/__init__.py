"""Weight averaging: SWA / EMA hooks during training, model soups and WiSE-FT afterwards."""

from robustlab.registry import import_submodules
from robustlab.training.averaging._base import Averager, make_averager, same_architecture
from robustlab.training.averaging.soups import greedy_soup, uniform_soup
from robustlab.training.averaging.wise_ft import interpolate, wise_ft_sweep

import_submodules(__name__)

__all__ = [
    "Averager",
    "greedy_soup",
    "interpolate",
    "make_averager",
    "same_architecture",
    "uniform_soup",
    "wise_ft_sweep",
]
