"""Tables: schema, datasets and the model adapter (``pip install robustlab[tabular]``)."""

from robustlab.tabular.data import TableDataset, TableModel, as_table_model
from robustlab.tabular.schema import Column, Relation, Rule, Schema, Violation, parse_relation

__all__ = [
    "Column",
    "Relation",
    "Rule",
    "Schema",
    "TableDataset",
    "TableModel",
    "Violation",
    "as_table_model",
    "parse_relation",
]
