"""Text transformations: registry contract (every transformation, none named) and known answers."""

from __future__ import annotations

import dataclasses
import math
import pickle
import random
import re
import unicodedata
from pathlib import Path

import pytest

from helpers_text import reviews
from robustlab.errors import ConfigError, DataError, UnknownNameError
from robustlab.perturbations import text as T
from robustlab.perturbations.text._base import choose, words
from robustlab.perturbations.text._chars import keyboard_neighbours
from robustlab.perturbations.text._entities import (
    CITIES,
    COUNTRIES,
    FEMALE_NAMES,
    MALE_NAMES,
    SURNAMES,
)
from robustlab.perturbations.text.homoglyph import HOMOGLYPHS

ALL = T.names()

SAMPLES = [
    "Emma said the pasta in Rome wasn't cheap: it cost 24 dollars.",
    "I do not think it is worth $1,200.50 — Tom Hanks can't save it.",
    "Crème brûlée in São Paulo was délicieux, naïve and cafe\u0301 au lait.",
    "日本のホテルは素晴らしかった! Great stay in Tokyo, 5 nights.",
    "   ",
    "Ok.",
    "",
]


def _corpus() -> list[str]:
    return SAMPLES + reviews("test").texts[:24]


# -- contract: every registered transformation ----------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_rate_zero_and_empty_text_are_identity(name: str) -> None:
    texts = _corpus()
    assert [o.text for o in T.apply(texts, name, 0.0, seed=1)] == texts
    out = T.apply(["", "   "], name, 1.0, seed=1)
    assert out[0].text == "" and out[0].edits == ()


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("rate", [0.1, 0.5, 1.0])
def test_edits_are_exactly_where_reported(name: str, rate: float) -> None:
    """Undoing the reported edits rebuilds the original, so nothing changed outside them."""
    for seed in (0, 1):
        for out in T.apply(_corpus(), name, rate, seed=seed):
            assert out.undo() == out.original
            assert out.changed == bool(out.edits)
            assert all(0 <= s <= e <= len(out.text) for s, e in out.spans)
            assert out.spans == sorted(out.spans)


@pytest.mark.parametrize("name", ALL)
def test_seeded_and_positive_rate_edits_every_eligible_text(name: str) -> None:
    texts = _corpus()
    first = T.apply(texts, name, 0.3, seed=5)
    assert first == T.apply(texts, name, 0.3, seed=5)
    spec = T.TRANSFORMATIONS.get(name)
    for text, out in zip(texts, first):
        assert out.changed == spec.applies_to(text), text
    assert any(o.changed for o in first), "the corpus gives every transformation work"


@pytest.mark.parametrize("name", ALL)
def test_unicode_outside_the_edits_survives(name: str) -> None:
    for out in T.apply(SAMPLES, name, 1.0, seed=3):
        assert unicodedata.is_normalized("NFC", out.text) or not unicodedata.is_normalized(
            "NFC", out.original
        )
        assert "日本のホテルは素晴らしかった" in out.text or "日本" not in out.original
        # a combining accent always stays on a letter
        assert not unicodedata.combining(out.text[:1] or "a")


@pytest.mark.parametrize("name", ALL)
def test_registered_metadata(name: str) -> None:
    spec = T.TRANSFORMATIONS.get(name)
    assert spec.name == name and spec.description.strip() and spec.references.strip()
    assert spec.unit in ("word", "gap", "phrase", "name", "location", "number", "clause")
    assert (spec.fn.__doc__ or "").strip()


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'typo_swap'"):
        T.apply(["x"], "typo_swop", 0.1)
    for rate in (-0.1, 1.5, "high", True):
        with pytest.raises(ConfigError, match=r"'rate' parameter of transformation 'casing'"):
            T.apply(["x"], "casing", rate)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"not a single str; wrap it in a list"):
        T.apply("good film", "casing", 0.5)
    with pytest.raises(DataError, match=r"item 1 is an int \(3\), not a str"):
        T.apply(["good", 3], "casing", 0.5)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match=r"'seed' parameter of apply\(\) must be an int"):
        T.apply(["x"], "casing", 0.5, seed=1.5)  # type: ignore[arg-type]


