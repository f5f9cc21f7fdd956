"""Tests of nlp_pp.vectors.tokenstore: token lists as flat arrays give exactly what the lists gave."""

from __future__ import annotations

import doctest
import random
from collections import Counter

import numpy as np
import pytest
import torch

from nlp_pp.cache import Cache
from nlp_pp.text.preprocess import PreprocessConfig, preprocess
from nlp_pp.vectors import tokenstore
from nlp_pp.vectors.batching import encode_corpus, make_dataloader
from nlp_pp.vectors.tokenstore import (
    EncodedArrays,
    TokenArrays,
    build_token_arrays,
    cached_token_arrays,
)
from nlp_pp.vectors.vocab import Vocab


def random_lists(n: int, seed: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(40)] + ["대출", "ㅋㅋ", "<UNK>"]
    return [[rng.choice(words) for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 13]))] for _ in range(n)]


def test_docstring_examples():
    assert doctest.testmod(tokenstore).failed == 0


def test_arrays_give_the_lists_back_in_any_row_order():
    lists = random_lists(300)
    store = TokenArrays.from_lists(lists)
    assert len(store) == 300 and [store[i] for i in range(300)] == lists
    assert store.lengths().tolist() == [len(t) for t in lists]
    rows = np.random.default_rng(1).permutation(300)[:170]
    view = store.rows(rows)
    assert list(view) == [lists[i] for i in rows]
    assert view.lengths().tolist() == [len(lists[i]) for i in rows]
    assert view[5] == lists[rows[5]] and list(view[3:6]) == [lists[i] for i in rows[3:6]]


def test_rows_decode_across_blocks(monkeypatch):
    monkeypatch.setattr(tokenstore, "ROWS_PER_BLOCK", 7)
    lists = random_lists(50, seed=3)
    view = TokenArrays.from_lists(lists).rows(np.arange(49, -1, -1))
    assert list(view) == lists[::-1]
    assert view.counter() == dict(Counter(t for doc in lists for t in doc))


@pytest.mark.parametrize("min_count", [1, 2, 3])
def test_vocabulary_and_coverage_equal_those_of_the_lists(min_count):
    lists = random_lists(400, seed=5)
    store = TokenArrays.from_lists(lists)
    train, test = np.arange(0, 300), np.arange(300, 400)
    from_lists = Vocab.build([lists[i] for i in train], min_count=min_count)
    from_arrays = Vocab.build(store.rows(train), min_count=min_count)
    assert from_arrays.itos == from_lists.itos and from_arrays.stats == from_lists.stats
    test_lists = [lists[i] for i in test]
    assert from_arrays.coverage(store.rows(test)) == from_lists.coverage(test_lists)


@pytest.mark.parametrize("truncating", ["post", "pre"])
@pytest.mark.parametrize("maxlen", [0, 1, 4, 100])
def test_encoding_equals_encode_corpus(truncating, maxlen, monkeypatch):
    monkeypatch.setattr(tokenstore, "ROWS_PER_BLOCK", 16)
    lists = random_lists(200, seed=7)
    vocab = Vocab.build(lists[:120], min_count=2)
    rows = np.random.default_rng(2).permutation(200)
    expected = encode_corpus([lists[i] for i in rows], vocab, maxlen, truncating)
    encoded = encode_corpus(TokenArrays.from_lists(lists).rows(rows), vocab, maxlen, truncating)
    assert isinstance(encoded, EncodedArrays)
    assert [encoded[i] for i in range(len(encoded))] == expected
    assert encoded.lengths().tolist() == [len(s) for s in expected]


