"""Attacks on table rows that keep every row valid under its schema."""

from robustlab.attacks.tabular.search import TabularAttackResult, attack_rows

__all__ = ["TabularAttackResult", "attack_rows"]