def test_names_filters_by_label_preservation() -> None:
    assert T.names(preserves_label=False) == ["negate"]
    assert "negate" not in T.names(preserves_label=True)
    assert set(T.names()) == set(T.names(preserves_label=True)) | {"negate"}


def test_rate_rounds_up_to_whole_units() -> None:
    items = list(range(10))
    rng = random.Random(0)
    assert len(choose(items, 0.1, rng)) == 1
    assert len(choose(items, 0.25, rng)) == 3
    assert len(choose(items, 0.0, rng)) == 0
    assert choose(items, 1.0, rng) == items
    assert len(choose(items[:3], 0.01, rng)) == 1  # short texts are not left alone


# -- batched transformations: the vectorised path against the per-text definitions ------------

BATCHED = [n for n in ALL if T.TRANSFORMATIONS.get(n).batch is not None]

#: Texts that stress the joined-array path: NULs inside a text, a lone surrogate, a combining mark
#: first, apostrophes at the edges, non-Latin letters, digits and underscores inside words.
AWKWARD = [
    "ab\0cde fgh\0",
    "\0",
    "caf\ud800e good\udfff",
    "\u0301abc de\u0301f ghij\u0301",
    "'tis rock'n'roll, kids' don’t ’em, pop''corn co'''ol",
    "Ωμέγα straße naïve x1y2z3 snake_case_word",
    "aaa bbb ooo ABBA Aa",
    "",
]

_TYPO_WORD = re.compile(r"[^\W\d_]{3,}")


def _typo_sites(text: str) -> list[list[int]]:
    """Per word of 3+ letters, the ASCII letters no combining mark follows (the typos' sites)."""
    return [
        [
            i
            for i in range(m.start(), m.end())
            if text[i].isascii() and not (i + 1 < len(text) and unicodedata.combining(text[i + 1]))
        ]
        for m in _TYPO_WORD.finditer(text)
    ]


def _units(name: str, text: str) -> list[tuple[int, int]]:
    """The spans of the units of ``text`` the transformation may edit, by its regex
    definition."""
    if name.startswith("typo_"):
        typos = [m.span() for m in _TYPO_WORD.finditer(text)]
        if name != "typo_swap":
            return [w for w, s in zip(typos, _typo_sites(text)) if s]
        return [
            w
            for w, s in zip(typos, _typo_sites(text))
            if any(i + 1 in s and text[i].lower() != text[i + 1].lower() for i in s)
        ]
    if name == "whitespace":
        return [m.span() for m in re.finditer(r"(?<=\S)[ \t]+(?=\S)", text)]
    if name in ("leetspeak", "punctuation"):  # words with their accents (NFD marks) inside
        found = [m for m in _ACCENTED_WORD.finditer(text)]
        if name == "punctuation":
            return [m.span() for m in found]
        return [m.span() for m in found if re.search(r"[aeiostAEIOST](?![" + _MARKS + "])", m[0])]
    keep = {
        "homoglyph": lambda w: any(c in HOMOGLYPHS for c in w),
        "casing": lambda w: (w.lower() if w.isupper() else w.upper()) != w,
    }[name]
    return [m.span() for m in words(text) if keep(m.group())]


_MARKS = "".join(chr(c) for c in range(0x300, 0x10000) if unicodedata.category(chr(c))[0] == "M")
_ACCENTED_WORD = re.compile(rf"(?:[^\W\d_][{_MARKS}]*)+(?:['’](?:[^\W\d_][{_MARKS}]*)+)*")


def _random_texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdeopsxyz ABEHOPST  '’-.,\t\n0_éüЖж日\u0301\0"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(30))) for _ in range(n)]


