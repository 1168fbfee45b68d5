"""Perturbations of inputs behind one :class:`Perturbation` contract and one registry, with a
sub-package per modality: ``image`` (common corruptions and ImageNet-P sequences) and ``text``
(label-preserving and directional transformations).

Importing this package stays free of torch (the report and summaries read
:func:`perturbation_of`); :data:`PERTURBATIONS` imports every modality's plugins when first read
from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from robustlab.perturbations.base import (
    Perturbation,
    PerturbationView,
    Perturbed,
    perturbation_of,
    register,
)

if TYPE_CHECKING:
    from robustlab.registry import Registry

    PERTURBATIONS: Registry[type[Perturbation[Any]]]

__all__ = [
    "PERTURBATIONS",
    "Perturbation",
    "PerturbationView",
    "Perturbed",
    "load_plugins",
    "perturbation_of",
    "register",
]


def load_plugins() -> None:
    """Import every modality package, so each plugin module registers its perturbations."""
    from robustlab.registry import import_submodules

    import_submodules(__name__)


def __getattr__(name: str) -> Any:
    if name == "PERTURBATIONS":
        from robustlab.perturbations import base

        load_plugins()
        return base.PERTURBATIONS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
