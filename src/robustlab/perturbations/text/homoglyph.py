"""Homoglyphs: a Latin letter replaced by a visually identical letter of another script."""

from __future__ import annotations

from robustlab.perturbations.text._batch import (
    BatchEdits,
    TextBatch,
    char_transformation,
    code_table,
)

#: Latin letters and the Cyrillic letters drawn with the same glyph in common fonts (DejaVu,
#: Liberation; checked by rendering them in the tests). Cyrillic К is left out: its arms differ.
HOMOGLYPHS: dict[str, str] = {
    "a": "\u0430",  # CYRILLIC SMALL LETTER A
    "c": "\u0441",  # CYRILLIC SMALL LETTER ES
    "e": "\u0435",  # CYRILLIC SMALL LETTER IE
    "i": "\u0456",  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    "j": "\u0458",  # CYRILLIC SMALL LETTER JE
    "o": "\u043e",  # CYRILLIC SMALL LETTER O
    "p": "\u0440",  # CYRILLIC SMALL LETTER ER
    "s": "\u0455",  # CYRILLIC SMALL LETTER DZE
    "x": "\u0445",  # CYRILLIC SMALL LETTER HA
    "y": "\u0443",  # CYRILLIC SMALL LETTER U
    "A": "\u0410",  # CYRILLIC CAPITAL LETTER A
    "B": "\u0412",  # CYRILLIC CAPITAL LETTER VE
    "C": "\u0421",  # CYRILLIC CAPITAL LETTER ES
    "E": "\u0415",  # CYRILLIC CAPITAL LETTER IE
    "H": "\u041d",  # CYRILLIC CAPITAL LETTER EN
    "I": "\u0406",  # CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I
    "J": "\u0408",  # CYRILLIC CAPITAL LETTER JE
    "M": "\u041c",  # CYRILLIC CAPITAL LETTER EM
    "O": "\u041e",  # CYRILLIC CAPITAL LETTER O
    "P": "\u0420",  # CYRILLIC CAPITAL LETTER ER
    "S": "\u0405",  # CYRILLIC CAPITAL LETTER DZE
    "T": "\u0422",  # CYRILLIC CAPITAL LETTER TE
    "X": "\u0425",  # CYRILLIC CAPITAL LETTER HA
}

_TABLE = code_table(HOMOGLYPHS)


@char_transformation(
    "homoglyph",
    description="one letter of a word replaced by an identical-looking Cyrillic letter",
    references="Eger et al., Text Processing Like Humans Do: Visually Attacking and Shielding "
    "NLP Systems (VIPER), NAACL 2019",
)
def homoglyph(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen word gets one of its letters that has a look-alike replaced by it; the text
    reads the same to a person but its code points differ."""
    _, pos = batch.choose_sites(*batch.words(), batch.ascii_table(_TABLE) != 0, rate)
    return BatchEdits.substitute(pos, _TABLE[batch.codes[pos]])