@pytest.mark.parametrize("name", BATCHED)
@pytest.mark.parametrize("rate", [0.1, 0.5, 1.0])
def test_batched_edits_ceil_rate_of_the_eligible_units(name: str, rate: float) -> None:
    """Each text gets exactly ``ceil(rate * n)`` edits for its ``n`` eligible units, counted by
    the regex definitions, one edit per unit; undoing them rebuilds the text."""
    texts = AWKWARD + _random_texts(1, 300) + _corpus()
    for out in T.apply(texts, name, rate, seed=2):
        n = len(_units(name, out.original))
        assert len(out.edits) == min(n, math.ceil(rate * n - 1e-9)), out.original
        assert out.undo() == out.original
        assert all(e.original != out.text[e.start : e.end] for e in out.edits)


@pytest.mark.parametrize("name", BATCHED)
def test_batched_text_does_not_depend_on_its_neighbours(name: str) -> None:
    texts = _corpus()
    alone = [T.apply([t], name, 0.5, seed=4)[0] for t in texts[:3]]
    together = T.apply([*texts[:3], "something else entirely"], name, 0.5, seed=4)
    assert together[0] == alone[0]  # same seed and position: same edits, whatever follows
    assert together[1].text != T.apply(texts[:2], name, 0.5, seed=5)[1].text or not alone[1].changed
    spec = T.TRANSFORMATIONS.get(name)  # the per-text call runs the same kernel
    one = spec(texts[0], 0.5, random.Random(0))
    assert one.undo() == texts[0] and len(one.edits) == len(alone[0].edits)


@pytest.mark.parametrize("name", BATCHED)
def test_batched_choices_are_uniform(name: str) -> None:
    """Over many seeds every eligible unit (and every site in it) is chosen about equally
    often."""
    text = "good coffee, and  excellent pastry"
    counts: dict[int, int] = {}
    for seed in range(1200):
        (edit,) = T.apply([text], name, 0.01, seed=seed)[0].edits
        counts[edit.original_start] = counts.get(edit.original_start, 0) + 1
    spans = _units(name, text)
    per_unit = [sum(c for at, c in counts.items() if s <= at <= e) for s, e in spans]
    assert sum(per_unit) == 1200 and len(per_unit) >= 3
    # crude: each unit within 30% of its fair share (a fixed seed range, so not flaky)
    fair = 1200 / len(per_unit)
    assert all(abs(c - fair) < 0.3 * fair for c in per_unit), per_unit
    if name.startswith("typo_") or name == "homoglyph":
        assert len(counts) > len(per_unit)  # more than one site used per word


def test_transformed_is_immutable_hashable_and_picklable() -> None:
    out = T.apply(["a wonderful day", "ok"], "typo_keyboard", 1.0, seed=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out[0].text = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(out)) == out
    assert hash(out[0]) == hash(T.Transformed(out[0].original, out[0].text, out[0].edits))
    assert out[0] == T.Transformed(out[0].original, out[0].text, out[0].edits)
    assert out[1] == T.Transformed("ok", "ok") and out[1].edits == ()
    assert "Transformed(original='a wonderful day'" in repr(out[0])
    assert T.apply([], "typo_keyboard", 1.0) == []


# -- known answers --------------------------------------------------------------------------

SENTENCE = "Emma said the pasta in Rome wasn't cheap: it cost 24 dollars."

# Seeded outputs (rate 0.5, seed 7), checked by hand: the number of edits is ceil(0.5 * units)
# and each edit is of the transformation's kind.
SEEDED = [
    ("casing", "Emma said THE pasta IN ROME WASN'T CHEAP: it COST 24 dollars."),
    ("change_numbers", "Emma said the pasta in Rome wasn't cheap: it cost 29 dollars."),
    ("contract", SENTENCE),
    ("expand", "Emma said the pasta in Rome was not cheap: it cost 24 dollars."),
    (
        "homoglyph",
        "Emma said th\u0435 pasta \u0456n Rom\u0435 w\u0430sn't che\u0430p: it co\u0455t 24 dollars.",
    ),
    ("leetspeak", "Emma said 7h3 pasta 1n R0m3 w45n'7 ch34p: it c057 24 dollars."),
    ("negate", SENTENCE),
    ("punctuation", "Emma said the, pasta in. Rome: wasn't, cheap it cost. 24 dollars."),
    ("swap_locations", "Emma said the pasta in Mumbai wasn't cheap: it cost 24 dollars."),
    ("swap_names", "Julia said the pasta in Rome wasn't cheap: it cost 24 dollars."),
    ("typo_delete", "Emma said he pasta in Rom was't chap: it cot 24 dollars."),
    ("typo_insert", "Emma said gthe pasta in Romde wasnm't cherap: it codst 24 dollars."),
    ("typo_keyboard", "Emma said ghe pasta in Romd wasm't chrap: it codt 24 dollars."),
    ("typo_swap", "Emma said hte pasta in Roem wans't cehap: it csot 24 dollars."),
    ("whitespace", "Emma said thepasta inRome   wasn'tcheap:it cost24 dollars."),
]


