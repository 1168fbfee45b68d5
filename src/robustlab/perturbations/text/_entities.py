"""Project-made lists of person names and places for the entity-swap transformations.

Written for RobustLab (no downloaded gazetteer): common first names across many languages, split
by the gender they are usually given to so a swap keeps pronouns consistent, surnames, cities and
countries. Names that are also ordinary English words ("Will", "May", "Rose") are left out.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from robustlab.perturbations.text._base import Replacement, choose

__all__ = ["CITIES", "COUNTRIES", "FEMALE_NAMES", "MALE_NAMES", "SURNAMES", "swap_consistently"]

FEMALE_NAMES = (
    "Aisha", "Alice", "Amara", "Anna", "Chloe", "Elena", "Emily", "Emma", "Fatima", "Grace",
    "Hannah", "Ingrid", "Isabel", "Julia", "Kate", "Laura", "Leila", "Lucy", "Maria", "Mei",
    "Nadia", "Nicole", "Olivia", "Priya", "Rosa", "Sandra", "Sarah", "Sophie", "Yuki", "Zoe",
)  # fmt: skip

MALE_NAMES = (
    "Ahmed", "Ali", "Ben", "Carlos", "Chris", "Daniel", "David", "Denzel", "Diego", "Felix",
    "Hiroshi", "Ivan", "Jake", "James", "John", "Kevin", "Kwame", "Lars", "Leo", "Luca", "Marco",
    "Mateo", "Mike", "Noah", "Omar", "Peter", "Raj", "Ryan", "Samuel", "Tom",
)  # fmt: skip

SURNAMES = (
    "Brown", "Bullock", "Chen", "Cohen", "Dubois", "Evans", "Garcia", "Haddad", "Hanks", "Jensen",
    "Johansson", "Kidman", "Kim", "Kowalski", "Lopez", "Murphy", "Müller", "Nguyen", "Novak",
    "Okafor", "Patel", "Reynolds", "Rossi", "Silva", "Singh", "Smith", "Stone", "Tanaka",
    "Washington", "Yilmaz",
)  # fmt: skip

CITIES = (
    "Amsterdam", "Athens", "Bangkok", "Barcelona", "Berlin", "Boston", "Buenos Aires", "Cairo",
    "Cape Town", "Chicago", "Denver", "Dubai", "Dublin", "Helsinki", "Istanbul", "Jakarta",
    "Lagos", "Lima", "Lisbon", "London", "Madrid", "Mexico City", "Miami", "Montreal", "Mumbai",
    "Nairobi", "New York", "Oslo", "Paris", "Prague", "Rome", "San Francisco", "Seoul",
    "Shanghai", "Singapore", "Sydney", "Tokyo", "Toronto", "Vienna", "Warsaw",
)  # fmt: skip

COUNTRIES = (
    "Argentina", "Australia", "Brazil", "Canada", "Chile", "China", "Egypt", "France", "Germany",
    "Greece", "Iceland", "India", "Indonesia", "Ireland", "Italy", "Japan", "Kenya", "Mexico",
    "Morocco", "Nigeria", "Norway", "Peru", "Poland", "Portugal", "Scotland", "Spain", "Sweden",
    "Thailand", "Vietnam", "Wales",
)  # fmt: skip


def alternation(names: Sequence[str]) -> str:
    """A regex alternative of whole, case-sensitive names, longest first (``New York`` before
    ``York``), multi-word names matching any run of spaces."""
    ordered = sorted(names, key=len, reverse=True)
    return "|".join(r"\s+".join(map(re.escape, n.split())) for n in ordered)


def swap_consistently(
    found: list[tuple[int, int, str, Sequence[str]]], rate: float, rng: random.Random
) -> list[Replacement]:
    """Replace chosen distinct names by other names of their list, the same name by the same
    replacement everywhere in the text, and two different names never by the same one.

    Args:
        found: ``(start, end, name, pool)`` for every occurrence, ``pool`` being the list the
            replacement is drawn from.
        rate: Fraction of the distinct names to replace.
        rng: The seeded generator.
    """
    distinct = list(dict.fromkeys(" ".join(name.split()) for *_, name, _ in found))
    chosen = choose(distinct, rate, rng)
    taken = set(distinct)
    mapping: dict[str, str] = {}
    for name in chosen:
        pool = next(p for *_, n, p in found if " ".join(n.split()) == name)
        options = [p for p in pool if p not in taken]
        if options:
            mapping[name] = rng.choice(options)
            taken.add(mapping[name])
    return [
        (start, end, mapping[key])
        for start, end, name, _ in found
        if (key := " ".join(name.split())) in mapping
    ]
