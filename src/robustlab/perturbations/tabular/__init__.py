"""Tabular perturbations: each takes encoded rows (N, D) and a :class:`~robustlab.tabular.Schema`
(inferred from the batch when none is given), is seeded, and returns rows the schema accepts."""

from robustlab.registry import import_submodules

import_submodules(__name__)
