"""Tests of nlp_pp.vectors.fasttext: FastText training really trains, save/load, .vec files, embedding
matrix."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from nlp_pp.errors import ConfigError, DataError, RunError
from nlp_pp.text.hangul import decompose
from nlp_pp.vectors.fasttext import (
    FastTextConfig,
    auto_bucket,
    bucket_count,
    embedding_matrix,
    load_pretrained_vectors,
    nearest_neighbours,
    train_fasttext,
)
from nlp_pp.vectors.storage import load_vectors, save_vectors
from nlp_pp.vectors.vocab import PAD_IDX, UNK_IDX, Vocab

WORDS = [
    decompose(w)
    for w in [
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
    ]
] + ["PHONE", "URL", "MONEY"]
SMALL = dict(dim=16, epochs=3, min_count=1, workers=1, seed=0)


def corpus(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.choice(WORDS, size=8).tolist() for _ in range(n)]


@pytest.fixture(scope="module")
def model():
    return train_fasttext(corpus(), **SMALL)


def untrained(sentences, cfg: FastTextConfig):
    """The same gensim model train_fasttext builds, with build_vocab only: its initial vectors."""
    from gensim.models import FastText

    m = FastText(
        vector_size=cfg.dim,
        window=cfg.window,
        min_count=cfg.min_count,
        min_n=cfg.min_n,
        max_n=cfg.max_n,
        sg=cfg.sg,
        workers=cfg.workers,
        seed=cfg.seed,
        bucket=cfg.bucket or auto_bucket(sentences, cfg.min_count),
    )
    m.build_vocab(corpus_iterable=sentences)
    return m


def test_config_defaults():
    cfg = FastTextConfig()
    assert cfg.to_dict() == {
        "dim": 100,
        "window": 5,
        "min_count": 3,
        "min_n": 3,
        "max_n": 6,
        "epochs": 10,
        "sg": 1,
        "workers": 1,
        "seed": 0,
        "bucket": None,
    }


def test_bucket_count_follows_the_corpus(model):
    # gensim's default 2M buckets would cost 2M x dim floats per model; nlp_pp sizes them to the corpus
    assert model.wv.bucket == auto_bucket(corpus(), SMALL.get("min_count", 3)) == 20_000
    assert auto_bucket([[f"w{i}" for i in range(10_000)]] * 3, 3) == 160_000
    assert auto_bucket([[f"w{i}" for i in range(200_000)]] * 3, 3) == 2_000_000


def test_training_really_happened(model):
    cfg = FastTextConfig(**SMALL)
    init_a, init_b = untrained(corpus(), cfg), untrained(corpus(), cfg)
    # the initialisation is deterministic for a seed, so a difference below is due to training
    assert np.array_equal(init_a.wv.vectors, init_b.wv.vectors)
    assert model.wv.index_to_key == init_a.wv.index_to_key
    assert model.wv.vectors.shape == init_a.wv.vectors.shape == (len(WORDS), 16)
    assert not np.allclose(model.wv.vectors, init_a.wv.vectors, atol=1e-3)
    assert not np.allclose(model.wv.vectors_ngrams, init_a.wv.vectors_ngrams)
    assert model.nlp_pp_words_trained > 0
    # gensim counts effective words: about epochs * corpus words, here without subsampling losses
    assert model.nlp_pp_words_trained <= 3 * 300 * 8


def test_training_is_reproducible_with_one_worker(model):
    again = train_fasttext(corpus(), **SMALL)
    assert np.array_equal(again.wv.vectors, model.wv.vectors)


def test_config_object_and_keywords():
    m = train_fasttext(corpus(60), FastTextConfig(**SMALL))
    assert m.wv.vector_size == 16 and m.nlp_pp_words_trained > 0


@pytest.mark.parametrize("workers", [-1, -2, 1.5, True])
def test_bad_workers_is_config_error(workers):
    # gensim starts `range(workers)` worker threads: with workers=-1 it starts none, model.train() returns
    # (0, 0) after logging only "supplied example count (0) did not equal expected count" warnings, and the
    # vectors silently keep their random initialisation. nlp_pp refuses such values instead.
    with pytest.raises(ConfigError, match="workers"):
        train_fasttext(corpus(20), dim=16, epochs=1, min_count=1, workers=workers)


def test_workers_zero_means_every_core():
    assert train_fasttext(corpus(20), dim=16, epochs=1, min_count=1, workers=0).workers >= 1


def test_gensim_trains_nothing_with_workers_minus_one():
    """The reason for the check above, shown on gensim itself."""
    from gensim.models import FastText

    sentences = corpus(30)
    m = FastText(vector_size=8, min_count=1, workers=-1, seed=0)
    m.build_vocab(corpus_iterable=sentences)
    before = m.wv.vectors.copy()
    gensim_log = logging.getLogger("gensim")
    level = gensim_log.level
    gensim_log.setLevel(logging.ERROR)
    try:
        assert m.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=1) == (0, 0)
    finally:
        gensim_log.setLevel(level)
    assert np.array_equal(m.wv.vectors, before)


@pytest.mark.parametrize(
    "bad", [dict(dim=0), dict(epochs=0), dict(window=0), dict(min_count=0), dict(min_n=5, max_n=3)]
)
def test_bad_options_are_config_errors(bad):
    with pytest.raises(ConfigError):
        train_fasttext(corpus(20), **{**SMALL, **bad})


@pytest.mark.parametrize("sentences", [[], [[], []]])
def test_empty_corpus_is_data_error(sentences):
    with pytest.raises(DataError, match="no tokens"):
        train_fasttext(sentences, **SMALL)


def test_no_frequent_token_is_data_error():
    with pytest.raises(DataError, match="min-count"):
        train_fasttext([["a", "b"], ["c"]], **{**SMALL, "min_count": 3})


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "fasttext.model"
    save_vectors(model.wv, path)
    wv, _ = load_vectors(path)
    assert wv.index_to_key == model.wv.index_to_key
    assert np.array_equal(wv.vectors, model.wv.vectors)
    assert np.array_equal(wv.vectors_ngrams, model.wv.vectors_ngrams)
    oov = decompose("대출상담")
    assert oov not in wv.key_to_index
    assert np.array_equal(wv[oov], model.wv[oov])


def test_load_vectors_errors(tmp_path):
    with pytest.raises(RunError, match=r"missing\.model"):
        load_vectors(tmp_path / "missing.model")
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"this is not a pickle")
    with pytest.raises(RunError, match=r"junk\.model"):
        load_vectors(junk)


VEC = "3 4\n대출 1 0 0 0\n상담 0 1 0 0\nurl 0 0 1 0.5\n"


def test_load_pretrained_vec_file(tmp_path):
    p = tmp_path / "vectors.vec"
    p.write_text(VEC, encoding="utf-8")
    kv = load_pretrained_vectors(p)
    assert kv.index_to_key == ["대출", "상담", "url"]
    assert kv.vector_size == 4
    assert kv["url"].tolist() == [0.0, 0.0, 1.0, 0.5]


def test_load_pretrained_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_pretrained_vectors(tmp_path / "missing.vec")
    bad = tmp_path / "bad.vec"
    bad.write_text("not a header\nfoo bar\n", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read pretrained vectors") as e:
        load_pretrained_vectors(bad)
    assert "\n" not in str(e.value)


def test_load_pretrained_facebook_bin_keeps_ngrams(model, tmp_path):
    from gensim.models.fasttext import save_facebook_model

    p = tmp_path / "vectors.bin"
    save_facebook_model(model, str(p))
    wv = load_pretrained_vectors(p)
    assert wv.index_to_key == model.wv.index_to_key
    assert np.allclose(wv[WORDS[0]], model.wv[WORDS[0]], atol=1e-6)
    oov = decompose("대출상담")
    assert np.allclose(wv[oov], model.wv[oov], atol=1e-6)


def test_embedding_matrix_with_fasttext(model):
    oov = decompose("대출상담")  # not a FastText key: built from its character n-grams
    assert oov not in model.wv.key_to_index
    vocab = Vocab(["<PAD>", "<UNK>", WORDS[0], WORDS[5], "PHONE", oov])
    matrix, stats = embedding_matrix(vocab, model.wv)
    assert matrix.shape == (len(vocab), 16) and matrix.dtype == np.float32
    assert not matrix[PAD_IDX].any()
    assert matrix[UNK_IDX].any()  # UNK: small random values
    assert np.abs(matrix[UNK_IDX]).max() < 1.0
    for word in (WORDS[0], WORDS[5], "PHONE"):
        assert np.array_equal(matrix[vocab.stoi[word]], model.wv[word])
    assert np.array_equal(matrix[vocab.stoi[oov]], model.wv[oov])
    assert stats == {"in_vectors": 3, "from_ngrams": 1, "coverage": 1.0}


def test_embedding_matrix_is_seeded(model):
    vocab = Vocab(["<PAD>", "<UNK>", WORDS[0]])
    a, _ = embedding_matrix(vocab, model.wv, seed=1)
    b, _ = embedding_matrix(vocab, model.wv, seed=1)
    c, _ = embedding_matrix(vocab, model.wv, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a[UNK_IDX], c[UNK_IDX])


def test_embedding_matrix_with_plain_vectors(tmp_path):
    p = tmp_path / "vectors.vec"
    p.write_text(VEC, encoding="utf-8")
    kv = load_pretrained_vectors(p)
    vocab = Vocab(["<PAD>", "<UNK>", "대출", "상담", "없는말"])
    matrix, stats = embedding_matrix(vocab, kv)
    assert matrix.shape == (5, 4)
    assert matrix[0].tolist() == [0.0] * 4
    assert matrix[2].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert matrix[3].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert matrix[4].any()  # a word the .vec lacks: random, not zero
    assert stats == {"in_vectors": 2, "from_ngrams": 0, "coverage": pytest.approx(2 / 3)}
    with pytest.raises(ConfigError, match="dim"):
        embedding_matrix(vocab, kv, dim=5)


def test_nearest_neighbours(model):
    out = nearest_neighbours(model.wv, [WORDS[0], WORDS[1]], topn=3)
    assert list(out) == [WORDS[0], WORDS[1]]
    for word, pairs in out.items():
        assert len(pairs) == 3
        assert all(k != word and k in model.wv.key_to_index for k, _ in pairs)
        sims = [s for _, s in pairs]
        assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
        assert all(isinstance(s, float) for s in sims)


def test_nearest_neighbours_skips_unknown_words_of_plain_vectors(tmp_path):
    p = tmp_path / "vectors.vec"
    p.write_text("3 2\n대출 1 0\n상담 0.8 0.6\nurl 0 1\n", encoding="utf-8")
    kv = load_pretrained_vectors(p)
    out = nearest_neighbours(kv, ["대출", "없는말"], topn=2)
    assert out == {"대출": [("상담", 0.8), ("url", 0.0)]}  # cosine similarities, rounded


# ------------------------------------------------------------------------------------------ streaming


class Reiterable:
    """A corpus that can be iterated again and again but not measured or indexed (like one on disk)."""

    def __init__(self, sentences):
        self._sentences = sentences
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        for s in self._sentences:
            yield tuple(s)  # not even lists


def gensim_reference(sentences, cfg: FastTextConfig):
    """What train_fasttext did before streaming: gensim's own build_vocab on a list, then train."""
    from gensim.models import FastText

    sentences = [list(s) for s in sentences if s]
    m = FastText(
        vector_size=cfg.dim,
        window=cfg.window,
        min_count=cfg.min_count,
        min_n=cfg.min_n,
        max_n=cfg.max_n,
        sg=cfg.sg,
        workers=cfg.workers,
        seed=cfg.seed,
        bucket=cfg.bucket or auto_bucket(sentences, cfg.min_count),
    )
    m.build_vocab(corpus_iterable=sentences)
    m.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=cfg.epochs)
    return m


