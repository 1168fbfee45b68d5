"""Leaderboards: stored models ranked on one suite by mean, Borda count and Kemeny-Young.

References:
    Colombo, Noiry, Irurozki & Clémençon, What are the best systems? New perspectives on NLP
    benchmarking, NeurIPS 2022.
"""

from robustlab.leaderboard.aggregate import (
    borda_scores,
    kemeny_ranking,
    kendall_tau,
    mean_scores,
    orient,
    pairwise_preferences,
)
from robustlab.leaderboard.board import (
    LEADERBOARD_SCHEMA_VERSION,
    SORT_METHODS,
    Cell,
    Column,
    Entry,
    Leaderboard,
    build_leaderboard,
)
from robustlab.leaderboard.formats import (
    leaderboard_csv,
    leaderboard_json,
    leaderboard_markdown,
    read_leaderboard_json,
    rich_table,
)
from robustlab.leaderboard.html import render_leaderboard_html, write_leaderboard_html

__all__ = [
    "LEADERBOARD_SCHEMA_VERSION",
    "SORT_METHODS",
    "Cell",
    "Column",
    "Entry",
    "Leaderboard",
    "borda_scores",
    "build_leaderboard",
    "kemeny_ranking",
    "kendall_tau",
    "leaderboard_csv",
    "leaderboard_json",
    "leaderboard_markdown",
    "mean_scores",
    "orient",
    "pairwise_preferences",
    "read_leaderboard_json",
    "render_leaderboard_html",
    "rich_table",
    "write_leaderboard_html",
]