@pytest.mark.parametrize(("name", "expected"), SEEDED)
def test_seeded_known_outputs(name: str, expected: str) -> None:
    assert T.apply([SENTENCE], name, 0.5, seed=7)[0].text == expected


def test_keyboard_neighbours_are_the_keys_around_on_qwerty() -> None:
    # read off a physical US keyboard
    assert set(keyboard_neighbours("s")) == set("awedxz")
    assert set(keyboard_neighbours("g")) == set("ftyhbv")
    assert set(keyboard_neighbours("q")) == set("wa")
    assert set(keyboard_neighbours("m")) == set("njk")
    assert set(keyboard_neighbours("p")) == set("ol")
    assert keyboard_neighbours("G") == keyboard_neighbours("g").upper()
    assert keyboard_neighbours("é") == "" and keyboard_neighbours("1") == ""
    for ch in "abcdefghijklmnopqrstuvwxyz":  # the relation is symmetric
        assert all(ch in keyboard_neighbours(n) for n in keyboard_neighbours(ch))


def _single_diff(a: str, b: str) -> tuple[int, str, str]:
    i = next(i for i in range(min(len(a), len(b))) if a[i] != b[i])
    return i, a, b


@pytest.mark.parametrize("seed", range(20))
def test_character_typos_are_the_stated_kind(seed: int) -> None:
    text = "wonderful"
    sub = T.apply([text], "typo_keyboard", 1.0, seed=seed)[0].text
    i, _, _ = _single_diff(text, sub)
    assert len(sub) == len(text) and sub[i] in keyboard_neighbours(text[i])
    assert sub[:i] + text[i] + sub[i + 1 :] == text
    swap = T.apply([text], "typo_swap", 1.0, seed=seed)[0].text
    i, _, _ = _single_diff(text, swap)
    assert swap[i] == text[i + 1] and swap[i + 1] == text[i] and swap[i + 2 :] == text[i + 2 :]
    ins = T.apply([text], "typo_insert", 1.0, seed=seed)[0]
    ((start, end),) = ins.spans
    extra = ins.text[start]
    assert end == start + 1 and ins.text[:start] + ins.text[end:] == text
    neighbours_of = {text[j] for j in (start - 1, start) if 0 <= j < len(text)}
    assert any(extra in keyboard_neighbours(c) for c in neighbours_of)
    dele = T.apply([text], "typo_delete", 1.0, seed=seed)[0]
    assert len(dele.text) == len(text) - 1 and dele.spans[0][0] == dele.spans[0][1]


def test_typos_leave_accented_and_short_words_alone() -> None:
    out = T.apply(["é a ok çà"], "typo_keyboard", 1.0, seed=0)[0]
    assert not out.changed  # no word of three ASCII letters
    out = T.apply(["cafe\u0301s"], "typo_delete", 1.0, seed=0)[0]
    assert "e\u0301" in out.text  # the accent stays on its letter


