"""Tests for the `models` package (tiny dimensions, CPU, fast)."""

from __future__ import annotations

import io
import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp_pp import models
from nlp_pp.models import (
    MODEL_NAMES,
    POOLINGS,
    RECURRENT_MODELS,
    SPELLING_MODELS,
    HybridClassifier,
    LSTMClassifier,
    ModelConfig,
    TextClassifier,
    build_model,
    load_checkpoint,
)
from nlp_pp.text.hangul import decompose

V, E, PAD = 20, 6, 0
# a vocabulary as the pipeline builds it (jamo-decomposed), for the families that spell each entry
WORDS = ["대출", "씨발", "씨바", "ㅋㅋ", "영화", "재밌", "어요", "?", "PHONE", "시ㅂ", "좋", "다", "는", "가"]
TOKENS = ["<PAD>", "<UNK>", *(decompose(w) for w in WORDS + ["이", "😀", "혐오", "새끼"])]
assert len(TOKENS) == V


def make(config: ModelConfig, embedding_matrix=None) -> TextClassifier:
    """``build_model`` with the test vocabulary (ignored by the families that do not spell)."""
    return build_model(config, embedding_matrix, tokens=TOKENS)


def tiny(name: str, num_classes: int = 3, **kw) -> ModelConfig:
    base = dict(
        name=name,
        vocab_size=V,
        num_classes=num_classes,
        emb_dim=E,
        hidden=8,
        filters=4,
        kernel_sizes=(2, 3, 4),
        dropout=0.2,
        ngram_buckets=97,
        ngram_slots=12,
        wide_dim=4,
        char_dim=4,
        char_filters=3,
        char_kernel_sizes=(2, 3),
        char_len=8,
    )
    base.update(kw)
    return ModelConfig(**base)


