"""Tests of nlp_pp.compat: the design notebook's sequence of calls end to end, each wrapper's shapes,
and each documented difference from NLP_pp.py."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import nlp_pp
import nlp_pp.compat as compat
from nlp_pp import models
from nlp_pp.compat import *
from nlp_pp.errors import ConfigError, DataError
from tests.conftest import ROOT, SAMPLE, closed_port

STOPWORDS = ROOT / "stopwords" / "korean.txt"
NOTEBOOK_NAMES = {
    "df_cleaning",
    "tokenize",
    "download_stopword_list",
    "remove_stopword",
    "decompose_jamo",
    "set_rare_vocab",
    "set_word_to_idx",
    "text_to_sequences",
    "set_sent_pad",
    "pad_seq_x",
    "set_dataloader",
    "build_my_embed",
}


def test_star_import_exports_exactly_the_notebook_names():
    namespace: dict = {}
    exec("from nlp_pp.compat import *", namespace)
    assert set(namespace) - {"__builtins__"} == NOTEBOOK_NAMES == set(compat.__all__)
    assert "compat" not in nlp_pp.__all__ and "compat" not in nlp_pp._LAZY


# --- the notebook, as written in the design (local files instead of downloads) --------------------


@pytest.mark.slow
def test_notebook_sequence_end_to_end():
    from mecab import MeCab
    from sklearn.model_selection import train_test_split

    from nlp_pp import TrainConfig, Trainer
    from nlp_pp.training.trainer import run_epoch

    raw_data = pd.read_csv(SAMPLE).head(400)
    raw_data = pd.concat(
        [raw_data, raw_data.head(5), pd.DataFrame({"content": [None], "class": ["스팸문자"]})]
    )
    raw_data = df_cleaning(raw_data, "content")
    assert len(raw_data) == 400 and list(raw_data.index) == list(range(400))

    raw_x_data = raw_data["content"].tolist()
    y_data = raw_data["class"].map({"일상대화": 0, "스팸문자": 1}).to_numpy()

    word_tokenizer = MeCab()
    tokenized_x_data = tokenize(raw_x_data, word_tokenizer)
    stopword_list = download_stopword_list(str(STOPWORDS))  # the notebook: a GitHub URL
    cl_x_data = remove_stopword(tokenized_x_data, stopword_list)
    jamo_x_data = decompose_jamo(cl_x_data)
    assert len(jamo_x_data) == 400 and not any(t in stopword_list for s in cl_x_data for t in s)

    x_train, x_rest, y_train, y_rest = train_test_split(
        jamo_x_data, y_data, test_size=0.3, stratify=y_data, random_state=0
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0
    )

    # the vocabulary from the training split only (the notebook counted the validation split too)
    word_counts = Counter(t for sent in x_train for t in sent)
    rare_th = 3
    tot_vocab_cnt, rare_vocab_cnt = set_rare_vocab(word_counts, rare_th, report=False)
    vocab = [w for w, _ in word_counts.most_common(tot_vocab_cnt - rare_vocab_cnt)]
    word_to_idx, idx_to_word = set_word_to_idx(["<PAD>", "<UNK>"], vocab, report=True)
    assert len(word_to_idx) == len(idx_to_word) == len(vocab) + 2
    assert set(word_to_idx) - {"<PAD>", "<UNK>"} == {w for w, c in word_counts.items() if c >= rare_th}
    seen_in_val = Counter(t for sent in x_train + x_val for t in sent)
    val_only = {w for w, c in seen_in_val.items() if c >= rare_th and word_counts[w] < rare_th}
    assert val_only and not val_only & set(word_to_idx)

    e_x_train = text_to_sequences(x_train, word_to_idx)
    e_x_val = text_to_sequences(x_val, word_to_idx)
    e_x_test = text_to_sequences(x_test, word_to_idx)
    assert [len(s) for s in e_x_train] == [len(s) for s in x_train]
    assert all(idx_to_word[i] == t or i == 1 for s, e in zip(x_train, e_x_train) for t, i in zip(s, e))

    context_length = 330
    share = set_sent_pad(e_x_train, context_length, report=False)
    assert share == 1.0
    padded_x_train = pad_seq_x(e_x_train, context_length)
    padded_x_val = pad_seq_x(e_x_val, context_length)
    padded_x_test = pad_seq_x(e_x_test, context_length)
    assert padded_x_train.shape == (280, context_length) and padded_x_test.shape == (60, context_length)

    bs = 32
    train_dataloader = set_dataloader(padded_x_train, y_train, bs, "훈련")
    valid_dataloader = set_dataloader(padded_x_val, y_val, bs, "검증")
    test_dataloader = set_dataloader(padded_x_test, y_test, bs, "테스트")

    # the notebook: FastText(..., workers=-1) from gensim, which trains nothing
    ft_model = nlp_pp.train_fasttext(x_train, dim=16, window=5, min_count=rare_th, epochs=1, workers=1)
    embedding = build_my_embed(word_to_idx, ft_model.wv)
    assert embedding.shape == (len(word_to_idx), 16) and embedding.dtype == np.float32
    assert not embedding[0].any()

    net = models.build_model(
        models.ModelConfig("gru", vocab_size=len(word_to_idx), num_classes=2, emb_dim=16, hidden=16),
        embedding,
    )
    result = Trainer(net, TrainConfig(epochs=1), device="cpu").fit(
        train_dataloader, valid_dataloader, progress=False
    )
    assert len(result.history) == 1 and math.isfinite(result.history[0]["train_loss"])
    scores = run_epoch(net, test_dataloader, torch.device("cpu"))
    assert math.isfinite(scores.loss) and 0.0 <= scores.acc <= 1.0


# --- df_cleaning ------------------------------------------------------------------------------------


def test_df_cleaning_drops_missing_in_any_column_then_duplicates():
    df = pd.DataFrame(
        {
            "content": ["a", "b", "a", None, "c", "d"],
            "class": ["x", "y", "y", "x", None, "x"],
            "note": ["", "", "", "", "", None],
        }
    )
    out = df_cleaning_ = compat.df_cleaning(df, "content")
    assert out["content"].tolist() == ["a", "b"] and list(out.index) == [0, 1]
    assert len(df) == 6  # not modified
    kept = compat.df_cleaning(df, "content", reidx=False)
    assert list(kept.index) == [0, 1] and df_cleaning_ is not kept
    assert list(compat.df_cleaning(df.iloc[[1, 0]], "content", reidx=False).index) == [1, 0]


def test_df_cleaning_unknown_column():
    with pytest.raises(DataError, match="column 'text' not found in the DataFrame; its columns are: content"):
        compat.df_cleaning(pd.DataFrame({"content": ["a"]}), "text")


def test_load_dataset_uses_the_same_helper(tmp_path):
    p = tmp_path / "d.csv"
    pd.DataFrame({"content": ["a", "a", "b", None], "class": ["x", "y", " ", "x"]}).to_csv(p, index=False)
    _, report = nlp_pp.load_dataset(p)
    assert (report.rows, report.dropped_missing, report.dropped_duplicates) == (1, 2, 1)


# --- tokenize ---------------------------------------------------------------------------------------

TEXTS = ["대출 상담 받으세요", "오늘 저녁 같이 먹자", ""]


def test_tokenize_with_the_notebooks_mecab_and_without():
    from mecab import MeCab

    expected = [MeCab().morphs(t) for t in TEXTS[:2]] + [[]]
    assert compat.tokenize(TEXTS, MeCab()) == expected
    assert compat.tokenize(pd.Series(TEXTS), None, progress=False) == expected
    assert compat.tokenize(TEXTS, nlp_pp.MecabTokenizer()) == expected  # a callable
    assert compat.tokenize([None, float("nan")], MeCab()) == [[], []]


def test_tokenize_with_any_object_with_morphs():
    class Spaces:
        def morphs(self, text):
            return text.split()

    assert compat.tokenize(TEXTS, Spaces()) == [
        ["대출", "상담", "받으세요"],
        ["오늘", "저녁", "같이", "먹자"],
        [],
    ]


def test_tokenize_rejects_what_cannot_tokenize():
    from mecab import MeCab

    with pytest.raises(ConfigError, match=r"pass an instance, e.g. MeCab\(\)"):
        compat.tokenize(TEXTS, MeCab)
    with pytest.raises(ConfigError, match="must be a MeCab"):
        compat.tokenize(TEXTS, "mecab")


# --- stopwords --------------------------------------------------------------------------------------


def test_download_stopword_list_offline_local_and_url(tmp_path, http_dir):
    project = compat.download_stopword_list()
    assert project == sorted(nlp_pp.load_stopwords()) and "를" in project
    assert compat.download_stopword_list(STOPWORDS) == project
    (tmp_path / "kr.txt").write_text("\ufeff# comment\n아\n휴\n\n아\n", encoding="utf-8")
    assert compat.download_stopword_list(str(tmp_path / "kr.txt")) == ["아", "휴"]
    assert compat.download_stopword_list(f"{http_dir}/kr.txt") == ["아", "휴"]


def test_download_stopword_list_failures_raise(tmp_path, http_dir):
    # the notebook printed the status code and went on with an empty list
    with pytest.raises(DataError, match="cannot download"):
        compat.download_stopword_list(f"{http_dir}/missing.txt")
    with pytest.raises(DataError, match="cannot download"):
        compat.download_stopword_list(f"http://127.0.0.1:{closed_port()}/kr.txt")
    (tmp_path / "cp949.txt").write_bytes("불용어\n".encode("cp949"))
    with pytest.raises(DataError, match="not UTF-8"):
        compat.download_stopword_list(f"{http_dir}/cp949.txt")
    with pytest.raises(DataError, match="stopword file not found"):
        compat.download_stopword_list(str(tmp_path / "none.txt"))
    assert not Path("kr_stopword_list.txt").exists()


def test_remove_stopword():
    data = [["영화", "를", "봤", "어요"], ["를"], []]
    assert compat.remove_stopword(data, ["를", "어요"]) == [["영화", "봤"], [], []]
    assert compat.remove_stopword(data, frozenset({"봤"})) == [["영화", "를", "어요"], ["를"], []]
    with pytest.raises(ConfigError, match="not one string"):
        compat.remove_stopword(data, "https://example.org/stopwords.txt")


def test_decompose_jamo_is_nlp_pp_decompose():
    out = compat.decompose_jamo([["대출", "URL", "5만원"], []])
    assert out == [[nlp_pp.decompose("대출"), "URL", nlp_pp.decompose("5만원")], []]
    assert len(out[0][0]) == 6 and nlp_pp.compose_tokens(out[0]) == ["대출", "URL", "5만원"]


# --- vocabulary -------------------------------------------------------------------------------------

COUNTS = Counter({"대출": 4, "상담": 3, "무료": 2, "영화": 2, "쿠폰": 1, "희귀": 1})


def test_set_rare_vocab_counts_like_the_notebook(caplog):
    with caplog.at_level(logging.INFO, logger="nlp_pp.compat"):
        result = compat.set_rare_vocab(COUNTS, 2, report=True)
    total, rare = result
    assert (total, rare) == result == (6, 2) and (result.total, result.rare) == (6, 2)
    assert result.vocab == ["대출", "상담", "무료", "영화"]
    assert result.stats["rare_share"] == 2 / 6 and result.stats["rare_freq_share"] == pytest.approx(2 / 13)
    assert "6 distinct words, 2 rare (seen < 2 times)" in caplog.text


def test_set_rare_vocab_from_the_training_split_only():
    train = [["대출", "상담", "대출"], ["상담", "영화"]]
    val = [["쿠폰", "쿠폰", "쿠폰"]]
    result = compat.set_rare_vocab(train, 2)
    assert result == (3, 1) and result.vocab == ["대출", "상담"]
    assert compat.set_rare_vocab([t for s in train for t in s], 2).vocab == result.vocab  # a flat word list
    word_to_idx, _ = compat.set_word_to_idx(["<PAD>", "<UNK>"], result)
    assert compat.text_to_sequences(val, word_to_idx) == [[1, 1, 1]]  # validation words are unknown


def test_set_rare_vocab_edge_cases():
    assert compat.set_rare_vocab(Counter(), 3, report=True) == (0, 0)  # the notebook divided by zero
    with pytest.raises(ConfigError, match="rare_th must be a positive integer"):
        compat.set_rare_vocab(COUNTS, 0)


def test_set_word_to_idx(caplog):
    with caplog.at_level(logging.INFO, logger="nlp_pp.compat"):
        w2i, i2w = compat.set_word_to_idx(["<PAD>", "<UNK>"], ["대출", "상담"], report=True)
    assert w2i == {"<PAD>": 0, "<UNK>": 1, "대출": 2, "상담": 3}
    assert i2w == {0: "<PAD>", 1: "<UNK>", 2: "대출", 3: "상담"}
    assert "2 words + 2 special tokens" in caplog.text
    w2i, _ = compat.set_word_to_idx(["<PAD>", "<UNK>", "<SOS>"], ["대출"])
    assert w2i == {"<PAD>": 0, "<UNK>": 1, "<SOS>": 2, "대출": 3}
    with pytest.raises(ConfigError, match="must start with '<PAD>', '<UNK>'"):
        compat.set_word_to_idx(["<UNK>", "<PAD>"], ["대출"])
    with pytest.raises(ConfigError, match=r"given twice.*\['대출'\]"):
        compat.set_word_to_idx(["<PAD>", "<UNK>"], ["대출", "상담", "대출"])
    with pytest.raises(ConfigError, match="not the \\(total, rare\\) counts"):
        compat.set_word_to_idx(["<PAD>", "<UNK>"], tuple(compat.set_rare_vocab(COUNTS, 2)))


def test_text_to_sequences():
    w2i, _ = compat.set_word_to_idx(["<PAD>", "<UNK>"], ["대출", "상담"])
    assert compat.text_to_sequences([["대출", "영화", "상담"], []], w2i) == [[2, 1, 3], []]
    # the notebook printed a hint and returned the tokens unchanged
    with pytest.raises(ConfigError, match="'<PAD>' to 0 and '<UNK>' to 1"):
        compat.text_to_sequences([["대출"]], {"<PAD>": 0, "대출": 1})
    with pytest.raises(ConfigError, match="without gaps"):
        compat.text_to_sequences([["대출"]], {"<PAD>": 0, "<UNK>": 1, "대출": 5})


# --- length, padding, loaders -----------------------------------------------------------------------


def test_set_sent_pad_returns_the_share(caplog):
    seqs = [[1] * n for n in (1, 2, 3, 4, 10)]
    with caplog.at_level(logging.INFO, logger="nlp_pp.compat"):
        assert compat.set_sent_pad(seqs, 3) == 0.6
        assert "60.00 % of the sentences have length <= 3" in caplog.text and "longest" not in caplog.text
        assert compat.set_sent_pad(seqs, 10, report=True) == 1.0
    assert "longest 10, mean 4.00" in caplog.text
    with pytest.raises(ConfigError):
        compat.set_sent_pad(seqs, 0)
    with pytest.raises(DataError):
        compat.set_sent_pad([], 3)


def test_pad_seq_x_pre_pads_and_keeps_the_start():
    out = compat.pad_seq_x([[5, 6], [], [1, 2, 3, 4, 7]], 4)
    assert out.dtype == np.int64 and out.tolist() == [[0, 0, 5, 6], [0, 0, 0, 0], [1, 2, 3, 4]]
    # padding="post" reproduces the notebook's array
    assert compat.pad_seq_x([[5, 6], [1, 2, 3, 4, 7]], 4, padding="post").tolist() == [
        [5, 6, 0, 0],
        [1, 2, 3, 4],
    ]
    with pytest.raises(ConfigError):
        compat.pad_seq_x([[1]], 0)


def test_set_dataloader_yields_tokens_lengths_labels_in_order():
    x = compat.pad_seq_x([[5, 6], [7], [2, 3, 4], []], 6)
    loader = compat.set_dataloader(x, [0, 1, 1, 0], 2, "검증")
    batches = list(loader)
    tokens, lengths, labels = batches[0]
    assert tokens.tolist() == [[5, 6], [7, 0]] and lengths.tolist() == [2, 1] and labels.tolist() == [0, 1]
    assert [b[2].tolist() for b in batches] == [[0, 1], [1, 0]]  # input order, not shuffled
    assert batches[1][1].tolist() == [3, 0]


def test_set_dataloader_shuffles_for_training_only():
    x = [[i + 2] * (1 + i % 5) for i in range(40)]
    y = [i % 2 for i in range(40)]
    first = [lab for _, _, lab in compat.set_dataloader(x, y, 4, "훈련")]
    order = torch.cat(first).tolist()
    assert sorted(order) == sorted(y) and order != y
    assert torch.cat([lab for _, _, lab in compat.set_dataloader(x, y, 4, "테스트")]).tolist() == y


def test_padding_side_never_reaches_the_model():
    # post-padding to 330 steps hid the message from the notebook's plain RNN; here the model sees the
    # same batches whether the rows were pre- or post-padded, or not padded at all
    rng = np.random.default_rng(0)
    seqs = [rng.integers(2, 30, size=n).tolist() for n in (3, 7, 12, 1)]
    y = [0, 1, 0, 1]
    torch.manual_seed(0)
    rnn = models.build_model(
        models.ModelConfig("rnn", vocab_size=30, num_classes=2, emb_dim=8, hidden=8)
    ).eval()
    outputs = []
    for x in (compat.pad_seq_x(seqs, 330), compat.pad_seq_x(seqs, 330, padding="post"), seqs):
        with torch.no_grad():
            outputs.append(torch.cat([rnn(t, n) for t, n, _ in compat.set_dataloader(x, y, 2, "검증")]))
    assert torch.allclose(outputs[0], outputs[1]) and torch.allclose(outputs[0], outputs[2])


def test_set_dataloader_errors():
    with pytest.raises(DataError, match="integer class ids"):
        compat.set_dataloader([[2, 3]], ["스팸문자"], 1, "훈련")
    with pytest.raises(ConfigError, match="batch size"):
        compat.set_dataloader([[2, 3]], [1], 0, "훈련")
    with pytest.raises(ConfigError, match="2 labels for 1 sequences"):
        compat.set_dataloader([[2, 3]], [1, 0], 1, "훈련")
    assert compat.set_dataloader([[2, 3]], np.array([1.0]), 1).dataset.labels.tolist() == [1]


# --- embeddings -------------------------------------------------------------------------------------

SENTENCES = compat.decompose_jamo(
    [["대출", "상담", "무료"], ["영화", "재밌", "어요"], ["대출", "영화", "쿠폰"]] * 30
)


@pytest.fixture(scope="module")
def word_to_idx():
    return compat.set_word_to_idx(["<PAD>", "<UNK>"], compat.set_rare_vocab(SENTENCES, 1).vocab)[0]


def test_build_my_embed_shape_and_rows(word_to_idx, caplog):
    ft = nlp_pp.train_fasttext(SENTENCES, dim=8, min_count=1, epochs=2, workers=1)
    with caplog.at_level(logging.INFO, logger="nlp_pp.compat"):
        matrix = compat.build_my_embed(word_to_idx, ft.wv)
    assert matrix.shape == (len(word_to_idx), 8) and matrix.dtype == np.float32
    assert not matrix[0].any() and matrix[1].any()
    assert np.allclose(matrix[word_to_idx[SENTENCES[0][0]]], ft.wv[SENTENCES[0][0]])
    assert np.array_equal(compat.build_my_embed(word_to_idx, ft), matrix)  # the model itself works too
    assert "100.0 % of the words have a vector" in caplog.text


def test_workers_minus_one_trains_nothing_and_is_caught(word_to_idx):
    from gensim.models import FastText

    # the design's call: gensim starts range(-1) = no training thread
    ft = FastText(sentences=SENTENCES, vector_size=8, window=5, min_count=1, workers=-1, sg=1, epochs=1)
    with pytest.raises(ConfigError, match="never trained"):
        compat.build_my_embed(word_to_idx, ft)
    assert not ft.syn1neg.any() and np.abs(ft.wv.vectors).max() <= 1 / 8  # gensim's random initialisation
    with pytest.raises(ConfigError, match=r"FastTextConfig.workers must be an integer >= 0 \(got -1\)"):
        nlp_pp.train_fasttext(SENTENCES, dim=8, min_count=1, workers=-1)


# --- garbage in, one typed error out (issue 21) ------------------------------------------------------


@pytest.mark.parametrize(
    "call, needle",
    [
        (lambda: tokenize("대출 상담 무료"), "not one str"),
        (lambda: remove_stopword("대출 상담", ["상담"]), "not one str"),
        (lambda: remove_stopword(["대출", "상담"], ["상담"]), "holds a str where a token list belongs"),
        (lambda: decompose_jamo("대출"), "not one str"),
        (lambda: decompose_jamo(["대출", "상담"]), "holds a str where a token list belongs"),
        (lambda: df_cleaning(None, "content"), "needs a pandas DataFrame"),
        (lambda: build_my_embed({"<PAD>": 0, "<UNK>": 1}, None), "wv must be gensim word vectors"),
        (lambda: pad_seq_x([[-5, 10**30]], 3), "found -5"),
        (lambda: pad_seq_x([[1, 10**30]], 3), "found 1000000000000000000000000000000"),
        (lambda: set_rare_vocab({"a": -1, "b": 3}, 1), "'a' has -1"),
        (lambda: set_rare_vocab({"a": float("nan")}, 1), "'a' has nan"),
    ],
)
def test_garbage_arguments_are_config_errors(call, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        call()