@pytest.mark.parametrize("fixed_length", [None, 6])
@pytest.mark.parametrize("bucket", [True, False])
def test_array_batches_equal_list_batches(bucket, fixed_length):
    lists = random_lists(333, seed=9)
    vocab = Vocab.build(lists, min_count=1)
    seqs = encode_corpus(lists, vocab, 10)
    arrays = encode_corpus(TokenArrays.from_lists(lists).rows(np.arange(333)), vocab, 10)
    labels = np.arange(333) % 3
    kw = dict(batch_size=16, shuffle=True, bucket=bucket, fixed_length=fixed_length, seed=4)
    a, b = make_dataloader(seqs, labels, **kw), make_dataloader(arrays, labels, **kw)
    assert len(a) == len(b)
    for _ in range(2):  # two epochs: the sampler reshuffles the same way
        for (ta, la, ya), (tb, lb, yb) in zip(a, b, strict=True):
            assert ta.dtype == tb.dtype == torch.long and torch.equal(ta, tb)
            assert torch.equal(la, lb) and torch.equal(ya, yb)


def test_empty_rows_and_empty_store():
    store = TokenArrays.from_lists([[], [], []])
    assert store.lengths().tolist() == [0, 0, 0] and list(store) == [[], [], []]
    enc = encode_corpus(store.rows([2, 0]), Vocab.build([["a"]], min_count=1), 5)
    tokens, lengths = enc.batch(np.array([0, 1]))
    assert tokens.shape == (2, 1) and lengths.tolist() == [0, 0]
    assert len(TokenArrays.from_lists([])) == 0


def test_built_from_texts_equals_preprocess(tmp_path):
    texts = ["대.출 필요하세요? 010-1234-5678 ㅋㅋ", "", "영화 정말 재밌다", "무료 쿠폰 받으세요!!"] * 5
    cfg = PreprocessConfig()
    expected = preprocess(texts, cfg)
    on_disk = build_token_arrays(texts, cfg, tmp_path, n_jobs=1)
    in_memory = build_token_arrays(texts, cfg, None, n_jobs=1)
    assert list(on_disk) == expected == list(in_memory)
    assert isinstance(on_disk.ids, np.memmap)


def test_cached_arrays_are_mapped_on_the_second_call(tmp_path, caplog):
    texts = ["영화 정말 재밌다", "최악의 영화", "그냥 그래요"] * 4
    cache = Cache(tmp_path / "cache")
    first = cached_token_arrays(texts, PreprocessConfig(), cache, ["k"], n_jobs=1)
    with caplog.at_level("INFO"):
        second = cached_token_arrays(texts, PreprocessConfig(), cache, ["k"], n_jobs=1)
    assert "from cache" in caplog.text
    assert list(second) == list(first) == preprocess(texts)
    assert isinstance(second.ids, np.memmap)


def test_a_damaged_cache_entry_is_rebuilt(tmp_path):
    texts = ["영화 정말 재밌다", "최악의 영화"]
    cache = Cache(tmp_path / "cache")
    store = cached_token_arrays(texts, PreprocessConfig(), cache, ["k"], n_jobs=1)
    ids_file = store.directory / tokenstore.IDS_FILE
    del store
    ids_file.write_bytes(b"\x00" * 3)  # truncated: the checksum no longer matches
    again = cached_token_arrays(texts, PreprocessConfig(), cache, ["k"], n_jobs=1)
    assert list(again) == preprocess(texts)


def test_an_entry_of_other_texts_under_the_key_is_replaced(tmp_path, caplog):
    """A valid entry that does not hold these texts is discarded and the rebuilt arrays stored instead
    (a kept one would have won over them and failed to load as these texts' arrays)."""
    cache = Cache(tmp_path / "cache")
    cached_token_arrays(["영화 정말 재밌다"] * 3, PreprocessConfig(), cache, ["k"], n_jobs=1)
    texts = ["최악의 영화", "그냥 그래요"]
    again = cached_token_arrays(texts, PreprocessConfig(), cache, ["k"], n_jobs=1)
    assert list(again) == preprocess(texts)
    with caplog.at_level("INFO"):
        third = cached_token_arrays(texts, PreprocessConfig(), cache, ["k"], n_jobs=1)
    assert "2 texts from cache" in caplog.text and list(third) == preprocess(texts)