def batch(lengths: list[int], extra_pad: int = 0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random non-PAD tokens up to each length, PAD afterwards; width max(lengths) + extra_pad."""
    g = torch.Generator().manual_seed(seed)
    T = max(lengths, default=0) + extra_pad
    tokens = torch.full((len(lengths), T), PAD, dtype=torch.long)
    for i, n in enumerate(lengths):
        tokens[i, :n] = torch.randint(1, V, (n,), generator=g)
    return tokens, torch.tensor(lengths, dtype=torch.long)


def matrix(seed: int = 0, zero_pad: bool = True) -> np.ndarray:
    m = np.random.default_rng(seed).normal(size=(V, E)).astype(np.float32)
    if zero_pad:
        m[PAD] = 0.0
    return m


LENGTHS = [5, 1, 0, 3, 9, 2]  # includes 0 and lengths shorter than the kernels


# ---------------------------------------------------------------- shapes & padding


def test_registry_matches_names():
    assert MODEL_NAMES == ("rnn", "lstm", "gru", "cnn", "hybrid", "avg", "wide_gru", "jamo_gru")
    assert RECURRENT_MODELS == ("rnn", "lstm", "gru")
    assert SPELLING_MODELS == ("wide_gru", "jamo_gru")
    assert tuple(models.MODEL_CLASSES) == MODEL_NAMES


@pytest.mark.parametrize("num_classes", [2, 5])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_shape(name, num_classes):
    torch.manual_seed(0)
    model = make(tiny(name, num_classes))
    assert isinstance(model, TextClassifier)
    tokens, lengths = batch(LENGTHS)
    out = model(tokens, lengths)
    assert out.shape == (len(LENGTHS), num_classes)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("zero_pad_row", [True, False])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_padding_independence(name, zero_pad_row):
    torch.manual_seed(0)
    model = make(tiny(name), matrix(zero_pad=zero_pad_row)).eval()
    short = model(*batch(LENGTHS))
    long = model(*batch(LENGTHS, extra_pad=17))
    torch.testing.assert_close(short, long, atol=1e-5, rtol=0)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("name", RECURRENT_MODELS + SPELLING_MODELS)
def test_equal_length_batch_runs_unpacked_with_the_packed_result(name, pooling):
    # width == every length: the unpacked fast path; one more PAD column forces packing
    torch.manual_seed(0)
    model = make(tiny(name, pooling=pooling, layers=2)).eval()
    with torch.no_grad():
        dense = model(*batch([6, 6, 6, 6]))
        packed = model(*batch([6, 6, 6, 6], extra_pad=1))
    torch.testing.assert_close(dense, packed, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
@settings(max_examples=15, deadline=None)
@given(lengths=st.lists(st.integers(0, 8), min_size=1, max_size=5), extra=st.integers(1, 6))
def test_padding_independence_property(name, lengths, extra):
    torch.manual_seed(1)
    model = make(tiny(name)).eval()
    with torch.no_grad():
        a = model(*batch(lengths, seed=len(lengths)))
        b = model(*batch(lengths, extra_pad=extra, seed=len(lengths)))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_row_independent_of_batch_mates(name):
    torch.manual_seed(0)
    model = make(tiny(name)).eval()
    tokens, lengths = batch(LENGTHS)
    full = model(tokens, lengths)
    n = lengths[0]
    alone = model(tokens[:1, :n], lengths[:1])
    torch.testing.assert_close(full[:1], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_length_zero_rows_are_finite_and_trainable(name):
    torch.manual_seed(0)
    model = make(tiny(name)).train()
    tokens, lengths = batch([0, 0, 4])
    out = model(tokens, lengths)
    assert torch.isfinite(out).all()
    out.sum().backward()
    for p in model.parameters():
        if p.grad is not None:
            assert torch.isfinite(p.grad).all()
    # a batch where every message is empty, even with zero width
    model.eval()
    for T in (0, 1, 3):
        out = model(torch.full((2, T), PAD, dtype=torch.long), torch.zeros(2, dtype=torch.long))
        assert out.shape == (2, 3) and torch.isfinite(out).all()


def test_avg_length_zero_is_zero_vector():
    model = make(tiny("avg"), matrix(zero_pad=False))
    tokens, lengths = batch([0, 2])
    feats = model.encode(tokens, lengths)
    assert torch.equal(feats[0], torch.zeros(E))
    torch.testing.assert_close(feats[1], model.embedding.weight[tokens[1, :2]].mean(0))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bad_inputs_raise(name):
    model = make(tiny(name))
    tokens, lengths = batch([3, 2])
    with pytest.raises(ValueError, match="lengths"):
        model(tokens, torch.tensor([4, 2]))
    with pytest.raises(ValueError, match="lengths"):
        model(tokens, torch.tensor([3]))
    with pytest.raises(ValueError, match="tokens"):
        model(tokens[0], lengths)


# ---------------------------------------------------------------- recurrent variants


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("name", RECURRENT_MODELS)
def test_recurrent_variants(name, layers, bidirectional):
    torch.manual_seed(0)
    model = make(tiny(name, layers=layers, bidirectional=bidirectional)).eval()
    assert model.encoder.rnn.num_layers == layers
    assert model.encoder.rnn.bidirectional == bidirectional
    assert model.encoder.out_dim == 8 * (2 if bidirectional else 1)
    short = model(*batch(LENGTHS))
    assert short.shape == (len(LENGTHS), 3)
    torch.testing.assert_close(short, model(*batch(LENGTHS, extra_pad=17)), atol=1e-5, rtol=0)


def test_recurrent_uses_last_layer_final_state():
    """Bidirectional final features = [forward state at t=len-1, backward state at t=0]."""
    torch.manual_seed(0)
    model = make(tiny("gru", layers=2, bidirectional=True)).eval()
    tokens, lengths = batch([4, 2])
    feats = model.encode(tokens, lengths)
    for i, n in enumerate(lengths.tolist()):
        out, _ = model.encoder.rnn(model.embedding(tokens[i : i + 1, :n]))
        expected = torch.cat([out[0, n - 1, :8], out[0, 0, 8:]])
        torch.testing.assert_close(feats[i], expected, atol=1e-5, rtol=0)


def test_hybrid_lstm_branch_is_bidirectional():
    model = make(tiny("hybrid", bidirectional=False, layers=2))
    assert model.lstm.rnn.bidirectional and model.lstm.rnn.num_layers == 2
    assert model.head[-1].in_features == 4 * 3 + 2 * 8


# ---------------------------------------------------------------- embeddings


@pytest.mark.parametrize("as_tensor", [False, True])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_embedding_copies_matrix_and_is_trainable(name, as_tensor):
    m = matrix(zero_pad=False)
    src = torch.from_numpy(m.copy()) if as_tensor else m
    model = make(tiny(name), src)
    for table in model.embedding_tables():
        assert table.padding_idx == PAD
        assert table.weight.dtype == torch.float32
        assert torch.equal(table.weight.detach(), torch.from_numpy(m))
        assert table.weight.requires_grad
    # a copy, not a view of the caller's data
    with torch.no_grad():
        model.embedding.weight.add_(1.0)
    assert np.array_equal(src if not as_tensor else src.numpy(), m)
    model(*batch(LENGTHS)).sum().backward()
    for table in model.embedding_tables():
        assert table.weight.grad is not None and table.weight.grad.abs().sum() > 0
        assert torch.equal(table.weight.grad[PAD], torch.zeros(E))  # padding_idx row gets no grad


def test_float64_matrix_is_copied_as_float32():
    m = matrix().astype(np.float64)
    model = make(tiny("cnn"), m)
    assert model.embedding.weight.dtype == torch.float32
    assert torch.equal(model.embedding.weight.detach(), torch.from_numpy(m.astype(np.float32)))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_frozen_embedding_gets_no_gradient(name):
    model = make(tiny(name, freeze_embedding=True, shared_embedding=False), matrix())
    for table in model.embedding_tables():
        assert not table.weight.requires_grad
    model(*batch(LENGTHS)).sum().backward()
    for table in model.embedding_tables():
        assert table.weight.grad is None
        assert torch.equal(table.weight.detach(), torch.from_numpy(matrix()))
    assert any(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_random_init_has_zero_pad_row(name):
    torch.manual_seed(0)
    model = make(tiny(name, pad_idx=3))
    w = model.embedding.weight.detach()
    assert torch.equal(w[3], torch.zeros(E))
    assert w[4].abs().sum() > 0


def test_hybrid_separate_embeddings():
    m = matrix()
    model = make(tiny("hybrid", shared_embedding=False), m)
    tables = model.embedding_tables()
    assert len(tables) == 2 and tables[0] is not tables[1]
    assert tables[0].weight.data_ptr() != tables[1].weight.data_ptr()
    for t in tables:
        assert torch.equal(t.weight.detach(), torch.from_numpy(m))
    model(*batch(LENGTHS)).sum().backward()
    assert all(t.weight.grad is not None for t in tables)
    # without a matrix the two tables are independent random inits
    torch.manual_seed(0)
    a, b = make(tiny("hybrid", shared_embedding=False)).embedding_tables()
    assert not torch.equal(a.weight, b.weight)


def test_hybrid_shared_embedding_is_one_table():
    model = make(tiny("hybrid"), matrix())
    assert model.config.shared_embedding is True
    assert len(model.embedding_tables()) == 1
    assert model.lstm_embedding is None
    assert sum(k.endswith("weight") and "embedding" in k for k in model.state_dict()) == 1


# ---------------------------------------------------------------- config validation


def test_config_json_round_trip():
    cfg = tiny("cnn", kernel_sizes=(2, 5))
    back = ModelConfig(**json.loads(json.dumps(asdict(cfg))))
    assert back == cfg and back.kernel_sizes == (2, 5)
    assert ModelConfig("cnn", 10, 2, kernel_sizes=[3, 4]).kernel_sizes == (3, 4)
    assert hash(back) == hash(cfg)


def test_config_defaults():
    cfg = ModelConfig("lstm", vocab_size=100, num_classes=2)
    assert (cfg.emb_dim, cfg.hidden, cfg.layers, cfg.bidirectional, cfg.dropout) == (100, 256, 1, True, 0.3)
    assert (cfg.freeze_embedding, cfg.pad_idx, cfg.kernel_sizes, cfg.filters, cfg.shared_embedding) == (
        False,
        0,
        (3, 4, 5),
        100,
        True,
    )


def test_numpy_scalars_are_normalised():
    cfg = ModelConfig("avg", vocab_size=np.int64(10), num_classes=np.int64(2), dropout=np.float32(0.5))
    assert type(cfg.vocab_size) is int and type(cfg.dropout) is float
    json.dumps(asdict(cfg))
    build_model(cfg)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        make(tiny("transformer"))
    for name in MODEL_NAMES:
        assert name in str(err.value)


@pytest.mark.parametrize(
    "field, value",
    [
        ("vocab_size", 1),
        ("vocab_size", 0),
        ("num_classes", 1),
        ("num_classes", 2.0),
        ("emb_dim", 0),
        ("hidden", 0),
        ("layers", 0),
        ("filters", 0),
        ("kernel_sizes", ()),
        ("kernel_sizes", (3, 0)),
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("dropout", True),
        ("pad_idx", -1),
        ("pad_idx", V),
        ("bidirectional", 1),
        ("vocab_size", True),
    ],
)
def test_invalid_config_raises(field, value):
    with pytest.raises(ValueError, match=field):
        make(tiny("cnn", **{field: value}))


def test_dropout_zero_is_valid():
    for cfg in (tiny("lstm", dropout=0.0, layers=2), tiny("lstm", dropout=0)):
        model = make(cfg)
        assert model.config.dropout == 0.0
        drops = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
        assert drops and all(p == 0.0 for p in drops)  # every dropout layer is off, none refused
        assert model.encoder.rnn.dropout == 0.0


@pytest.mark.parametrize("shape", [(V + 1, E), (V, E - 1), (V * E,), (1, V, E)])
def test_matrix_shape_mismatch(shape):
    bad = np.zeros(shape, dtype=np.float32)
    with pytest.raises(ValueError, match="vocab_size, emb_dim"):
        make(tiny("avg"), bad)
    with pytest.raises(ValueError, match="vocab_size, emb_dim"):
        make(tiny("gru"), torch.zeros(shape))


def test_matrix_nan_and_type():
    m = matrix()
    m[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make(tiny("avg"), m)
    with pytest.raises(TypeError):
        make(tiny("avg"), matrix().tolist())
    with pytest.raises(TypeError):
        build_model(asdict(tiny("avg")))


def test_direct_class_with_wrong_name_raises():
    with pytest.raises(ValueError, match="build_model"):
        LSTMClassifier(tiny("gru"))
    with pytest.raises(ValueError, match="build_model"):
        HybridClassifier(tiny("cnn"))
    assert isinstance(LSTMClassifier(tiny("lstm")), TextClassifier)


# ---------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_checkpoint_round_trip(name):
    torch.manual_seed(0)
    cfg = tiny(name, shared_embedding=False, freeze_embedding=(name == "cnn"))
    model = make(cfg, matrix()).eval()
    ckpt = model.checkpoint()
    json.dumps(ckpt["config"])  # config part is plain JSON
    # through JSON (lists instead of tuples) and through torch.save/torch.load
    ckpt["config"] = json.loads(json.dumps(ckpt["config"]))
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    buf.seek(0)
    restored = load_checkpoint(torch.load(buf, weights_only=True))
    assert type(restored) is type(model)
    assert restored.config == model.config
    assert not restored.training
    tokens, lengths = batch(LENGTHS)
    assert torch.equal(model(tokens, lengths), restored(tokens, lengths))
    for table in restored.embedding_tables():
        assert table.weight.requires_grad == (not cfg.freeze_embedding)


def test_checkpoint_is_a_snapshot():
    model = make(tiny("avg"))
    ckpt = model.checkpoint()
    before = {k: v.clone() for k, v in ckpt["state_dict"].items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    for k, v in ckpt["state_dict"].items():
        assert torch.equal(v, before[k])


def test_load_checkpoint_errors():
    ckpt = make(tiny("lstm")).checkpoint()
    with pytest.raises(ValueError, match="state_dict"):
        load_checkpoint({"config": ckpt["config"]})
    with pytest.raises(ValueError, match="config"):
        load_checkpoint({"state_dict": ckpt["state_dict"]})
    with pytest.raises(ValueError, match="dict"):
        load_checkpoint([ckpt])
    with pytest.raises(ValueError, match="unknown fields"):
        load_checkpoint({**ckpt, "config": {**ckpt["config"], "heads": 4}})
    with pytest.raises(ValueError, match="vocab_size"):
        cfg = dict(ckpt["config"])
        del cfg["vocab_size"]
        load_checkpoint({**ckpt, "config": cfg})
    with pytest.raises(ValueError, match="does not fit"):  # weights of another architecture
        load_checkpoint({**ckpt, "config": {**ckpt["config"], "name": "gru"}})
    with pytest.raises(ValueError, match="does not fit"):  # different size
        load_checkpoint({**ckpt, "config": {**ckpt["config"], "hidden": 9}})
    with pytest.raises(
        ValueError,
        match=r"ModelConfig\.name must be one of rnn, lstm, gru, cnn, hybrid, avg, wide_gru, jamo_gru",
    ):
        load_checkpoint({**ckpt, "config": {**ckpt["config"], "name": "bert"}})
    # a ModelConfig object is accepted as the config too
    restored = load_checkpoint({**ckpt, "config": replace(tiny("lstm"))})
    assert isinstance(restored, LSTMClassifier)


@pytest.mark.parametrize("name", ["gru", "wide_gru", "jamo_gru"])
def test_a_config_that_promises_more_than_the_weights_allocates_nothing(name):
    """A crafted config (a billion vocabulary rows, 2**30 n-gram buckets) beside small weights is refused
    before the model is built: no tensor of that size is ever allocated."""
    import resource

    ckpt = make(tiny(name)).checkpoint()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for huge in ({"vocab_size": 10**9}, {"ngram_buckets": 2**30}, {"hidden": 10**6}):
        crafted = {**ckpt, "config": {**ckpt["config"], **huge}}
        if "ngram_buckets" in huge and name != "wide_gru":
            load_checkpoint(crafted)  # a setting this family does not read: loads as it is
            continue
        with pytest.raises(ValueError, match="does not fit"):
            load_checkpoint(crafted)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB: < 200 MB


# ---------------------------------------------------------------- learning sanity


def toy_task(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Label = whether token 5 occurs; variable lengths 1..10, PAD-padded."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 11, (n,), generator=g)
    labels = torch.arange(n) % 2
    tokens = torch.full((n, 10), PAD, dtype=torch.long)
    for i in range(n):
        k = int(lengths[i])
        row = torch.randint(6, V, (k,), generator=g)  # never 5 (nor PAD)
        if labels[i]:
            row[torch.randint(0, k, (1,), generator=g)] = 5
        tokens[i, :k] = row
    return tokens, lengths, labels


@pytest.mark.parametrize("name", ["lstm", "cnn", "hybrid", "avg", "wide_gru", "jamo_gru"])
def test_overfits_toy_task(name):
    torch.manual_seed(0)
    tokens, lengths, labels = toy_task()
    model = make(tiny(name, num_classes=2, emb_dim=8, hidden=16, dropout=0.0, filters=8))
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tokens, lengths), labels)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(tokens, lengths).argmax(1) == labels).float().mean().item()
    assert acc > 0.9, f"{name} reached only {acc:.2f} train accuracy"


@pytest.mark.parametrize("pooling", ["max", "mean", "attention"])
@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_pooled_recurrent_outputs_ignore_padding(name: str, pooling: str) -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(
        name=name, vocab_size=30, num_classes=3, emb_dim=8, hidden=6, bidirectional=True, pooling=pooling
    )
    model = build_model(cfg).eval()
    tokens = torch.randint(2, 30, (4, 7))
    lengths = torch.tensor([7, 3, 1, 0])
    tokens[torch.arange(7).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
    longer = torch.cat([tokens, torch.zeros(4, 17, dtype=torch.long)], dim=1)
    with torch.no_grad():
        a, b = model(tokens, lengths), model(longer, lengths)
    assert torch.isfinite(a).all()
    assert torch.allclose(a, b, atol=1e-5)


def test_unknown_pooling_is_rejected() -> None:
    with pytest.raises(ValueError, match="pooling"):
        build_model(ModelConfig(name="gru", vocab_size=10, num_classes=2, pooling="sum"))


# ---------------------------------------------------------------- attention pooling


def test_attention_pool_is_the_softmax_weighted_sum_over_the_true_positions():
    torch.manual_seed(0)
    model = make(tiny("gru", pooling="attention")).eval()
    pool = model.encoder.attention
    tokens, lengths = batch([4, 2])
    with torch.no_grad():
        feats = model.encode(tokens, lengths)
        for i, n in enumerate(lengths.tolist()):
            out, _ = model.encoder.rnn(model.embedding(tokens[i : i + 1, :n]))  # [1, n, D]
            weights = torch.softmax(pool.score(torch.tanh(pool.proj(out))).squeeze(-1), dim=1)
            torch.testing.assert_close(feats[i], (weights.unsqueeze(-1) * out).sum(1)[0], atol=1e-5, rtol=0)
        # one true position: its output, whatever the scores
        seq = torch.randn(1, 5, pool.proj.in_features)
        torch.testing.assert_close(pool(seq, torch.tensor([1])), seq[:, 0])


def test_attention_pooling_trains_its_weights():
    torch.manual_seed(0)
    model = make(tiny("lstm", pooling="attention"))
    model(*batch(LENGTHS)).sum().backward()
    assert model.encoder.attention.score.weight.grad.abs().sum() > 0
    assert "encoder.attention.proj.weight" in model.state_dict()
    assert make(tiny("lstm")).encoder.attention is None  # no parameters unless asked for


# ---------------------------------------------------------------- the families that spell


@pytest.mark.parametrize("name", SPELLING_MODELS)
def test_spelling_families_need_the_vocabulary(name):
    with pytest.raises(ValueError, match="tokens="):
        build_model(tiny(name))
    with pytest.raises(ValueError, match="tokens has 19 entries but vocab_size is 20"):
        build_model(tiny(name), tokens=TOKENS[:-1])
    with pytest.raises(ValueError, match="list of strings"):
        build_model(tiny(name), tokens=[*TOKENS[:-1], 7])
    build_model(tiny("gru"))  # the others do not


def test_token_features_are_the_word_and_its_marked_syllable_and_jamo_ngrams():
    from nlp_pp.models.spelling import token_features

    feats = token_features(decompose("대출"), (1, 2, 3), (), slots=100)
    assert feats == ["w:대출", "c:대", "c:출", "c:<대", "c:대출", "c:출>", "c:<대출", "c:대출>"]
    assert token_features("대출", (1, 2, 3), (), slots=100) == feats  # syllables or jamo: the same
    jamo = token_features(decompose("대출"), (), (2,), slots=100)
    assert jamo[0] == "w:대출" and len(jamo) == 1 + 5 and "j:" + decompose("대")[1:] in jamo
    assert token_features("대출", (1, 2, 3), (2,), slots=3) == [
        "w:대출",
        "c:대",
        "c:출",
    ]  # short n-grams first
    assert token_features("<UNK>", (1, 2), (2,), slots=9) == ["u:"]
    assert token_features("<PAD>", (1, 2), (2,), slots=9) == []


def test_ngram_table_rows_pad_unk_and_shared_spelling():
    from nlp_pp.models.spelling import ngram_table, stable_hash

    table = ngram_table(TOKENS, 1000, (1, 2, 3, 4), (2, 3), slots=16)
    assert table.dtype == np.int32 and table.shape == (V, 16)
    assert not table[PAD].any()  # PAD: no feature at all
    assert table[1, 0] == 1 + stable_hash("u:") % 999 and not table[1, 1:].any()  # <UNK>: one of its own
    assert table.min() >= 0 and table.max() < 1000 and (table[2:, 0] > 0).all()
    # a slur spelled around shares most of its n-grams with the spelling it hides
    a, b = (set(table[TOKENS.index(decompose(w))]) - {0} for w in ("씨발", "씨바"))
    assert len(a & b) >= 4
    # stable across processes and platforms (CRC-32, not Python's salted hash)
    assert stable_hash("w:대출") == 3249947264
    assert ngram_table(TOKENS, 1000, (1, 2, 3, 4), (2, 3), slots=16, pad_idx=3)[3].sum() == 0


def test_jamo_table_uses_the_fixed_inventory():
    from nlp_pp.models.spelling import CHAR_VOCAB, char_id, jamo_table

    table = jamo_table(TOKENS, 8)
    assert table.dtype == np.int16 and table.shape == (V, 8)
    assert not table[PAD].any() and not table[1].any()  # PAD and <UNK> have no spelling
    row = table[TOKENS.index(decompose("대출"))]
    assert row[:6].tolist() == [char_id(c) for c in decompose("대출")] and not row[6:].any()
    assert len(set(row[:6].tolist())) == 6  # ㄷ as initial and ㅊ final etc. are distinct ids
    assert table[TOKENS.index("ㅋㅋ")][:2].tolist() == [char_id("ㅋ")] * 2  # typed (compatibility) jamo
    assert jamo_table(["<PAD>", "<UNK>", decompose("대출상담")], 8)[2].tolist() == [
        char_id(c) for c in decompose("대출상담")[:8]
    ]  # 12 jamo, the first 8 kept
    assert table.max() < CHAR_VOCAB and 0 < char_id("😀") < CHAR_VOCAB


def test_wide_part_unk_and_pad_behave():
    torch.manual_seed(0)
    model = make(tiny("wide_gru", token_bigrams=False)).eval()
    wide = model.wide
    with torch.no_grad():
        unk = wide(torch.tensor([[1]]), torch.tensor([1]))
        torch.testing.assert_close(unk[0], wide.vectors.weight[wide.table[1, 0].long()])
        empty = wide(torch.tensor([[PAD, PAD]]), torch.tensor([0]))
        assert torch.equal(empty, torch.zeros_like(empty))
        # PAD inside a dense batch contributes nothing either
        torch.testing.assert_close(
            wide.forward_dense(torch.tensor([[2, PAD]])), wide.forward_dense(torch.tensor([[2]]))
        )
    assert model.embedding_tables() == [model.embedding]
    assert not wide.vectors.weight[0].detach().any()


def test_wide_part_bigrams_see_word_order():
    torch.manual_seed(0)
    with_bigrams = make(tiny("wide_gru")).eval().wide
    torch.manual_seed(0)
    without = make(tiny("wide_gru", token_bigrams=False)).eval().wide
    ab, ba = torch.tensor([[2, 3]]), torch.tensor([[3, 2]])
    with torch.no_grad():
        torch.testing.assert_close(without.forward_dense(ab), without.forward_dense(ba))
        assert (with_bigrams.forward_dense(ab) - with_bigrams.forward_dense(ba)).abs().max() > 1e-3
        assert int(with_bigrams._bigram_ids(ab).min()) >= 1


def test_jamo_cnn_spells_each_token_alone():
    torch.manual_seed(0)
    model = make(tiny("jamo_gru")).eval()
    cnn = model.spelling
    tokens = torch.tensor([[2, 3, 2], [4, 2, PAD]])
    with torch.no_grad():
        dense = cnn.forward_dense(tokens)
        torch.testing.assert_close(cnn(tokens), dense)  # each distinct token once: the same vectors
        torch.testing.assert_close(dense[0, 0], dense[1, 1])
        torch.testing.assert_close(dense[0, 0], cnn.forward_dense(torch.tensor([[2]]))[0, 0])
    assert model.embedding_tables() == [model.embedding]


@pytest.mark.parametrize("name", SPELLING_MODELS)
def test_corrupt_spelling_tables_are_refused_on_load(name):
    ckpt = make(tiny(name)).checkpoint()
    key = "wide.table" if name == "wide_gru" else "spelling.table"
    bad = dict(ckpt["state_dict"])
    bad[key] = bad[key].clone()
    bad[key][3, 0] = 10_000
    with pytest.raises(ValueError, match="table holds ids outside"):
        load_checkpoint({**ckpt, "state_dict": bad})
    bad[key][3, 0] = -1
    with pytest.raises(ValueError, match="table holds ids outside"):
        load_checkpoint({**ckpt, "state_dict": bad})
    if name == "wide_gru":  # a feature removed from the table but still counted in the mean
        bad[key][3] = 0
        with pytest.raises(ValueError, match="feature counts do not match"):
            load_checkpoint({**ckpt, "state_dict": bad})
    # a checkpoint rebuilds the tables without the vocabulary
    restored = load_checkpoint(ckpt)
    assert torch.equal(restored.state_dict()[key], ckpt["state_dict"][key])
    assert restored.state_dict()[key].any()
