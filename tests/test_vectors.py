"""Tests of nlp_pp.vectors.storage: pickle-free word vector files, exact round trips, damaged and crafted
files."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nlp_pp.vectors.storage as vectors_mod
from nlp_pp.errors import RunError
from nlp_pp.text.hangul import decompose
from nlp_pp.vectors.storage import FORMAT, load_vectors, save_vectors

SYLLABLES = [
    "대출",
    "상담",
    "무료",
    "쿠폰",
    "영화",
    "재밌",
    "어요",
    "오늘",
    "저녁",
    "같이",
    "먹자",
    "이벤트",
    "클릭",
    "지급",
    "회의",
    "내일",
    "엄마",
    "도착",
    "주말",
    "보러",
]
WORDS = [decompose(w) for w in SYLLABLES] + ["PHONE", "URL", "!", "^^"]
OOV = [decompose(w) for w in ["대출상담", "무료쿠폰", "내일저녁", "영화관"]] + ["PHONES", "쿠폰", "ㅋㅋ"]
META = {
    "preprocess": {"tokenizer": "MeCab", "jamo": True, "불용어": ["은", "는"]},
    "corpus": {"texts": 40},
    "설명": "한국어 메타데이터",
    "ratio": 0.25,
    "none": None,
}


def sentences(n: int = 40, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [rng.choice(WORDS, size=int(rng.integers(4, 10))).tolist() for _ in range(n)]


@pytest.fixture(scope="module")
def model():
    from gensim.models import FastText

    return FastText(sentences(), vector_size=16, min_count=1, workers=1, epochs=1, bucket=2000, seed=0)


@pytest.fixture
def saved(model, tmp_path) -> Path:
    path = tmp_path / "fasttext.vectors"
    save_vectors(model.wv, path, META)
    return path


def run_error(path, *needles: str) -> str:
    """``load_vectors(path)`` raises a one-line RunError naming the file and containing ``needles``."""
    with pytest.raises(RunError) as info:
        load_vectors(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg, msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def rewrite(src: Path, dst: Path, **changes) -> Path:
    """Copy a vectors file with some arrays replaced (``None`` drops one), written by plain numpy.savez."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    with open(dst, "wb") as f:
        np.savez(f, **arrays)
    return dst


# ------------------------------------------------------------------------------------------ round trip


def test_fasttext_round_trip_in_vocabulary(model, saved):
    from gensim.models.fasttext import FastTextKeyedVectors

    wv, meta = load_vectors(saved)
    assert isinstance(wv, FastTextKeyedVectors)
    assert meta == META
    assert wv.index_to_key == model.wv.index_to_key
    assert wv.key_to_index == model.wv.key_to_index
    assert (wv.vector_size, wv.min_n, wv.max_n, wv.bucket) == (16, model.wv.min_n, model.wv.max_n, 2000)
    for name in ("vectors", "vectors_vocab", "vectors_ngrams"):
        assert getattr(wv, name).dtype == np.float32
        assert np.array_equal(getattr(wv, name), getattr(model.wv, name)), name
    for word in model.wv.index_to_key:
        assert np.array_equal(wv[word], model.wv[word]), word
    assert all(wv.get_vecattr(w, "count") == model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key)
    # what adjust_vectors()/training need is rebuilt as gensim's own load does
    assert len(wv.buckets_word) == len(model.wv.buckets_word)
    assert all(np.array_equal(a, b) for a, b in zip(wv.buckets_word, model.wv.buckets_word))


def test_fasttext_round_trip_out_of_vocabulary(model, saved):
    wv, _ = load_vectors(saved)
    for word in OOV:
        assert word not in model.wv.key_to_index
        expected = model.wv[word]  # composed from the character n-gram buckets
        assert np.any(expected != 0), word
        assert np.array_equal(wv[word], expected), word


def test_fasttext_most_similar_equal(model, saved):
    wv, _ = load_vectors(saved)
    for word in model.wv.index_to_key[:8] + OOV[:2]:
        assert wv.most_similar(word, topn=5) == model.wv.most_similar(word, topn=5), word
    assert wv.similarity(WORDS[0], OOV[0]) == model.wv.similarity(WORDS[0], OOV[0])


