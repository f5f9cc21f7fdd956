"""Tests of nlp_pp.vectors.vocab: building with a rare-word threshold, encoding, stats, JSON round trip."""

from __future__ import annotations

import json

import pytest

from nlp_pp.errors import ConfigError, RunError
from nlp_pp.vectors.vocab import PAD, PAD_IDX, UNK, UNK_IDX, Vocab

CORPUS = [
    ["대출", "상담", "대출", "무료"],
    ["대출", "영화", "상담", "무료"],
    ["영화", "대출", "쿠폰", "상담"],
    ["희귀"],
]
# counts: 대출 4, 상담 3, 무료 2, 영화 2, 쿠폰 1, 희귀 1 (total 13)


def test_special_indices():
    assert (PAD, PAD_IDX, UNK, UNK_IDX) == ("<PAD>", 0, "<UNK>", 1)


def test_build_min_count_order_and_stats():
    v = Vocab.build(CORPUS, min_count=2)
    # PAD, UNK, then by frequency, ties alphabetical (무료 < 영화)
    assert v.itos == [PAD, UNK, "대출", "상담", "무료", "영화"]
    assert v.stoi == {t: i for i, t in enumerate(v.itos)}
    assert len(v) == 6
    assert v.min_count == 2
    assert v.stats == {
        "size": 6,
        "min_count": 2,
        "distinct_tokens": 6,
        "rare_dropped": 2,
        "coverage_train": 11 / 13,
    }
    assert "대출" in v and "쿠폰" not in v


def test_build_min_count_one_keeps_everything():
    v = Vocab.build(CORPUS, min_count=1)
    assert v.itos == [PAD, UNK, "대출", "상담", "무료", "영화", "쿠폰", "희귀"]
    assert v.stats["rare_dropped"] == 0 and v.stats["coverage_train"] == 1.0


def test_build_default_min_count_is_3():
    assert Vocab.build(CORPUS).itos == [PAD, UNK, "대출", "상담"]


def test_build_max_size():
    v = Vocab.build(CORPUS, min_count=1, max_size=4)
    assert v.itos == [PAD, UNK, "대출", "상담"]
    assert v.stats["size"] == 4


def test_build_empty():
    v = Vocab.build([], min_count=1)
    assert v.itos == [PAD, UNK]
    assert v.stats["coverage_train"] == 0.0


def test_build_accepts_a_generator():
    v = Vocab.build((t for t in CORPUS), min_count=2)
    assert v.itos == [PAD, UNK, "대출", "상담", "무료", "영화"]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", None])
def test_invalid_min_count(bad):
    with pytest.raises(ConfigError, match="min_count"):
        Vocab.build(CORPUS, min_count=bad)


def test_constructor_validation():
    with pytest.raises(ConfigError):
        Vocab(["a", "b"])
    with pytest.raises(ConfigError):
        Vocab([PAD, UNK, "a", "a"])


def test_encode_decode():
    v = Vocab.build(CORPUS, min_count=2)
    assert v.encode(["대출", "쿠폰", "영화", "없는말"]) == [2, UNK_IDX, 5, UNK_IDX]
    assert v.encode([]) == []
    assert v.decode([0, 2, 1, 5, 0, 0]) == ["대출", UNK, "영화"]  # PAD is skipped
    assert v.decode(v.encode(["상담", "무료"])) == ["상담", "무료"]


def test_coverage():
    v = Vocab.build(CORPUS, min_count=2)
    assert v.coverage([["대출", "쿠폰"], ["영화", "x", "y", "상담"]]) == pytest.approx(3 / 6)
    assert v.coverage(CORPUS) == pytest.approx(11 / 13)
    assert v.coverage([]) == 0.0 and v.coverage([[]]) == 0.0


def test_save_load_round_trip(tmp_path):
    v = Vocab.build(CORPUS, min_count=2)
    p = tmp_path / "vocab.json"
    v.save(p)
    data = json.loads(p.read_text(encoding="utf-8"))
    assert data["format"] == "nlp_pp.vocab/1" and data["itos"] == v.itos
    assert "대출" in p.read_text(encoding="utf-8")  # readable UTF-8, not \\u escapes
    w = Vocab.load(str(p))
    assert w.itos == v.itos and w.stoi == v.stoi
    assert w.min_count == 2 and w.stats == v.stats
    assert w.encode(["대출", "쿠폰"]) == v.encode(["대출", "쿠폰"])


def test_load_missing_file(tmp_path):
    with pytest.raises(RunError, match="not found"):
        Vocab.load(tmp_path / "nope.json")


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": "nlp_pp.vocab/1", "itos": ["<PAD>"',  # truncated JSON
        b'{"format": "something/else", "itos": []}',  # wrong format
        b'{"format": "nlp_pp.vocab/1"}',  # no itos
        b'{"format": "nlp_pp.vocab/1", "itos": ["a", "b"]}',  # no PAD/UNK
        b'{"format": "nlp_pp.vocab/1", "itos": ["<PAD>", "<UNK>", "a", "a"]}',
        b'{"format": "nlp_pp.vocab/1", "itos": 5}',
        b"\xff\xfe\x00 not utf-8",
        b"",
    ],
)
def test_load_corrupt_file(tmp_path, content):
    p = tmp_path / "vocab.json"
    p.write_bytes(content)
    with pytest.raises(RunError) as e:
        Vocab.load(p)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("content", ["[1, 2]", "null", '"x"'])
def test_load_json_that_is_not_an_object(tmp_path, content):
    p = tmp_path / "vocab.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(RunError):
        Vocab.load(p)


def test_load_directory(tmp_path):
    with pytest.raises(RunError):
        Vocab.load(tmp_path)


def test_extended_keeps_at_most_limit_words_in_the_order_given():
    from nlp_pp.errors import ConfigError

    v = Vocab.build([["a", "b"]], min_count=1)
    big = v.extended(["x", "a", "y", "z"], limit=2)
    assert big.itos[len(v) :] == ["x", "y"]
    assert (big.stats["from_vectors"], big.stats["vectors_left_out"]) == (2, 1)
    assert v.extended(["x"], limit=0).itos == v.itos
    for bad in (-1, 1.5, True):
        with pytest.raises(ConfigError, match="limit"):
            v.extended(["x"], limit=bad)
