"""Tests of nlp_pp.text.stopwords: the bundled list, user files, set look-ups."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pp.errors import DataError
from nlp_pp.text.stopwords import default_stopwords_path, load_stopwords, remove_stopwords, resolve_stopwords

ROOT = Path(__file__).resolve().parent.parent


def test_default_list_is_the_project_file():
    # the checkout's stopwords/korean.txt (an installed wheel ships the same file as nlp_pp/_stopwords/)
    path = default_stopwords_path()
    project_file = ROOT / "stopwords" / "korean.txt"
    assert path.name == "korean.txt" and path.read_bytes() == project_file.read_bytes()
    text = project_file.read_text(encoding="utf-8")
    expected = {line.split("#", 1)[0].strip() for line in text.splitlines()} - {""}
    words = load_stopwords()
    assert isinstance(words, frozenset)
    assert words == expected
    assert len(words) > 20


def test_default_list_contents():
    words = load_stopwords()
    assert {"을", "를", "이", "은", "는", "의", "에", "에서", "도", "만"} <= words
    assert "가" not in words  # also the verb 가다 ('go'); set look-ups cannot tell them apart
    # negations and spam-bearing words are not stopwords
    assert not {"안", "못", "않", "무료", "광고", "클릭"} & words
    # no comment text leaks into the list
    assert not any(w.startswith("#") or " " in w for w in words)


def test_comments_and_blank_lines_ignored(tmp_path):
    p = tmp_path / "sw.txt"
    p.write_text(
        "# header comment\n\n대출   # trailing comment\n  상담  \n\n#영화\n\t\n무료\n", encoding="utf-8"
    )
    assert load_stopwords(p) == frozenset({"대출", "상담", "무료"})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_user_file_encodings(tmp_path, encoding):
    p = tmp_path / f"{encoding}.txt"
    p.write_text("대출\n상담\n", encoding=encoding)
    words = load_stopwords(str(p))
    assert words == frozenset({"대출", "상담"})  # the BOM is not glued to the first word
    assert not any("\ufeff" in w for w in words)


def test_missing_file_is_data_error(tmp_path):
    with pytest.raises(DataError, match="not found") as e:
        load_stopwords(tmp_path / "nope.txt")
    assert "\n" not in str(e.value)


def test_directory_or_wrong_encoding_is_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read stopword file"):
        load_stopwords(tmp_path)
    p = tmp_path / "cp949.txt"
    p.write_bytes("대출\n상담\n".encode("cp949"))
    with pytest.raises(DataError, match="UTF-8"):
        load_stopwords(p)


def test_remove_stopwords_keeps_order_and_duplicates():
    tokens = ["영화", "를", "봤", "는데", "영화", "가", "좋", "았", "다", "안", "를"]
    assert remove_stopwords(tokens, {"를", "가", "았", "다"}) == ["영화", "봤", "는데", "영화", "좋", "안"]
    assert remove_stopwords(tokens, frozenset()) == tokens
    assert remove_stopwords([], {"를"}) == []


def test_resolve_stopwords(tmp_path):
    assert resolve_stopwords(None) == frozenset()
    assert resolve_stopwords("default") == load_stopwords()
    p = tmp_path / "mine.txt"
    p.write_text("대출\n", encoding="utf-8")
    assert resolve_stopwords(str(p)) == frozenset({"대출"})
    assert resolve_stopwords(p) == frozenset({"대출"})
    assert resolve_stopwords(["a", "b", "a"]) == frozenset({"a", "b"})
    assert resolve_stopwords(w for w in ("x", "y")) == frozenset({"x", "y"})
    assert resolve_stopwords(set()) == frozenset()
    with pytest.raises(DataError):
        resolve_stopwords(str(tmp_path / "missing.txt"))