def test_fasttext_without_ngrams_round_trip(tmp_path):
    from gensim.models import FastText

    m = FastText(sentences(10), vector_size=4, min_count=1, workers=1, epochs=1, bucket=0, seed=0)
    path = tmp_path / "no_ngrams"
    save_vectors(m.wv, path)
    wv, _ = load_vectors(path)
    assert wv.bucket == 0 and wv.vectors_ngrams.shape == (0, 4)
    assert np.array_equal(wv.vectors, m.wv.vectors)
    with pytest.raises(KeyError):
        wv[OOV[0]]


def test_plain_keyed_vectors_round_trip(tmp_path):
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import FastTextKeyedVectors

    rng = np.random.default_rng(1)
    vec = tmp_path / "pretrained.vec"
    words = WORDS[:10]
    lines = [f"{len(words)} 8"] + [w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=8)) for w in words]
    vec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kv = KeyedVectors.load_word2vec_format(str(vec), binary=False)
    path = tmp_path / "plain.bin"
    save_vectors(kv, path, {"source": "pretrained.vec"})
    wv, meta = load_vectors(path)
    assert type(wv) is KeyedVectors and not isinstance(wv, FastTextKeyedVectors)
    assert meta == {"source": "pretrained.vec"}
    assert wv.index_to_key == kv.index_to_key and np.array_equal(wv.vectors, kv.vectors)
    assert wv.most_similar(words[0]) == kv.most_similar(words[0])
    with pytest.raises(KeyError):
        wv["없는단어"]  # no n-grams: unknown words stay unknown
    # a plain KeyedVectors keeps working as one: adding keys later
    wv.add_vectors(["새단어"], np.ones((1, 8), dtype=np.float32))
    assert wv.index_to_key[-1] == "새단어" and len(wv) == len(words) + 1


def test_unusual_keys_and_dtypes_round_trip(tmp_path):
    from gensim.models import KeyedVectors

    keys = ["가", "a b", "줄\n바꿈", "🙂", "", "tab\tx", "ㄱㅏ", "x" * 300]
    kv = KeyedVectors(vector_size=3, dtype=np.float64)
    kv.add_vectors(keys, np.arange(len(keys) * 3, dtype=np.float64).reshape(-1, 3))
    path = tmp_path / "odd"
    save_vectors(kv, path)
    wv, meta = load_vectors(path)
    assert meta == {}
    assert wv.index_to_key == keys and wv.vectors.dtype == np.float64
    assert np.array_equal(wv.vectors, kv.vectors)


def test_meta_round_trip_is_exact(tmp_path, model):
    meta = {"한글 키": "값 ㄱㄴㄷ 🙂", "nested": {"list": [1, 2.5, "삼", None, True]}, "empty": {}}
    path = tmp_path / "v"
    save_vectors(model.wv, path, meta)
    assert load_vectors(path)[1] == meta


def test_meta_must_be_a_json_dict(tmp_path, model):
    with pytest.raises(TypeError, match="JSON"):
        save_vectors(model.wv, tmp_path / "v", {"bad": object()})
    with pytest.raises(TypeError, match="dict"):
        save_vectors(model.wv, tmp_path / "v", ["not", "a", "dict"])
    with pytest.raises(TypeError, match="KeyedVectors"):
        save_vectors(model, tmp_path / "v")  # the model, not model.wv
    assert list(tmp_path.iterdir()) == []


