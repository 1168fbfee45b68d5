"""MiniLM word neighbours: known synonyms, case, thresholds, bad input and the disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from robustlab.errors import ConfigError
from robustlab.text import embeddings
from robustlab.text.embeddings import match_case, word_neighbours, word_vectors


def test_known_neighbours() -> None:
    assert "film" in [w for w, _ in word_neighbours("movie", k=3)]
    terrible = [w for w, _ in word_neighbours("terrible", k=5)]
    assert {"horrible", "awful"} <= set(terrible)
    assert "excellent" in [w for w, _ in word_neighbours("good", k=3)]


def test_threshold_drops_antonym_and_results_are_sorted() -> None:
    good = word_neighbours("good", k=50, min_similarity=0.7)
    assert "bad" not in [w for w, _ in good]
    loose = word_neighbours("good", k=50, min_similarity=0.5)
    assert "bad" in [w for w, _ in loose]  # why callers must also check the sentence
    sims = [s for _, s in loose]
    assert sims == sorted(sims, reverse=True)
    assert all(s >= 0.5 for s in sims) and len(loose) <= 50


def test_never_returns_the_word_and_keeps_its_case() -> None:
    for w, _ in word_neighbours("Movie", k=5, min_similarity=0.3):
        assert w.lower() != "movie" and w[0].isupper()
    assert all(w.isupper() for w, _ in word_neighbours("FILM", k=3, min_similarity=0.3))
    assert match_case("Good", "great") == "Great" and match_case("a", "b") == "b"


def test_k_limits_and_unknown_word_is_embedded_on_the_fly() -> None:
    assert len(word_neighbours("film", k=2, min_similarity=-1.0)) == 2
    out = word_neighbours("unwatchableish", k=3, min_similarity=-1.0)
    assert len(out) == 3


def test_vocabulary_is_real_words_and_unit_norm() -> None:
    vocab = word_vectors()
    assert len(vocab.words) > 15_000
    assert all(w.isalpha() and w.islower() and len(w) >= 2 for w in vocab.words[:2000])
    assert "##s" not in vocab.index and "[CLS]" not in vocab.index
    norms = np.linalg.norm(vocab.vectors[:100], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-3)


def test_disk_cache_round_trip(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = word_vectors()
    monkeypatch.setenv("ROBUSTLAB_CACHE", str(tmp_path))
    file = tmp_path / "minilm-words-test.npz"
    embeddings._save(file, list(vocab.words), vocab.vectors)
    with np.load(file) as saved:
        assert saved["vectors"].shape == vocab.vectors.shape
        assert list(saved["words"][:3]) == list(vocab.words[:3])
    assert embeddings.cache_dir() == tmp_path


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"word": ""}, "single word"),
        ({"word": "two words"}, "single word"),
        ({"word": 3}, "single word"),
        ({"word": "film", "k": 0}, "'k' parameter"),
        ({"word": "film", "min_similarity": 2.0}, "'min_similarity' parameter"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        word_neighbours(**kwargs)
