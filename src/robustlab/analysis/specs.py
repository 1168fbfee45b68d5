"""Reading stored probe specs: which perturbation a probe applied, with which parameters
(:func:`robustlab.perturbations.base.perturbation_of`, re-exported for the analysis layer)."""

from robustlab.perturbations.base import perturbation_of

__all__ = ["perturbation_of"]
