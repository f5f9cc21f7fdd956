"""Tests of unlabelled text (nlp_pp.text.stream, nlp_pp.vectors.corpus, nlp_pp.vectors.pretrain): streaming
unlabelled files, the cached token corpus, pretraining FastText on it."""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import nlp_pp.text.stream as unl
from nlp_pp.cache import Cache
from nlp_pp.errors import ConfigError, DataError
from nlp_pp.text.hashing import hash_texts, overlap, text_hash
from nlp_pp.text.parallel import imap_chunks
from nlp_pp.text.preprocess import PreprocessConfig, preprocess
from nlp_pp.text.stream import iter_unlabeled_texts
from nlp_pp.vectors.corpus import TokenCorpus, build_corpus
from nlp_pp.vectors.fasttext import FastTextConfig, train_fasttext
from nlp_pp.vectors.pretrain import (
    DEFAULT_MAX_VOCAB_SIZE,
    PRETRAIN_BUCKET,
    PRETRAINED_FORMAT,
    check_pretrained,
    pretrain,
)
from nlp_pp.vectors.storage import load_vectors

preprocess_module = importlib.import_module("nlp_pp.text.preprocess")

TEXTS = [
    "영화 정말 재밌어요 ㅋㅋ",
    "대.출 필요하세요? 010-1234-5678",
    "오늘 저녁 같이 먹자",
    "무료 쿠폰 지급!! http://bit.ly/x",
    "@@@",
    "내일 회의는 3시에 시작합니다",
    "엄마 도착했어",
    "주말에 영화 보러 갈래?",
    "  앞뒤 공백  ",
    '쉼표, "따옴표" 포함',
    "이벤트 당첨! 50만원 지급",
    "배송이 완료되었습니다",
    "영화 정말 재밌어요 ㅋㅋ",
    "최악의 영화 ㅠㅠ",
    "ok 좋아요",
]


def one_line(exc_info, *needles: str) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    for n in needles:
        assert n in msg, (n, msg)
    return msg


def write_csv(path: Path, texts, encoding="utf-8", bom=False, sep=",", col="content") -> Path:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(["id", col, "extra"])
    for i, t in enumerate(texts):
        w.writerow([i, t, "x"])
    data = buf.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_lines(path: Path, texts, encoding="utf-8", bom=False, newline="\n") -> Path:
    data = newline.join(texts).encode(encoding) + newline.encode()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def read_all(path, **kw) -> list[str]:
    return [t for chunk in iter_unlabeled_texts(path, **kw) for t in chunk]


# ------------------------------------------------------------------------------------------ hashes


def test_text_hash_is_blake2b_of_the_stripped_text():
    expected = int.from_bytes(hashlib.blake2b("영화 재밌어요".encode(), digest_size=8).digest(), "little")
    assert text_hash("영화 재밌어요") == text_hash(" 영화 재밌어요\n") == expected
    assert text_hash("영화 재밌어요") != text_hash("영화  재밌어요")
    assert 0 <= text_hash("") < 2**64
    arr = hash_texts(["a", "b", " a "])
    assert arr.dtype == np.uint64 and arr.tolist() == [text_hash("a"), text_hash("b"), text_hash("a")]


# ------------------------------------------------------------------------------------------ reading

TRICKY = ["영화 정말 재밌어요", '쉼표, 그리고 "따옴표"', "줄\n바꿈이 있는 칸", "ㅋㅋㅋ", "뒤 공백  "]


@pytest.mark.parametrize("encoding, bom", [("utf-8", False), ("utf-8", True), ("cp949", False)])
def test_csv_in_every_encoding(tmp_path, encoding, bom):
    path = write_csv(tmp_path / "u.csv", TRICKY, encoding, bom)
    assert read_all(path) == TRICKY
    assert read_all(path, encoding=encoding) == TRICKY  # forced


def test_tsv_and_another_column(tmp_path):
    path = write_csv(tmp_path / "u.TSV", TRICKY, sep="\t", col="document")
    assert read_all(path, text_col="document") == TRICKY