@pytest.mark.parametrize("options", [SMALL, {**SMALL, "min_count": 3, "sg": 0}, {**SMALL, "bucket": 5000}])
def test_same_model_as_gensims_own_build_vocab(options):
    cfg = FastTextConfig(**options)
    sentences = corpus(200, seed=1) + [[], ["드문", "단어"]]
    ours = train_fasttext(sentences, cfg)
    ref = gensim_reference(sentences, cfg)
    assert ours.wv.index_to_key == ref.wv.index_to_key and ours.wv.bucket == ref.wv.bucket
    for name in ("vectors", "vectors_vocab", "vectors_ngrams"):
        assert np.array_equal(getattr(ours.wv, name), getattr(ref.wv, name)), name
    assert ours.corpus_count == 201 and ours.corpus_total_words == 200 * 8 + 2


def test_a_reiterable_corpus_is_streamed_not_copied():
    sentences = corpus(150, seed=2)
    stream = Reiterable(sentences + [[]])
    streamed = train_fasttext(stream, **SMALL)
    assert stream.passes == 1 + SMALL["epochs"]  # one vocabulary scan, one pass per epoch
    in_memory = train_fasttext(sentences, **SMALL)
    assert np.array_equal(streamed.wv.vectors, in_memory.wv.vectors)
    assert streamed.wv.bucket == auto_bucket(sentences, SMALL["min_count"])


