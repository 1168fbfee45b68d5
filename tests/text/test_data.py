"""Text data: TextDataset's input checks and CSV / TSV / JSON Lines tables with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robustlab.data import TextDataset, load_dataset
from robustlab.data.tables import load_text_table
from robustlab.errors import DataError


def test_text_dataset_refuses_empty_long_and_non_text() -> None:
    with pytest.raises(DataError, match=r"1 text\(s\) are empty or whitespace only \(ids b\)"):
        TextDataset(["fine", "  \n"], [1, 0], ids=["a", "b"])
    with pytest.raises(DataError, match=r"longer than max_chars=10 characters \(id 1: 11\)"):
        TextDataset(["short", "x" * 11], [1, 0], max_chars=10)
    assert len(TextDataset(["short", "x" * 11], [1, 0], max_chars=None)) == 2
    with pytest.raises(DataError, match=r"item 1 is a bytes"):
        TextDataset(["ok", b"bytes"], [0, 1])  # type: ignore[list-item]
    with pytest.raises(DataError, match=r"not a single str"):
        TextDataset("one text", [1])  # type: ignore[arg-type]
    ds = TextDataset(["日本語のレビュー", "Crème brûlée"], [1, 0])
    assert ds.texts[0] == "日本語のレビュー"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_tsv_and_jsonl_tables(tmp_path: Path) -> None:
    csv = _write(
        tmp_path / "r.csv",
        'id,text,label,group\nx1,"Great, really great",positive,a\nx2,Awful,negative,b\n'
        "x3,Fine café,positive,a\n",
    )
    ds = load_dataset(csv)
    assert isinstance(ds, TextDataset) and ds.name == "r"
    assert ds.texts == ["Great, really great", "Awful", "Fine café"]
    assert ds.class_names == ["negative", "positive"] and ds.targets.tolist() == [1, 0, 1]
    assert ds.ids == ["x1", "x2", "x3"] and ds.meta == {"group": ["a", "b", "a"]}
    tsv = _write(tmp_path / "r.tsv", "sentence\ty\tsource\nGood\t1\tweb\nBad\t0\tshop\n")
    ds = load_dataset(tsv)
    assert ds.texts == ["Good", "Bad"] and ds.targets.tolist() == [1, 0]
    assert ds.class_names is None and ds.meta == {"source": ["web", "shop"]}
    rows = [{"review": "Loved it", "target": 2}, {"review": "Hated it", "target": 0}]
    jsonl = _write(tmp_path / "r.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    ds = load_dataset(jsonl)
    assert ds.texts == ["Loved it", "Hated it"] and ds.targets.tolist() == [2, 0]
    named = load_text_table(csv, text_column="group", label_column="label", name="n")
    assert named.texts == ["a", "b", "a"] and named.name == "n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", "words,label\nhi,1\n", r"needs a text column named one of \['text'"),
        ("b.csv", "text,stars\nhi,1\n", r"needs a label column named one of \['label'"),
        ("c.csv", "text,label\n", r"holds no rows"),
        ("d.csv", "text,label\nhi,there,1\n", r"line 2 has more fields than the header"),
        ("e.csv", "text,label\nhi,\n", r"row 1 has no 'label'"),
        ("f.csv", "text,label\n,1\n", r"text\(s\) are empty or whitespace only"),
        ("g.jsonl", '{"text": "hi", "label": 1}\n{"text": oops}\n', r"line 2 is not valid JSON"),
        ("h.jsonl", '["hi", 1]\n', r"line 1 must be a JSON object"),
        ("i.jsonl", '{"text": 5, "label": 1}\n', r"row 1 has no text in column 'text'"),
    ],
)
def test_table_errors_say_what_to_fix(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        load_dataset(_write(tmp_path / name, content))


def test_table_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"does not exist"):
        load_text_table(tmp_path / "missing.csv")
    latin1 = tmp_path / "l.csv"
    latin1.write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"is not UTF-8 text .* save it as UTF-8"):
        load_dataset(latin1)
    with pytest.raises(DataError, match=r"has no text column 'body'"):
        load_text_table(_write(tmp_path / "x.csv", "text,label\na,1\n"), text_column="body")


def test_bundled_reviews_by_name() -> None:
    test = load_dataset("reviews-test")
    assert isinstance(test, TextDataset) and len(test) == 104 and test.name == "reviews-test"
    assert len(load_dataset("reviews")) == 400
