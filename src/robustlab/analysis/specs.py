"""Reading stored probe specs: which perturbation a probe applied, with which parameters.

A stand-in for ``robustlab.perturbations.base.perturbation_of`` (same signature), which reads
the generic perturbation probe's specs as well as the per-modality probes' older ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["perturbation_of"]

#: Probe name -> the spec key naming its perturbation, for the per-modality probes' specs.
_PERTURBATION_KEYS = {
    "perturbation": "perturbation",
    "corruption": "corruption",
    "text_transformation": "transformation",
}


def perturbation_of(spec: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The perturbation a stored probe spec applies and its parameters (``("fog",
    {"severity": 3})``), or ``None`` for a probe that applies none."""
    if "probe" in spec:
        key = _PERTURBATION_KEYS.get(str(spec["probe"]))
    else:  # bare parameters
        key = next((k for k in _PERTURBATION_KEYS.values() if k in spec), None)
    if key is None or key not in spec:
        return None
    return str(spec[key]), {k: v for k, v in spec.items() if k not in ("probe", key)}
