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
    RECURRENT_MODELS,
    HybridClassifier,
    LSTMClassifier,
    ModelConfig,
    TextClassifier,
    build_model,
    load_checkpoint,
)

V, E, PAD = 20, 6, 0


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
    assert MODEL_NAMES == ("rnn", "lstm", "gru", "cnn", "hybrid", "avg")
    assert RECURRENT_MODELS == ("rnn", "lstm", "gru")
    assert tuple(models.MODEL_CLASSES) == MODEL_NAMES


@pytest.mark.parametrize("num_classes", [2, 5])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_shape(name, num_classes):
    torch.manual_seed(0)
    model = build_model(tiny(name, num_classes))
    assert isinstance(model, TextClassifier)
    tokens, lengths = batch(LENGTHS)
    out = model(tokens, lengths)
    assert out.shape == (len(LENGTHS), num_classes)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("zero_pad_row", [True, False])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_padding_independence(name, zero_pad_row):
    torch.manual_seed(0)
    model = build_model(tiny(name), matrix(zero_pad=zero_pad_row)).eval()
    short = model(*batch(LENGTHS))
    long = model(*batch(LENGTHS, extra_pad=17))
    torch.testing.assert_close(short, long, atol=1e-5, rtol=0)


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
@pytest.mark.parametrize("name", RECURRENT_MODELS)
def test_equal_length_batch_runs_unpacked_with_the_packed_result(name, pooling):
    # width == every length: the unpacked fast path; one more PAD column forces packing
    torch.manual_seed(0)
    model = build_model(tiny(name, pooling=pooling, layers=2)).eval()
    with torch.no_grad():
        dense = model(*batch([6, 6, 6, 6]))
        packed = model(*batch([6, 6, 6, 6], extra_pad=1))
    torch.testing.assert_close(dense, packed, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
@settings(max_examples=15, deadline=None)
@given(lengths=st.lists(st.integers(0, 8), min_size=1, max_size=5), extra=st.integers(1, 6))
def test_padding_independence_property(name, lengths, extra):
    torch.manual_seed(1)
    model = build_model(tiny(name)).eval()
    with torch.no_grad():
        a = model(*batch(lengths, seed=len(lengths)))
        b = model(*batch(lengths, extra_pad=extra, seed=len(lengths)))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_row_independent_of_batch_mates(name):
    torch.manual_seed(0)
    model = build_model(tiny(name)).eval()
    tokens, lengths = batch(LENGTHS)
    full = model(tokens, lengths)
    n = lengths[0]
    alone = model(tokens[:1, :n], lengths[:1])
    torch.testing.assert_close(full[:1], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_length_zero_rows_are_finite_and_trainable(name):
    torch.manual_seed(0)
    model = build_model(tiny(name)).train()
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
    model = build_model(tiny("avg"), matrix(zero_pad=False))
    tokens, lengths = batch([0, 2])
    feats = model.encode(tokens, lengths)
    assert torch.equal(feats[0], torch.zeros(E))
    torch.testing.assert_close(feats[1], model.embedding.weight[tokens[1, :2]].mean(0))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bad_inputs_raise(name):
    model = build_model(tiny(name))
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
    model = build_model(tiny(name, layers=layers, bidirectional=bidirectional)).eval()
    assert model.encoder.rnn.num_layers == layers
    assert model.encoder.rnn.bidirectional == bidirectional
    assert model.encoder.out_dim == 8 * (2 if bidirectional else 1)
    short = model(*batch(LENGTHS))
    assert short.shape == (len(LENGTHS), 3)
    torch.testing.assert_close(short, model(*batch(LENGTHS, extra_pad=17)), atol=1e-5, rtol=0)


def test_recurrent_uses_last_layer_final_state():
    """Bidirectional final features = [forward state at t=len-1, backward state at t=0]."""
    torch.manual_seed(0)
    model = build_model(tiny("gru", layers=2, bidirectional=True)).eval()
    tokens, lengths = batch([4, 2])
    feats = model.encode(tokens, lengths)
    for i, n in enumerate(lengths.tolist()):
        out, _ = model.encoder.rnn(model.embedding(tokens[i : i + 1, :n]))
        expected = torch.cat([out[0, n - 1, :8], out[0, 0, 8:]])
        torch.testing.assert_close(feats[i], expected, atol=1e-5, rtol=0)


def test_hybrid_lstm_branch_is_bidirectional():
    model = build_model(tiny("hybrid", bidirectional=False, layers=2))
    assert model.lstm.rnn.bidirectional and model.lstm.rnn.num_layers == 2
    assert model.head[-1].in_features == 4 * 3 + 2 * 8


# ---------------------------------------------------------------- embeddings


@pytest.mark.parametrize("as_tensor", [False, True])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_embedding_copies_matrix_and_is_trainable(name, as_tensor):
    m = matrix(zero_pad=False)
    src = torch.from_numpy(m.copy()) if as_tensor else m
    model = build_model(tiny(name), src)
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
    model = build_model(tiny("cnn"), m)
    assert model.embedding.weight.dtype == torch.float32
    assert torch.equal(model.embedding.weight.detach(), torch.from_numpy(m.astype(np.float32)))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_frozen_embedding_gets_no_gradient(name):
    model = build_model(tiny(name, freeze_embedding=True, shared_embedding=False), matrix())
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
    model = build_model(tiny(name, pad_idx=3))
    w = model.embedding.weight.detach()
    assert torch.equal(w[3], torch.zeros(E))
    assert w[4].abs().sum() > 0


def test_hybrid_separate_embeddings():
    m = matrix()
    model = build_model(tiny("hybrid", shared_embedding=False), m)
    tables = model.embedding_tables()
    assert len(tables) == 2 and tables[0] is not tables[1]
    assert tables[0].weight.data_ptr() != tables[1].weight.data_ptr()
    for t in tables:
        assert torch.equal(t.weight.detach(), torch.from_numpy(m))
    model(*batch(LENGTHS)).sum().backward()
    assert all(t.weight.grad is not None for t in tables)
    # without a matrix the two tables are independent random inits
    torch.manual_seed(0)
    a, b = build_model(tiny("hybrid", shared_embedding=False)).embedding_tables()
    assert not torch.equal(a.weight, b.weight)


def test_hybrid_shared_embedding_is_one_table():
    model = build_model(tiny("hybrid"), matrix())
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
        build_model(tiny("transformer"))
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
        build_model(tiny("cnn", **{field: value}))


def test_dropout_zero_is_valid():
    for cfg in (tiny("lstm", dropout=0.0, layers=2), tiny("lstm", dropout=0)):
        model = build_model(cfg)
        assert model.config.dropout == 0.0
        drops = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
        assert drops and all(p == 0.0 for p in drops)  # every dropout layer is off, none refused
        assert model.encoder.rnn.dropout == 0.0


@pytest.mark.parametrize("shape", [(V + 1, E), (V, E - 1), (V * E,), (1, V, E)])
def test_matrix_shape_mismatch(shape):
    bad = np.zeros(shape, dtype=np.float32)
    with pytest.raises(ValueError, match="vocab_size, emb_dim"):
        build_model(tiny("avg"), bad)
    with pytest.raises(ValueError, match="vocab_size, emb_dim"):
        build_model(tiny("gru"), torch.zeros(shape))


def test_matrix_nan_and_type():
    m = matrix()
    m[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        build_model(tiny("avg"), m)
    with pytest.raises(TypeError):
        build_model(tiny("avg"), matrix().tolist())
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
    model = build_model(cfg, matrix()).eval()
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
    model = build_model(tiny("avg"))
    ckpt = model.checkpoint()
    before = {k: v.clone() for k, v in ckpt["state_dict"].items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    for k, v in ckpt["state_dict"].items():
        assert torch.equal(v, before[k])


def test_load_checkpoint_errors():
    ckpt = build_model(tiny("lstm")).checkpoint()
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
        ValueError, match=r"ModelConfig\.name must be one of rnn, lstm, gru, cnn, hybrid, avg"
    ):
        load_checkpoint({**ckpt, "config": {**ckpt["config"], "name": "bert"}})
    # a ModelConfig object is accepted as the config too
    restored = load_checkpoint({**ckpt, "config": replace(tiny("lstm"))})
    assert isinstance(restored, LSTMClassifier)


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


@pytest.mark.parametrize("name", ["lstm", "cnn", "hybrid", "avg"])
def test_overfits_toy_task(name):
    torch.manual_seed(0)
    tokens, lengths, labels = toy_task()
    model = build_model(tiny(name, num_classes=2, emb_dim=8, hidden=16, dropout=0.0, filters=8))
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


@pytest.mark.parametrize("pooling", ["max", "mean"])
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
        build_model(ModelConfig(name="gru", vocab_size=10, num_classes=2, pooling="attention"))