def test_a_one_shot_generator_is_read_into_memory():
    sentences = corpus(100, seed=3)
    model = train_fasttext((s for s in sentences), **SMALL)
    assert np.array_equal(model.wv.vectors, train_fasttext(sentences, **SMALL).wv.vectors)


def test_bucket_count_rule():
    assert bucket_count(0) == bucket_count(1250) == 20_000
    assert bucket_count(10_000) == 160_000
    assert bucket_count(10**6) == 2_000_000


def test_max_vocab_size_bounds_the_scan():
    rare = [[f"희귀{i}" for i in range(j * 10, j * 10 + 10)] for j in range(30)]  # 300 words seen once
    sentences = corpus(100) + rare
    full = train_fasttext(sentences, **SMALL)
    bounded = train_fasttext(sentences, **SMALL, max_vocab_size=50)
    assert len(full.wv) == len(WORDS) + 300
    # rare words were pruned while scanning (those after the last pruning stay); the frequent ones all kept
    assert set(WORDS) <= set(bounded.wv.index_to_key) and len(bounded.wv) < len(WORDS) + 100
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ConfigError, match="max_vocab_size"):
            train_fasttext(sentences, **SMALL, max_vocab_size=bad)


def test_a_bare_string_is_refused():
    with pytest.raises(TypeError, match="token lists"):
        train_fasttext("대출 상담", **SMALL)