def test_file_name_is_exactly_path_and_only_plain_arrays(saved, model):
    assert sorted(p.name for p in saved.parent.iterdir()) == ["fasttext.vectors"]
    # a standard .npz that numpy reads with pickle disabled; no object arrays
    with np.load(saved, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    assert str(arrays["format"]) == FORMAT and str(arrays["kind"]) == "fasttext"
    assert json.loads(str(arrays["meta"])) == META
    assert all(a.dtype.kind in "Uuif" for a in arrays.values())
    assert arrays["vocab_utf8"].dtype == np.uint8 and arrays["vocab_offsets"].dtype == np.int64
    assert arrays["vocab_offsets"].shape == (len(model.wv) + 1,)
    assert arrays["vectors_ngrams"].shape == (2000, 16)
    assert arrays["ngram_params"].tolist() == [model.wv.min_n, model.wv.max_n, 2000]
    with zipfile.ZipFile(saved) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


def test_overwrite_replaces_and_a_numpy_savez_copy_loads(saved, tmp_path, model):
    save_vectors(model.wv, saved, {"second": True})  # replace an existing file
    assert load_vectors(saved)[1] == {"second": True}
    copy = rewrite(saved, tmp_path / "copy.npz")
    wv, _ = load_vectors(copy)
    assert np.array_equal(wv[OOV[0]], model.wv[OOV[0]])


# ------------------------------------------------------------------------------------- refused files


class _Payload:
    """Unpickling this creates ``marker`` (stands for any code a crafted pickle could run)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_pickle_file_is_refused_without_running_it(tmp_path):
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe))).close()
    assert probe.exists(), "the payload must really create its marker when unpickled"

    marker = tmp_path / "marker"
    path = tmp_path / "vectors.npz"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    run_error(path, "pickle")
    assert not marker.exists()
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=0))  # a protocol-0 pickle has no \x80 prefix
    run_error(path)
    assert not marker.exists()


def test_gensim_save_file_is_refused(tmp_path, model):
    path = tmp_path / "fasttext.model"
    model.save(str(path))
    run_error(path, "pickle")


def test_object_array_in_a_valid_archive_is_refused(saved, tmp_path):
    marker = tmp_path / "marker"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    for name in ("meta", "vectors", "attr_count", "extra"):
        path = rewrite(saved, tmp_path / f"evil_{name}", **{name: evil})
        run_error(path)
        assert not marker.exists()


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"format": np.array("nlp_pp.vectors/2")}, "not supported"),
        ({"format": np.array("something else")}, "unknown format"),
        ({"format": None}, "missing"),
        ({"kind": np.array("word2vec")}, "kind"),
        ({"meta": np.array("[1, 2]")}, "meta"),
        ({"meta": np.array("{not json")}, "damaged"),
        ({"vectors": np.zeros((3, 16), dtype=np.float32)}, "vectors"),
        ({"vectors": np.zeros((24, 16), dtype=np.float64)}, "float64"),
        ({"vectors_vocab": np.zeros((24, 15), dtype=np.float32)}, "vectors_vocab"),
        ({"vectors_ngrams": np.zeros((1999, 16), dtype=np.float32)}, "vectors_ngrams"),
        ({"ngram_params": np.array([3, 6, 4000])}, "vectors_ngrams"),
        ({"ngram_params": np.array([3, 6, -1])}, "n-gram"),
        ({"vocab_offsets": np.arange(25, dtype=np.int64)}, "offsets"),
        ({"vocab_utf8": np.full(5, 0xFF, dtype=np.uint8)}, "offsets"),
        ({"vectors": np.zeros((24, 16), dtype=">f4")}, "dtype"),
        ({"vectors": np.zeros((16, 24), dtype=np.float32).T}, "Fortran"),
        ({"attr_count": np.arange(3)}, "attr_count"),
        ({"extra": np.arange(3)}, "unexpected member"),
    ],
)
def test_inconsistent_or_crafted_arrays_are_refused(saved, tmp_path, model, change, needle):
    assert len(model.wv) == 24  # the shapes above are for this vocabulary
    run_error(rewrite(saved, tmp_path / "bad", **change), needle)


def test_duplicate_or_invalid_vocabulary_is_refused(saved, tmp_path):
    two = np.frombuffer(b"abab", dtype=np.uint8)
    kv = dict(
        vectors=np.zeros((2, 16), np.float32),
        vectors_vocab=np.zeros((2, 16), np.float32),
        attr_count=np.zeros(2, np.int64),
        attr_sample_int=np.zeros(2, np.uint32),
    )
    run_error(
        rewrite(saved, tmp_path / "dup", vocab_utf8=two, vocab_offsets=np.array([0, 2, 4]), **kv), "duplicate"
    )
    bad = np.frombuffer(b"ab\xff\xfe", dtype=np.uint8)
    run_error(
        rewrite(saved, tmp_path / "utf", vocab_utf8=bad, vocab_offsets=np.array([0, 2, 4]), **kv), "UTF-8"
    )


def test_compressed_or_oversized_header_is_refused(saved, tmp_path):
    with np.load(saved, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    path = tmp_path / "compressed"
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    run_error(path, "compressed")
    # a header claiming far more rows than the member holds: refused before allocating anything
    header = np.lib.format.header_data_from_array_1_0(np.zeros((2000, 16), np.float32))
    header["shape"] = (10**12, 16)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    raw = buf.getvalue() + np.zeros((2000, 16), np.float32).tobytes()
    path = tmp_path / "huge"
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, raw if info.filename == "vectors_ngrams.npy" else src.read(info))
    run_error(path, "vectors_ngrams")


def test_duplicate_member_is_refused(saved, tmp_path):
    path = tmp_path / "duplicate"
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        with pytest.warns(UserWarning, match="Duplicate"):
            dst.writestr("vectors.npy", src.read("vectors.npy"))
    run_error(path, "duplicate")


# ---------------------------------------------------------------------------------- damaged files


def test_truncated_file(saved, tmp_path):
    data = saved.read_bytes()
    for n in (len(data) - 1, len(data) - 30, len(data) // 2, 100, 4, 1):
        path = tmp_path / f"truncated_{n}"
        path.write_bytes(data[:n])
        run_error(path)


def test_one_flipped_byte_in_the_middle(saved, tmp_path, model):
    data = bytearray(saved.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the n-gram vectors
    path = tmp_path / "flipped"
    path.write_bytes(bytes(data))
    run_error(path, "damaged")


def test_every_single_byte_flip_is_caught_or_harmless(tmp_path):
    """Flip bytes all over a small file: a RunError, or (zip timestamps, flags...) exactly the same vectors.

    Every 5th byte keeps the test near one second; all bytes (and 3 bit patterns) were checked once.
    """
    from gensim.models import FastText

    m = FastText(
        [["가나다", "라마", "바사아"], ["라마", "자차"]] * 5,
        vector_size=4,
        min_count=1,
        workers=1,
        epochs=1,
        bucket=10,
        seed=0,
    )
    src = tmp_path / "small"
    save_vectors(m.wv, src, {"x": 1})
    data = src.read_bytes()
    path = tmp_path / "flipped"
    caught = tried = 0
    for i in range(1, len(data), 5):
        tried += 1
        b = bytearray(data)
        b[i] ^= 0x01
        path.write_bytes(bytes(b))
        try:
            wv, meta = load_vectors(path)
        except RunError as e:
            assert "\n" not in str(e) and str(path) in str(e)
            caught += 1
            continue
        assert meta == {"x": 1} and wv.index_to_key == m.wv.index_to_key, i
        assert (wv.min_n, wv.max_n, wv.bucket) == (m.wv.min_n, m.wv.max_n, m.wv.bucket), i
        for name in ("vectors", "vectors_vocab", "vectors_ngrams"):
            assert np.array_equal(getattr(wv, name), getattr(m.wv, name)), (i, name)
        assert wv.expandos.keys() == m.wv.expandos.keys(), i
        assert all(np.array_equal(wv.expandos[k], m.wv.expandos[k]) for k in wv.expandos), i
    assert caught > tried // 2


def test_empty_missing_directory_and_other_files(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    run_error(empty, "empty")
    run_error(tmp_path / "missing", "not found")
    folder = tmp_path / "folder"
    folder.mkdir()
    run_error(folder, "directory")
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    run_error(npy, ".npy")
    text = tmp_path / "vectors.vec"
    text.write_text("2 3\n가 1 2 3\n나 4 5 6\n", encoding="utf-8")
    run_error(text, "not an nlp_pp vectors file")
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "hello")
    run_error(other_zip, "unexpected")


# ------------------------------------------------------------------------------------ write errors


def test_missing_directory_and_directory_destination(tmp_path, model):
    with pytest.raises(RunError, match="does not exist") as info:
        save_vectors(model.wv, tmp_path / "no" / "such" / "v")
    assert "\n" not in str(info.value)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(RunError, match="is a directory"):
        save_vectors(model.wv, folder)
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write to a read-only directory"
)
def test_unwritable_directory(tmp_path, model):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(RunError, match="permission denied") as info:
            save_vectors(model.wv, ro / "v")
        assert str(ro / "v") in str(info.value) and "\n" not in str(info.value)
    finally:
        ro.chmod(0o700)
    assert list(ro.iterdir()) == []


def test_full_disk_mid_write_leaves_old_file_and_no_temporary(saved, model, monkeypatch):
    before = saved.read_bytes()
    calls = []
    real_write_array = np.lib.format.write_array

    def write_array(fp, array, **kwargs):
        calls.append(array.shape)
        if array.shape == model.wv.vectors.shape:  # mid-file, after the vocabulary
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write_array(fp, array, **kwargs)

    monkeypatch.setattr(vectors_mod.npy_format, "write_array", write_array)
    with pytest.raises(RunError) as info:
        save_vectors(model.wv, saved, {"new": 1})
    msg = str(info.value)
    assert msg.startswith("no space left on the device while writing") and str(saved) in msg
    assert "\n" not in msg
    assert len(calls) > 5
    assert saved.read_bytes() == before  # the previous file is intact
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]  # no temporary left behind


def test_permission_error_on_rename(tmp_path, model, monkeypatch):
    def deny(src, dst):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

    monkeypatch.setattr(vectors_mod.os, "replace", deny)
    with pytest.raises(RunError, match="permission denied while writing"):
        save_vectors(model.wv, tmp_path / "v")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------- extra arrays

EXTRA = {
    "text_hashes": np.array([0, 1, 2**63, 2**64 - 1, 12345678901234567890], dtype=np.uint64),
    "flags": np.array([True, False, True]),
    "half": np.array([0.5, -1.25], dtype=np.float16),
    "small": np.array([-128, 127], dtype=np.int8),
    "none_yet": np.zeros(0, dtype=np.uint64),
}


def test_extra_arrays_round_trip_exactly(model, tmp_path):
    path = tmp_path / "with_arrays"
    save_vectors(model.wv, path, META, arrays=EXTRA)
    wv, meta, arrays = load_vectors(path, arrays=True)
    assert meta == META and wv.index_to_key == model.wv.index_to_key
    assert arrays.keys() == EXTRA.keys()
    for name, a in EXTRA.items():
        assert arrays[name].dtype == a.dtype and arrays[name].shape == a.shape, name
        assert np.array_equal(arrays[name], a), name
    assert arrays["text_hashes"].tolist()[3] == 2**64 - 1  # no detour through float or int64
    # the two-value form still works, and a file without extra arrays gives {}
    wv2, meta2 = load_vectors(path)
    assert meta2 == META and np.array_equal(wv2.vectors, model.wv.vectors)
    plain = tmp_path / "plain"
    save_vectors(model.wv, plain)
    assert load_vectors(plain, arrays=True)[2] == {}
    # stored as ordinary members of the same format; a numpy.savez copy loads alike
    with np.load(path, allow_pickle=False) as z:
        assert str(z["format"]) == FORMAT and z["array_text_hashes"].dtype == np.uint64
    copy = rewrite(path, tmp_path / "copy")
    assert np.array_equal(load_vectors(copy, arrays=True)[2]["text_hashes"], EXTRA["text_hashes"])


def test_extra_arrays_share_no_names_with_the_format(model, tmp_path):
    path = tmp_path / "v"
    save_vectors(model.wv, path, arrays={"count": np.arange(3, dtype=np.int64), "vectors": np.ones(2)})
    wv, _, arrays = load_vectors(path, arrays=True)
    assert arrays["count"].tolist() == [0, 1, 2] and arrays["vectors"].tolist() == [1.0, 1.0]
    assert np.array_equal(wv.vectors, model.wv.vectors)
    assert all(wv.get_vecattr(w, "count") == model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key)


@pytest.mark.parametrize(
    "arrays, error, needle",
    [
        ({"x": np.array(["a", "b"])}, TypeError, "dtype <U1"),
        ({"x": np.array([1, "a"], dtype=object)}, TypeError, "dtype object"),
        ({"x": np.zeros(2, dtype=">u8")}, TypeError, "native byte order"),
        ({"x": np.zeros(2, dtype="datetime64[s]")}, TypeError, "datetime64"),
        ({"x": np.zeros(2, dtype=np.complex64)}, TypeError, "complex64"),
        ({"x": np.zeros(2, dtype=[("a", "<i4")])}, TypeError, "dtype"),
        ({"x": [1, 2, 3]}, TypeError, "numpy array"),
        ({"x": np.zeros((2, 2))}, ValueError, "one-dimensional"),
        ({"x": np.float64(1.0)}, TypeError, "numpy array"),
        ({"x": np.array(1.0)}, ValueError, "one-dimensional"),
        ({"1x": np.zeros(2)}, ValueError, "not allowed"),
        ({"a-b": np.zeros(2)}, ValueError, "not allowed"),
        ({"": np.zeros(2)}, ValueError, "not allowed"),
        ({"x" * 65: np.zeros(2)}, ValueError, "not allowed"),
        ({3: np.zeros(2)}, ValueError, "not allowed"),
        ([("x", np.zeros(2))], TypeError, "dict"),
    ],
)
def test_extra_arrays_that_cannot_be_saved(model, tmp_path, arrays, error, needle):
    with pytest.raises(error, match=re.escape(needle)):
        save_vectors(model.wv, tmp_path / "v", arrays=arrays)
    assert list(tmp_path.iterdir()) == []


def test_non_contiguous_extra_array_is_saved_as_its_values(model, tmp_path):
    a = np.arange(10, dtype=np.uint64)[::3]
    save_vectors(model.wv, tmp_path / "v", arrays={"every_third": a})
    assert load_vectors(tmp_path / "v", arrays=True)[2]["every_third"].tolist() == [0, 3, 6, 9]


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"array_text_hashes": np.zeros(3, dtype=">u8")}, "dtype"),
        ({"array_text_hashes": np.zeros(3, dtype=np.complex128)}, "dtype"),
        ({"array_text_hashes": np.array(["a"])}, "dtype"),
        ({"array_text_hashes": np.zeros(3, dtype="datetime64[s]")}, "dtype"),
        ({"array_text_hashes": np.zeros((2, 2), dtype=np.uint64)}, "shape"),
        ({"array_text_hashes": np.zeros((3, 2), dtype=np.uint64).T}, "Fortran"),
        ({"array_1bad": np.zeros(2)}, "unexpected member"),
        ({"array_": np.zeros(2)}, "unexpected member"),
    ],
)
def test_crafted_extra_arrays_are_refused(model, tmp_path, change, needle):
    good = tmp_path / "good"
    save_vectors(model.wv, good, arrays={"text_hashes": np.arange(3, dtype=np.uint64)})
    bad = rewrite(good, tmp_path / "bad", **change)
    run_error(bad, needle)
    with pytest.raises(RunError):
        load_vectors(bad, arrays=True)


def test_object_extra_array_is_refused_without_running_it(model, tmp_path):
    marker = tmp_path / "marker"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    good = tmp_path / "good"
    save_vectors(model.wv, good, arrays={"text_hashes": np.arange(3, dtype=np.uint64)})
    run_error(rewrite(good, tmp_path / "evil", array_text_hashes=evil))
    assert not marker.exists()


def test_damaged_extra_array_is_an_error_even_when_not_asked_for(model, tmp_path):
    path = tmp_path / "v"
    hashes = np.full(50_000, 0x0123456789ABCDEF, dtype=np.uint64)  # the last member: 400 kB
    save_vectors(model.wv, path, arrays={"text_hashes": hashes})
    data = bytearray(path.read_bytes())
    data[len(data) - 200_000] ^= 0x01
    (tmp_path / "flipped").write_bytes(bytes(data))
    run_error(tmp_path / "flipped", "damaged")


def test_a_directory_that_takes_no_files_is_not_called_missing(model):
    if not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    with pytest.raises(RunError, match="/proc does not take new files") as info:
        save_vectors(model.wv, "/proc/v.npz")
    assert "does not exist" not in str(info.value)