def test_leetspeak_casing_punctuation_whitespace_known_answers() -> None:
    assert T.apply(["the best toast"], "leetspeak", 1.0)[0].text == "7h3 b357 70457"
    assert T.apply(["Good food, GREAT!"], "casing", 1.0)[0].text == "GOOD FOOD, great!"
    # letters beyond ASCII are recased as str does, even when the length changes
    out = T.apply(["Straße ÉCOLE naïve ǅemal 1st"], "casing", 1.0)[0]
    assert out.text == "STRASSE école NAÏVE ǄEMAL 1ST" and out.undo() == out.original
    out = T.apply(["  a  b\tc \n d "], "whitespace", 1.0, seed=3)[0]
    assert [e.original for e in out.edits] == ["  ", "\t"]  # only gaps between non-spaces
    # every word followed by a mark loses it; every other word gains one
    out = T.apply(["Great, fun."], "punctuation", 1.0)[0]
    assert out.text == "Great fun"
    assert (
        T.apply(["Wow! Really? Yes; ok: so."], "punctuation", 1.0)[0].text == "Wow Really Yes ok so"
    )
    for seed in range(5):
        out = T.apply([SENTENCE], "whitespace", 1.0, seed=seed)[0]
        assert re.sub(r"\s", "", out.text) == re.sub(r"\s", "", SENTENCE)
        noisy = T.apply([SENTENCE], "punctuation", 1.0, seed=seed)[0]
        assert re.sub(r"[.,;:!?]", "", noisy.text) == re.sub(r"[.,;:!?]", "", SENTENCE)


def test_homoglyphs_are_other_code_points_that_look_the_same() -> None:
    for latin, glyph in HOMOGLYPHS.items():
        assert glyph != latin and not glyph.isascii()
        assert unicodedata.name(glyph).startswith(("CYRILLIC", "GREEK"))
        assert glyph.isupper() == latin.isupper()
    out = T.apply(["good coffee"], "homoglyph", 1.0, seed=0)[0]
    assert out.text != "good coffee" and len(out.text) == len("good coffee")
    back = "".join({v: k for k, v in HOMOGLYPHS.items()}.get(c, c) for c in out.text)
    assert back == "good coffee"


FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.skipif(not FONT.exists(), reason="needs the DejaVu Sans font to render glyphs")
def test_homoglyphs_render_like_their_latin_letters() -> None:
    """Drawn in a common font, each homoglyph covers nearly the same pixels as its letter, far
    closer than any other letter does."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 40)

    def draw(ch: str) -> np.ndarray:
        img = Image.new("L", (48, 56), 0)
        ImageDraw.Draw(img).text((4, 2), ch, fill=255, font=font)
        return np.asarray(img) > 127

    def iou(a: np.ndarray, b: np.ndarray) -> float:
        return float((a & b).sum() / max((a | b).sum(), 1))

    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for latin, glyph in HOMOGLYPHS.items():
        same = iou(draw(latin), draw(glyph))
        others = max(iou(draw(o), draw(glyph)) for o in letters if o != latin)
        assert same > 0.9, (latin, same)
        assert same > others, (latin, same, others)


def test_contractions_both_ways() -> None:
    contract = T.apply(["I do not like it. It is bad and DO NOT go; Do not!"], "contract", 1.0)
    assert contract[0].text == "I don't like it. It's bad and DON'T go; Don't!"
    assert T.apply(["I cannot stay, I am tired"], "contract", 1.0)[0].text == (
        "I can't stay, I'm tired"
    )
    expand = T.apply(["I didn't like it, it's been awful and I'm sad. Can't."], "expand", 1.0)
    assert expand[0].text == "I did not like it, it has been awful and I am sad. Cannot."
    assert T.apply(["It’s fine, don’t worry"], "expand", 1.0)[0].text == "It is fine, do not worry"
    assert T.apply(["WE'RE OFF"], "expand", 1.0)[0].text == "WE ARE OFF"
    # possessives and words that only look like contractions stay
    assert not T.apply(["Jake's dog and the kids' menu"], "expand", 1.0)[0].changed
    phrases = "do not, does not, did not, is not, was not, will not, would not, it is, they are"
    for phrase in phrases.split(", "):
        short = T.apply([phrase], "contract", 1.0)[0].text
        assert short != phrase and T.apply([short], "expand", 1.0)[0].text == phrase


def test_name_swaps_are_consistent_and_keep_gender() -> None:
    text = "Emma met Tom Hanks; Emma's friend thanked Tom. Sophie stayed home."
    for seed in range(10):
        out = T.apply([text], "swap_names", 1.0, seed=seed)[0].text
        words = re.findall(r"[A-Z][a-zü]+", out)
        first_emma, tom, hanks, second_emma, second_tom, sophie = words
        assert first_emma == second_emma and tom == second_tom  # same name, same replacement
        assert first_emma in FEMALE_NAMES and sophie in FEMALE_NAMES and tom in MALE_NAMES
        assert hanks in SURNAMES and hanks != "Hanks"
        assert len({first_emma, sophie}) == 2 and "Emma" not in out and "Sophie" not in out
    # a surname alone is no name ("Stone" is also a word), nor are lower-case words
    assert not T.apply(["Stone walls and grace"], "swap_names", 1.0)[0].changed


def test_location_swaps_keep_city_or_country() -> None:
    text = "From New York to Paris, then Japan and back to New York."
    for seed in range(10):
        out = T.apply([text], "swap_locations", 1.0, seed=seed)[0]
        city_a, city_b, country = (out.original[e.original_start :] for e in out.edits[:3])
        assert city_a.startswith("New York") and city_b.startswith("Paris")
        new = [out.text[s:e] for s, e in out.spans]
        assert new[0] in CITIES and new[1] in CITIES and new[2] in COUNTRIES
        assert new[0] == new[3] and new[0] != "New York" and country.startswith("Japan")


def test_numbers_change_but_stay_numbers_written_alike() -> None:
    text = "It cost $14.50 for 3 nights in 2015, 1,200 people, room 007, 20% off, the 1920s, 9th."
    for seed in range(20):
        out = T.apply([text], "change_numbers", 1.0, seed=seed)[0]
        olds = [e.original for e in out.edits]
        news = [out.text[s:e] for s, e in out.spans]
        assert olds == ["14.50", "3", "2015", "1,200", "007", "20"]  # not 1920s or 9th
        for old, new in zip(olds, news):
            assert new != old
            assert re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})*(\.[0-9]+)?|[0-9]+", new)
            assert ("." in new) == ("." in old) and len(new.partition(".")[2]) == len(
                old.partition(".")[2]
            )
        assert abs(int(news[2]) - 2015) <= 10  # a year stays a nearby year
        assert len(news[4]) == 3  # zero padding kept
        value = float(news[0])
        assert 7.25 <= value <= 21.75


def test_negation_is_directional_and_inserts_not() -> None:
    spec = T.TRANSFORMATIONS.get("negate")
    assert not spec.preserves_label
    assert T.apply(["The food was great."], "negate", 1.0)[0].text == "The food was not great."
    assert T.apply(["I can recommend it"], "negate", 1.0)[0].text == "I cannot recommend it"
    out = T.apply(["The room is clean and the staff are kind."], "negate", 1.0)[0].text
    assert out == "The room is not clean and the staff are not kind."
    # already negated, or "does" as a main verb before its object: nothing to negate
    assert not T.apply(["It isn't good. It was not bad."], "negate", 1.0)[0].changed
    assert not T.apply(["Does exactly what it promises."], "negate", 1.0)[0].changed


def test_synonyms_are_close_embedding_neighbours() -> None:
    from robustlab.perturbations.text.synonym import MIN_SIMILARITY, STOPWORDS
    from robustlab.text.embeddings import word_neighbours

    text = "Emma thought the film was terrible and the dialogue painful."
    for seed in range(3):
        out = T.apply([text], "synonym", 1.0, seed=seed)[0]
        assert out.changed
        for edit, (s, e) in zip(out.edits, out.spans):
            old, new = edit.original, out.text[s:e]
            assert old.lower() not in STOPWORDS and old != "Emma"  # no function words or names
            near = dict(word_neighbours(old.lower(), k=10, min_similarity=MIN_SIMILARITY))
            assert new.lower() in near, (old, new)
            assert new.lower()[:4] != old.lower()[:4]  # not an inflection of the same word
        assert out.text.startswith("Emma ")