@pytest.mark.parametrize(
    "encoding, bom, newline", [("utf-8", False, "\n"), ("utf-8", True, "\r\n"), ("cp949", False, "\r\n")]
)
def test_plain_text_in_every_encoding(tmp_path, encoding, bom, newline):
    lines = [t for t in TRICKY if "\n" not in t]
    path = write_lines(tmp_path / "u.txt", lines, encoding, bom, newline)
    assert read_all(path) == lines  # a BOM and the line ends are gone, other whitespace kept


def test_blank_lines_and_missing_cells_are_skipped(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text('id,content\n1,가\n2,\n3,"  "\n4,나\n5\n', encoding="utf-8")
    assert read_all(path) == ["가", "나"]
    path = tmp_path / "u.txt"
    path.write_text("\n가\n   \n\t\n나\n\n", encoding="utf-8")
    assert read_all(path) == ["가", "나"]


def test_nul_characters_are_removed(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes("content\n가\x00나\n다\n".encode())
    assert read_all(path) == ["가나", "다"]


def test_nul_characters_are_removed_from_text_lines_too(tmp_path):
    path = tmp_path / "u.txt"
    path.write_bytes("가\x00나\n\x00\n다\n".encode() + "영화 정말 재밌어요\n".encode() * 5)
    assert read_all(path) == ["가나", "다"] + ["영화 정말 재밌어요"] * 5


def test_an_overlong_line_is_cut_in_bounded_reads(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(unl, "MAX_LINE_CHARS", 10)
    path = write_lines(tmp_path / "u.txt", ["짧은 줄", "가" * 35, "다음 줄", "나" * 10, "끝"])
    with caplog.at_level(logging.WARNING, logger="nlp_pp.text.stream"):
        assert read_all(path) == ["짧은 줄", "가" * 10, "다음 줄", "나" * 10, "끝"]
    assert "1 line(s) longer than 10 characters were cut" in caplog.text


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_chunks_keep_order_and_content(tmp_path, suffix):
    texts = [f"문장 {i} 번째" for i in range(25)]
    path = (
        write_csv(tmp_path / f"u{suffix}", texts)
        if suffix == ".csv"
        else write_lines(tmp_path / "u.txt", texts)
    )
    chunks = list(iter_unlabeled_texts(path, chunk_size=4))
    assert [len(c) for c in chunks] == [4] * 6 + [1]
    assert [t for c in chunks for t in c] == texts
    assert [t for c in iter_unlabeled_texts(path, chunk_size=100) for t in c] == texts


class _CountingFile(io.FileIO):
    """A file that records how many bytes were read from it."""

    read_bytes = 0

    def readinto(self, b):
        n = super().readinto(b)
        _CountingFile.read_bytes += n or 0
        return n


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_streaming_reads_the_file_as_it_goes(tmp_path, monkeypatch, suffix):
    texts = [
        f"{i}번째 메시지: 영화 정말 재밌어요 ㅋㅋ 다음에 또 보러 가요" for i in range(60_000)
    ]  # about 4.4 MB
    path = (
        write_csv(tmp_path / f"u{suffix}", texts)
        if suffix == ".csv"
        else write_lines(tmp_path / "u.txt", texts)
    )
    size = path.stat().st_size
    assert size > 4_000_000
    monkeypatch.setattr(unl, "_open_binary", lambda p: io.BufferedReader(_CountingFile(p)))
    _CountingFile.read_bytes = 0
    chunks = iter_unlabeled_texts(path, chunk_size=1000)
    first = next(chunks)
    assert first == texts[:1000]
    # not the whole file: pandas' C reader reads ahead a fixed amount, 0.6 MB with pandas 3.1 and 1.4 MB with
    # pandas 2.3 (what Python 3.10 gets: pandas 3 needs 3.11), the same for a file three times this size
    assert _CountingFile.read_bytes < 2_000_000, _CountingFile.read_bytes
    n = 1 + sum(1 for _ in chunks)
    assert n == 60
    assert _CountingFile.read_bytes >= size


def test_not_found_directory_and_device(tmp_path):
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(tmp_path / "missing.csv")
    one_line(e, "file not found", "missing.csv")
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(tmp_path)
    one_line(e, "is a directory")
    if os.path.exists("/dev/zero"):
        with pytest.raises(DataError) as e:
            iter_unlabeled_texts("/dev/zero")
        one_line(e, "not a regular file")


@pytest.mark.parametrize("name, data", [("e.csv", b""), ("e.txt", b""), ("w.txt", b" \n\r\n\t\n")])
def test_empty_file(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(tmp_path / name)
    one_line(e, "is empty")


def test_binary_and_utf16_files(tmp_path):
    (tmp_path / "b.txt").write_bytes(bytes(range(256)) * 40)
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(tmp_path / "b.txt")
    one_line(e, "looks binary", "not a text file")
    (tmp_path / "b.csv").write_bytes(
        b"PK\x03\x04\x14\x00\x06\x00" + b"\x01\x02\x03\x1b" * 1000
    )  # e.g. an .xlsx
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(tmp_path / "b.csv")
    one_line(e, "looks binary", "CSV")
    (tmp_path / "u16.txt").write_bytes("안녕하세요\n영화\n".encode("utf-16"))
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(tmp_path / "u16.txt")
    one_line(e, "UTF-16")


def test_csv_without_the_column_names_the_columns(tmp_path):
    path = write_csv(tmp_path / "u.csv", TRICKY, col="document")
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(path, "content")
    one_line(e, "column 'content' not found", "its columns are: id, document, extra", "--text-col")


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\x80\x81 abc \xff\xfe\x80\n" * 10)  # neither UTF-8 nor CP949
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(path)
    one_line(e, "cannot decode", "utf-8, cp949")
    good = write_lines(tmp_path / "cp.txt", ["안녕하세요"], "cp949")
    with pytest.raises(DataError) as e:
        iter_unlabeled_texts(good, encoding="utf-8")
    one_line(e, "cannot decode", "utf-8", "--encoding")
    with pytest.raises(ConfigError, match="unknown encoding"):
        iter_unlabeled_texts(good, encoding="klingon")


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_undecodable_bytes_after_the_first_64_kib(tmp_path, suffix):
    # 700 KB of ASCII first: detected as UTF-8 from the first 64 KiB, and the CSV header is read
    # (pandas reads 256 KiB blocks) before the CP949 bytes at the end are reached
    ascii_texts = [f"line {i} plain ascii text" for i in range(25_000)]
    texts = ascii_texts + ["안녕하세요 반갑습니다"]
    path = tmp_path / f"late{suffix}"
    (write_csv if suffix == ".csv" else write_lines)(path, texts, "cp949")
    assert path.stat().st_size > 600_000
    chunks = iter_unlabeled_texts(path, chunk_size=1000)
    with pytest.raises(DataError) as e:
        list(chunks)
    one_line(e, "cannot decode", "as utf-8 near byte", "first 64 KiB", "--encoding")
    assert read_all(path, encoding="cp949", chunk_size=1000) == texts


def test_malformed_csv_and_file_without_texts(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("id,content\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_all(path)
    one_line(e, "has no texts", "'content'")
    path = tmp_path / "quote.csv"
    path.write_text('id,content\n1,"never closed\n2,가\n', encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_all(path)
    one_line(e, "not a valid CSV")


def test_bad_options(tmp_path):
    path = write_lines(tmp_path / "u.txt", ["가"])
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="chunk_size"):
            iter_unlabeled_texts(path, chunk_size=bad)
    with pytest.raises(ConfigError, match="text_col"):
        iter_unlabeled_texts(path, text_col="")


def test_a_csv_header_in_a_text_file_is_warned_about(tmp_path, caplog):
    path = write_lines(tmp_path / "u.txt", ["content", "가", "나"])
    with caplog.at_level(logging.WARNING, logger="nlp_pp.text.stream"):
        assert read_all(path) == ["content", "가", "나"]
    assert ".csv suffix" in caplog.text


# ---------------------------------------------------------------------------------------- imap_chunks


def _double(chunk: list[int]) -> list[int]:
    return [2 * x for x in chunk]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_imap_chunks_keeps_order_and_bounds_the_chunks_in_flight(n_jobs):
    taken = []
    yielded = []

    def source():
        for i in range(30):
            taken.append(i)
            yield list(range(10 * i, 10 * i + 10))

    for result in imap_chunks(_double, source(), n_jobs=n_jobs, max_pending=3):
        yielded.append(result)
        assert len(taken) - len(yielded) <= 3, (len(taken), len(yielded))
    assert [x for r in yielded for x in r] == [2 * x for x in range(300)]


def test_imap_chunks_checks_its_options_at_once():
    with pytest.raises(ConfigError, match="max_pending"):
        imap_chunks(_double, [[1]], max_pending=0)
    with pytest.raises(ConfigError, match="n_jobs"):
        imap_chunks(_double, [[1]], n_jobs=-5)


# -------------------------------------------------------------------------------------------- corpus


@pytest.fixture
def files(tmp_path) -> list[Path]:
    a = write_csv(tmp_path / "a.csv", TEXTS[:9], "cp949")
    b = write_lines(tmp_path / "b.txt", TEXTS[9:], "utf-8", bom=True)
    return [a, b]


def corpus_lines(corpus: TokenCorpus) -> list[str]:
    return corpus.tokens_path.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_build_corpus_equals_preprocess(files, tmp_path, n_jobs):
    cfg = PreprocessConfig()
    expected = preprocess(TEXTS, cfg)
    corpus = build_corpus(
        files, "content", cfg, cache=Cache(tmp_path / "cache"), n_jobs=n_jobs, progress=False, chunk_size=4
    )
    assert corpus.texts == len(TEXTS) and corpus.tokens == sum(map(len, expected))
    assert corpus.empty == sum(1 for t in expected if not t) == 1  # "@@@" leaves nothing
    assert corpus_lines(corpus) == [" ".join(t) for t in expected]  # one line per text, blank ones too
    assert corpus.hashes().tolist() == hash_texts(TEXTS).tolist()
    assert list(corpus.iterate()) == [t for t in expected if t]
    assert [f["texts"] for f in corpus.files] == [9, len(TEXTS) - 9]
    assert [f["encoding"] for f in corpus.files] == ["cp949", "utf-8"]
    assert [f["kind"] for f in corpus.files] == ["csv", "text"]
    assert corpus.files[0]["sha256"] == hashlib.sha256(files[0].read_bytes()).hexdigest()


def test_build_corpus_with_other_options_equals_preprocess(files, tmp_path):
    cfg = PreprocessConfig(stopwords="default", keep_jamo=False, keep_punct=False, jamo=False)
    corpus = build_corpus(files, "content", cfg, cache=Cache(None), progress=False, n_jobs=1)
    assert corpus_lines(corpus) == [" ".join(t) for t in preprocess(TEXTS, cfg)]


def _fail(*args, **kwargs):
    raise AssertionError("preprocessing ran although the corpus was cached")


def test_a_second_build_reads_the_cache_without_preprocessing(files, tmp_path, monkeypatch):
    cache = Cache(tmp_path / "cache")
    first = build_corpus(files, "content", PreprocessConfig(), cache=cache, n_jobs=1, progress=False)
    monkeypatch.setattr(preprocess_module, "_preprocess_chunk", _fail)
    again = build_corpus(files, "content", PreprocessConfig(), cache=cache, n_jobs=1, progress=False)
    assert again.directory == first.directory and again.directory.parent == tmp_path / "cache" / "corpus"
    assert list(again.iterate()) == list(first.iterate())
    assert (again.texts, again.tokens, again.files) == (first.texts, first.tokens, first.files)
    # the patch is effective: another configuration misses the cache and preprocesses
    with pytest.raises(AssertionError, match="cached"):
        build_corpus(files, "content", PreprocessConfig(jamo=False), cache=cache, n_jobs=1, progress=False)
    # the same content at another path hits the cache too (the key is the content, not the path)
    moved = tmp_path / "moved.csv"
    moved.write_bytes(files[0].read_bytes())
    hit = build_corpus(
        [moved, files[1]], "content", PreprocessConfig(), cache=cache, n_jobs=1, progress=False
    )
    assert hit.directory == first.directory and hit.files[0]["path"] == str(moved)
    assert not [p for p in (tmp_path / "cache" / "corpus").iterdir() if p.name.startswith(".staging")]


@pytest.mark.parametrize("damage", ["flip", "truncate", "extra file", "no manifest", "manifest", "symlink"])
def test_a_damaged_cache_entry_is_discarded_and_rebuilt(files, tmp_path, damage, caplog):
    cache = Cache(tmp_path / "cache")
    first = build_corpus(files, "content", PreprocessConfig(), cache=cache, n_jobs=1, progress=False)
    expected = list(first.iterate())
    entry = first.directory
    tokens = entry / "tokens.txt"
    if damage == "flip":
        data = bytearray(tokens.read_bytes())
        data[len(data) // 2] ^= 0x01
        tokens.write_bytes(bytes(data))
    elif damage == "truncate":
        (entry / "hashes.npy").write_bytes((entry / "hashes.npy").read_bytes()[:-8])
    elif damage == "extra file":
        (entry / "payload.py").write_text("raise SystemExit")
    elif damage == "no manifest":
        (entry / "manifest.json").unlink()
    elif damage == "manifest":
        (entry / "manifest.json").write_bytes(b'{"files": {}}')
    else:
        tokens.unlink()
        tokens.symlink_to(files[1])
    with caplog.at_level(logging.WARNING, logger="nlp_pp.cache"):
        again = build_corpus(files, "content", PreprocessConfig(), cache=cache, n_jobs=1, progress=False)
    assert "damaged" in caplog.text and "discarded" in caplog.text
    assert again.directory == entry and list(again.iterate()) == expected
    assert cache.get_dir("corpus", entry.name) is not None  # rebuilt and stored again


def test_without_a_cache_the_corpus_is_temporary(files):
    corpus = build_corpus(files, "content", PreprocessConfig(), cache=Cache(None), n_jobs=1, progress=False)
    directory = corpus.directory
    assert corpus.tokens_path.is_file() and len(list(corpus.iterate())) == len(TEXTS) - 1
    corpus.close()
    assert not directory.exists()


def test_build_corpus_checks_every_file_before_any_work(files, tmp_path, monkeypatch):
    monkeypatch.setattr(preprocess_module, "_preprocess_chunk", _fail)
    with pytest.raises(DataError, match="file not found"):
        build_corpus(
            [*files, tmp_path / "missing.txt"],
            "content",
            PreprocessConfig(),
            cache=Cache(None),
            progress=False,
        )
    with pytest.raises(ConfigError, match="no unlabelled file"):
        build_corpus([], "content", PreprocessConfig(), cache=Cache(None))


def test_a_build_that_fails_leaves_nothing_behind(files, tmp_path):
    bad = tmp_path / "header_only.csv"
    bad.write_text("id,content\n", encoding="utf-8")
    cache = Cache(tmp_path / "cache")
    with pytest.raises(DataError, match="has no texts"):
        build_corpus([files[0], bad], "content", PreprocessConfig(), cache=cache, n_jobs=1, progress=False)
    assert list((tmp_path / "cache" / "corpus").iterdir()) == []


def test_whitespace_inside_a_token_cannot_break_the_file(files, tmp_path, monkeypatch):
    def chunk(texts, config, stopwords):
        return [["a b", "c\nd", "", "e\u3000f", "g"] for _ in texts]

    monkeypatch.setattr(preprocess_module, "_preprocess_chunk", chunk)
    corpus = build_corpus(files, "content", PreprocessConfig(), cache=Cache(None), n_jobs=1, progress=False)
    assert corpus_lines(corpus) == ["a b c d e f g"] * len(TEXTS)
    assert list(corpus.iterate()) == [["a", "b", "c", "d", "e", "f", "g"]] * len(TEXTS)
    assert corpus.tokens == 7 * len(TEXTS)


# ----------------------------------------------------------------------------------- cache directories


def _entry(tmp_path: Path, cache: Cache, move: bool = False, value=None) -> tuple[Path, Path]:
    source = cache.staging_dir("k") if move else tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "a.txt").write_text("가 나 다\n", encoding="utf-8")
    np.save(source / "b.npy", np.arange(5, dtype=np.uint64))
    return source, cache.put_dir("k", "key", source, value if value is not None else {"n": 5}, move=move)


@pytest.mark.parametrize("move", [False, True])
def test_put_dir_and_get_dir(tmp_path, move):
    cache = Cache(tmp_path / "cache")
    source, stored = _entry(tmp_path, cache, move)
    assert stored == tmp_path / "cache" / "k" / "key"
    assert source.exists() is (not move)  # moved by one rename, or copied
    path, value = cache.get_dir("k", "key")
    assert path == stored and value == {"n": 5}
    assert sorted(p.name for p in path.iterdir()) == ["a.txt", "b.npy", "manifest.json"]
    assert (path / "a.txt").read_text(encoding="utf-8") == "가 나 다\n"
    assert not [p for p in (tmp_path / "cache" / "k").iterdir() if p.name != "key"]  # no staging left
    assert Cache(None).get_dir("k", "key") is None and Cache(None).put_dir("k", "key", source) is None


def test_put_dir_keeps_an_existing_valid_entry(tmp_path):
    cache = Cache(tmp_path / "cache")
    _, first = _entry(tmp_path, cache)
    source = tmp_path / "other"
    source.mkdir()
    (source / "a.txt").write_text("other", encoding="utf-8")
    assert cache.put_dir("k", "key", source, {"n": 1}) == first  # a concurrent run stored it first
    assert cache.get_dir("k", "key")[1] == {"n": 5}


def test_put_dir_refuses_subdirectories(tmp_path):
    cache = Cache(tmp_path / "cache")
    (tmp_path / "src" / "sub").mkdir(parents=True)
    with pytest.raises(ValueError, match="plain files"):
        cache.put_dir("k", "key", tmp_path / "src")


def test_cache_directory_fuzz_never_returns_altered_files(tmp_path):
    import random

    cache = Cache(tmp_path / "cache")
    _, stored = _entry(tmp_path, cache)
    rng = random.Random(0)
    originals = {p.name: p.read_bytes() for p in stored.iterdir()}
    for _i in range(150):
        if not stored.exists():
            _entry(tmp_path, cache)
        name = rng.choice(sorted(originals))
        blob = bytearray(originals[name])
        j = rng.randrange(len(blob))
        blob[j] = (blob[j] + rng.randrange(1, 256)) % 256
        (stored / name).write_bytes(bytes(blob))
        got = cache.get_dir("k", "key")  # never raises
        if got is not None:  # only a change that leaves the content as recorded
            assert all((stored / n).read_bytes() == originals[n] for n in originals if n != "manifest.json")
            assert got[1] == {"n": 5}
            for n, data in originals.items():
                (stored / n).write_bytes(data)
        else:
            assert not stored.exists()  # discarded


def test_stale_staging_directories_are_removed(tmp_path):
    cache = Cache(tmp_path / "cache")
    old = cache.staging_dir("k")
    (old / "partial.txt").write_text("half written")
    os.utime(old, (0, 0))
    fresh = cache.staging_dir("k")
    assert fresh.exists() and not old.exists()
    assert cache.staging_dir("k") != fresh and fresh.exists()  # a recent one (maybe in use) is kept


# -------------------------------------------------------------------------------------------- iterate


@pytest.fixture
def corpus(files) -> TokenCorpus:
    return build_corpus(files, "content", PreprocessConfig(), cache=Cache(None), n_jobs=1, progress=False)


def test_iterate_excludes_by_hash_and_counts_the_dropped_texts(corpus):
    tokens = preprocess(TEXTS)
    excluded = {text_hash(TEXTS[0]), text_hash(TEXTS[3]), text_hash("not in the corpus")}
    view = corpus.iterate(exclude=excluded)
    assert view.dropped == 3  # TEXTS[0] occurs twice
    assert view.kept == len(TEXTS) - 3
    kept = [t for text, t in zip(TEXTS, tokens) if text_hash(text) not in excluded and t]
    assert list(view) == kept
    as_array = corpus.iterate(exclude=np.array(sorted(excluded), dtype=np.uint64))
    assert as_array.dropped == 3 and list(as_array) == kept
    assert view.kept_hashes().tolist() == sorted({text_hash(t) for t in TEXTS} - excluded)


def test_iterate_is_reiterable_and_yields_extra_first(corpus):
    extra = [["가", "나"], [], ("다",)]
    view = corpus.iterate(extra=extra)
    first, second = list(view), list(view)
    assert first == second and view.passes == 2
    assert first[:2] == [["가", "나"], ["다"]]
    assert first[2:] == [t for t in preprocess(TEXTS) if t]
    it1, it2 = iter(view), iter(view)  # independent iterators
    assert next(it1) == next(it2) == ["가", "나"]


@pytest.mark.parametrize("bad", [{-1}, {2**64}, {"abc"}, {1.5}, np.array([1, 2], dtype=np.int64)])
def test_iterate_refuses_what_is_not_a_hash(corpus, bad):
    with pytest.raises(ConfigError, match="exclude"):
        corpus.iterate(exclude=bad)


def test_train_fasttext_on_the_corpus_equals_training_in_memory(corpus):
    cfg = FastTextConfig(dim=8, epochs=2, min_count=1, workers=1, seed=3, min_n=2, max_n=3)
    extra = [["영화", "최고"], ["대출", "상담"]]
    excluded = {text_hash(TEXTS[1])}
    view = corpus.iterate(exclude=excluded, extra=extra)
    in_memory = extra + [t for text, t in zip(TEXTS, preprocess(TEXTS)) if text_hash(text) not in excluded]
    streamed = train_fasttext(view, cfg)
    assert view.passes == 1 + cfg.epochs  # the vocabulary scan and each epoch; nothing else
    reference = train_fasttext(in_memory, cfg)
    assert streamed.wv.index_to_key == reference.wv.index_to_key
    assert streamed.wv.bucket == reference.wv.bucket
    for name in ("vectors", "vectors_vocab", "vectors_ngrams"):
        assert np.array_equal(getattr(streamed.wv, name), getattr(reference.wv, name)), name
    assert streamed.nlp_pp_words_trained == reference.nlp_pp_words_trained


# ------------------------------------------------------------------------------------------- pretrain

SMALL_FT = FastTextConfig(dim=8, epochs=1, min_count=1, workers=1, seed=0, min_n=2, max_n=3)


def test_pretrain_writes_vectors_whose_meta_and_hashes_round_trip(files, tmp_path):
    cfg = PreprocessConfig()
    excluded = {text_hash(TEXTS[2]), text_hash(TEXTS[5])}
    out = tmp_path / "pretrained.npz"
    stats = pretrain(
        files,
        out,
        preprocess=cfg,
        fasttext=SMALL_FT,
        cache=Cache(tmp_path / "cache"),
        n_jobs=1,
        exclude=excluded,
        progress=False,
    )
    wv, meta, arrays = load_vectors(out, arrays=True)
    assert meta["format"] == PRETRAINED_FORMAT
    assert meta["preprocess"] == cfg.to_dict() and meta["preprocess_fingerprint"] == cfg.fingerprint()
    assert meta["fasttext"] == {
        **SMALL_FT.to_dict(),
        "bucket": PRETRAIN_BUCKET,
        "max_vocab_size": DEFAULT_MAX_VOCAB_SIZE,
    }
    assert stats["bucket"] == PRETRAIN_BUCKET == wv.bucket
    assert meta["corpus"] == stats
    assert (
        stats["texts"] == len(TEXTS) and stats["excluded"] == 2 and stats["texts_trained"] == len(TEXTS) - 2
    )
    assert stats["sentences"] == len(TEXTS) - 3  # and "@@@" has no token
    assert stats["vocabulary"] == len(wv) and stats["words_trained"] > 0
    assert [f["path"] for f in stats["files"]] == [str(f) for f in files]
    hashes = arrays["text_hashes"]
    assert hashes.dtype == np.uint64
    assert hashes.tolist() == sorted({text_hash(t) for t in TEXTS} - excluded)
    assert stats["text_hashes"] == len(hashes)
    check_pretrained(meta, cfg, 8)
    assert overlap(hashes, excluded) == 0
    assert overlap(hashes, {text_hash(TEXTS[0]), text_hash(TEXTS[2])}) == 1
    assert load_vectors(out)[1] == meta  # the two-value form still works


def test_pretrain_bucket_count_is_fixed_whatever_the_corpus(tmp_path):
    """The n-gram table does not grow with the corpus's vocabulary (pretrain memory), unless asked."""
    small = write_lines(tmp_path / "small.txt", TEXTS[:4], "utf-8")
    more = [f"{t} 단어{i} 문장{i}" for i, t in enumerate(TEXTS * 3)]
    large = write_lines(tmp_path / "large.txt", TEXTS + more, "utf-8")
    stats = {}
    for name, path, ft in (
        ("small", small, SMALL_FT),
        ("large", large, SMALL_FT),
        ("asked", large, replace(SMALL_FT, bucket=5000)),
    ):
        stats[name] = pretrain(
            [path],
            tmp_path / f"{name}.npz",
            preprocess=PreprocessConfig(),
            fasttext=ft,
            cache=Cache(tmp_path / "cache"),
            n_jobs=1,
            progress=False,
        )
    assert stats["small"]["vocabulary"] < stats["large"]["vocabulary"]
    assert stats["small"]["bucket"] == stats["large"]["bucket"] == PRETRAIN_BUCKET
    assert stats["asked"]["bucket"] == 5000 == load_vectors(tmp_path / "asked.npz")[0].bucket


def test_check_pretrained_rejects_other_preprocessing_or_dimension():
    cfg = PreprocessConfig()
    meta = {
        "format": PRETRAINED_FORMAT,
        "preprocess": cfg.to_dict(),
        "preprocess_fingerprint": cfg.fingerprint(),
        "fasttext": {"dim": 100},
    }
    check_pretrained(meta, cfg, 100)
    with pytest.raises(ConfigError) as e:
        check_pretrained(meta, PreprocessConfig(keep_jamo=False, jamo=False), 100)
    msg = one_line(e, "other preprocessing", "jamo True -> False", "keep_jamo True -> False")
    assert "lowercase" not in msg  # only the options that differ
    with pytest.raises(ConfigError) as e:
        check_pretrained({**meta, "preprocess_fingerprint": "0" * 16}, cfg, 100)
    one_line(e, "stopword list's contents or the preprocessing version")
    with pytest.raises(ConfigError) as e:
        check_pretrained(meta, cfg, 64)
    one_line(e, "dimension 100", "uses 64", "--emb-dim 100")
    with pytest.raises(ConfigError) as e:
        check_pretrained({"words_trained": 10}, cfg, 100)
    one_line(e, "not written by nlp_pp's pretrain")


def test_overlap_counts_the_hashes_seen():
    seen = hash_texts(["a", "b", "c"])
    assert overlap(seen, {text_hash("a"), text_hash("c"), text_hash("z")}) == 2
    assert overlap(seen, set()) == 0
    assert overlap(np.zeros(0, dtype=np.uint64), {text_hash("a")}) == 0
    assert overlap(seen, [text_hash("a"), text_hash("a")]) == 1  # distinct texts
    with pytest.raises(ConfigError, match="uint64"):
        overlap(seen.astype(np.int64), {1})


def test_file_kind_is_decided_by_the_suffix():
    assert unl.file_kind("a.CSV") == "csv" and unl.file_kind("a.tsv") == "tsv"
    assert unl.file_kind("a.txt") == unl.file_kind("a") == unl.file_kind("a.csv.gz") == "text"


def test_new_texts_leave_out_the_labelled_ones_and_repeats_across_files(tmp_path):
    from nlp_pp.text.stream import iter_new_texts

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("하나\n둘\n하나\n셋\n", encoding="utf-8")
    b.write_text("둘\n넷\n라벨\n", encoding="utf-8")
    chunks = list(iter_new_texts([a, b], "document", ["라벨", "셋"], chunk_size=2))
    assert [t for c in chunks for t in c] == ["하나", "둘", "넷"] and all(chunks)