def test_a_directory_stored_twice_keeps_the_first_and_removes_the_second(tmp_path):
    """Two runs filling one key: the loser's staging directory does not stay behind in the cache."""
    cache = Cache(tmp_path / "cache")
    dirs = []
    for content in (b"first", b"second"):
        d = cache.staging_dir("tokens")
        (d / "ids.bin").write_bytes(content)
        dirs.append(d)
    first = cache.put_dir("tokens", "key", dirs[0], {"n": 1}, move=True)
    second = cache.put_dir("tokens", "key", dirs[1], {"n": 1}, move=True)
    assert first == second and (first / "ids.bin").read_bytes() == b"first"
    assert not dirs[0].exists() and not dirs[1].exists()


def test_without_a_cache_the_files_go_with_the_object():
    store = cached_token_arrays(["영화 정말 재밌다"], PreprocessConfig(), Cache(None), ["k"], n_jobs=1)
    directory = store.directory
    assert directory.is_dir() and list(store) == preprocess(["영화 정말 재밌다"])
    del store
    import gc

    gc.collect()
    assert not directory.exists()


# --- raw texts held compactly --------------------------------------------------------------------------


def test_text_array_gives_back_every_text_as_it_was():
    from nlp_pp.text.textarray import TextArray

    texts = ["무료 쿠폰 ㅋㅋ", "", "emoji 😀 and \ud800 a lone surrogate", "줄\n바꿈", "x" * 10_000] * 3000
    arr = TextArray.from_texts(texts)
    assert len(arr) == len(texts) and list(arr) == texts and arr == texts
    assert arr[-1] == texts[-1] and arr[3:6] == texts[3:6] and arr[::-7000] == texts[::-7000]
    assert list(arr.take([4, 0, 4])) == [texts[4], texts[0], texts[4]]
    assert arr[:2] + arr.take([2]) == texts[:3] and ["a"] + arr.take([1]) == ["a", ""]
    units = sum(len(t.encode("utf-16-le", "surrogatepass")) for t in texts)
    assert arr.nbytes == units + 8 * (len(texts) + 1)
    with pytest.raises(IndexError):
        arr[len(texts)]
    with pytest.raises(TypeError, match="holds str"):
        TextArray.from_texts(["가", 3])
    assert len(TextArray.from_texts([])) == 0 and list(TextArray.from_texts([])) == []


def test_released_pages_leave_resident_memory_and_read_back_the_same(tmp_path):
    """After release_pages the mapped ids are no longer resident (Linux: /proc/self/smaps), and reading
    them again gives the same values."""
    import json
    import sys
    from pathlib import Path

    from nlp_pp.vectors.tokenstore import ID_DTYPE, IDS_FILE, OFFSET_DTYPE, OFFSETS_FILE, TokenArrays

    n = 2_000_000
    ids = (np.arange(n, dtype=np.int64) % 7).astype(ID_DTYPE)
    (tmp_path / IDS_FILE).write_bytes(ids.tobytes())
    (tmp_path / OFFSETS_FILE).write_bytes(np.array([0, n], dtype=OFFSET_DTYPE).tobytes())
    (tmp_path / "types.json").write_text(json.dumps([f"t{i}" for i in range(7)]), encoding="utf-8")
    store = TokenArrays.load(tmp_path, {"texts": 1, "tokens": n, "types": 7})

    def resident_kb() -> int:  # of the ids file's mapping
        lines = Path("/proc/self/smaps").read_text().splitlines()
        for i, line in enumerate(lines):
            if line.endswith(str(tmp_path / IDS_FILE)):
                return next(int(x.split()[1]) for x in lines[i + 1 :] if x.startswith("Rss:"))
        return 0

    total = int(store.ids.sum())
    if sys.platform.startswith("linux"):
        assert resident_kb() > 7000  # 8 MB read
    store.release_pages()
    if sys.platform.startswith("linux"):
        assert resident_kb() < 100
    assert int(store.ids.sum()) == total
    assert store.rows([0]).type_counts().tolist() == np.bincount(ids).tolist()
