"""Tests of nlp_pp.training.trainer: early stopping, best checkpoint restored, history, seeding,
predict_proba, devices."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from nlp_pp import models
from nlp_pp.errors import ConfigError
from nlp_pp.training import trainer as train_module
from nlp_pp.training.trainer import (
    EpochScores,
    FitResult,
    TrainConfig,
    Trainer,
    predict_proba,
    resolve_device,
    set_seed,
)
from nlp_pp.vectors.batching import make_dataloader

HISTORY_KEYS = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_f1", "lr", "seconds"}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    # tiny models: thread start-up and contention with other processes cost far more than they save
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def quiet_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


class BiasOnly(nn.Module):
    """Logits = a learned bias, whatever the tokens: its losses are easy to control."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(2))

    def forward(self, tokens, lengths):
        return self.bias.expand(tokens.size(0), 2)


def loaders(train_labels, val_labels, batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    seqs = lambda n: [rng.integers(2, 20, size=int(rng.integers(1, 6))).tolist() for _ in range(n)]
    tr = make_dataloader(seqs(len(train_labels)), train_labels, batch_size=batch_size, seed=seed)
    va = make_dataloader(seqs(len(val_labels)), val_labels, batch_size=batch_size, shuffle=False, seed=seed)
    return tr, va


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- early stopping and the best checkpoint, with real epochs -----------------------------------------------


def test_early_stopping_when_val_loss_never_improves_after_epoch_1():
    # training pushes the bias towards class 0, validation wants class 1: val loss rises every epoch
    tr, va = loaders([0] * 32, [1] * 16)
    model = BiasOnly()
    result = Trainer(model, TrainConfig(epochs=20, lr=0.05, patience=3), device="cpu").fit(
        tr, va, progress=False
    )
    assert isinstance(result, FitResult)
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4]  # stops at epoch 1 + patience
    losses = [h["val_loss"] for h in result.history]
    assert losses == sorted(losses) and losses[0] < losses[-1]
    assert result.best_epoch == 1 and result.best_val_loss == losses[0]

    # the restored weights are those after epoch 1: the same training stopped there by itself
    snapshot = BiasOnly()
    Trainer(snapshot, TrainConfig(epochs=1, lr=0.05), device="cpu").fit(tr, va, progress=False)
    assert same_state(state(model), state(snapshot))
    assert not torch.equal(model.bias, torch.zeros(2))


def test_no_early_stop_while_val_loss_improves():
    tr, va = loaders([0] * 32, [0] * 16)
    model = BiasOnly()
    result = Trainer(model, TrainConfig(epochs=5, lr=0.05, patience=1), device="cpu").fit(
        tr, va, progress=False
    )
    assert len(result.history) == 5 and result.best_epoch == 5
    assert result.best_val_loss == result.history[-1]["val_loss"]
    assert result.seconds >= sum(h["seconds"] for h in result.history) * 0.5


# --- early stopping and the best checkpoint, with scripted validation losses --------------------------------


class Marker(nn.Module):
    """A parameter that the fake training epoch sets to the epoch number."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, tokens, lengths):  # pragma: no cover - never called with the fake run_epoch
        raise AssertionError


def scripted_fit(monkeypatch, val_losses, patience, epochs=None, val_accs=None, **options):
    model = Marker()
    epoch = {"n": 0}
    snapshots = {}

    def fake_run_epoch(model_, loader, device, optimizer=None, clip=0.0, progress=None, class_weight=None):
        if optimizer is not None:  # a training epoch: move the weights
            epoch["n"] += 1
            with torch.no_grad():
                model_.w.fill_(float(epoch["n"]))
            snapshots[epoch["n"]] = state(model_)
            return EpochScores(1.0, 0.5, 0.5)
        acc = val_accs[epoch["n"] - 1] if val_accs else 0.5
        return EpochScores(val_losses[epoch["n"] - 1], acc, acc)

    monkeypatch.setattr(train_module, "run_epoch", fake_run_epoch)
    cfg = TrainConfig(epochs=epochs or len(val_losses), patience=patience, **options)
    result = Trainer(model, cfg, device="cpu").fit([None], [None], progress=False)
    return model, result, snapshots


def test_scripted_patience_counts_from_the_best_epoch(monkeypatch):
    # best at 2 (0.5), 3 is worse, 4 is a new best (0.4), 5 and 6 are worse -> stop after epoch 6
    model, result, snaps = scripted_fit(monkeypatch, [1.0, 0.5, 0.7, 0.4, 0.6, 0.45, 0.1, 0.05], patience=2)
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5, 6]
    assert result.best_epoch == 4 and result.best_val_loss == 0.4
    assert float(model.w) == 4.0
    assert same_state(state(model), snaps[4])


def test_scripted_best_is_restored_when_epochs_run_out(monkeypatch):
    model, result, _snaps = scripted_fit(monkeypatch, [0.9, 0.3, 0.8], patience=5)
    assert len(result.history) == 3 and result.best_epoch == 2
    assert float(model.w) == 2.0


def test_scripted_equal_loss_is_not_an_improvement(monkeypatch):
    model, result, _ = scripted_fit(monkeypatch, [0.5, 0.5, 0.5, 0.5], patience=2)
    assert len(result.history) == 3 and result.best_epoch == 1 and float(model.w) == 1.0


def test_scripted_lr_decays_after_each_epoch_without_a_better_val_loss(monkeypatch):
    # epoch 3 and 5 are worse than the best so far: the epoch after each runs at half the rate
    _, result, _ = scripted_fit(
        monkeypatch, [1.0, 0.5, 0.7, 0.4, 0.6, 0.3], patience=3, lr=1e-3, lr_decay=0.5
    )
    assert [h["lr"] for h in result.history] == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])


def test_scripted_lr_is_constant_without_decay(monkeypatch):
    _, result, _ = scripted_fit(
        monkeypatch, [1.0, 0.5, 0.7, 0.4, 0.6, 0.3], patience=3, lr=1e-3, lr_decay=1.0
    )
    assert [h["lr"] for h in result.history] == [1e-3] * 6


def test_scripted_val_acc_monitor_restores_the_most_accurate_epoch(monkeypatch):
    # the loss is lowest at epoch 2 but accuracy keeps rising until epoch 4
    losses, accs = [0.5, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6], [0.80, 0.85, 0.86, 0.87, 0.865, 0.86, 0.9]
    model, result, snaps = scripted_fit(monkeypatch, losses, patience=2, val_accs=accs, monitor="val_acc")
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5, 6]
    assert result.best_epoch == 4 and (result.best_val_acc, result.best_val_loss) == (0.87, 0.4)
    assert same_state(state(model), snaps[4])
    model, result, _ = scripted_fit(monkeypatch, losses, patience=2, val_accs=accs)  # default: val_loss
    assert result.best_epoch == 2 and len(result.history) == 4 and float(model.w) == 2.0


def test_scripted_lr_decays_on_the_monitored_score(monkeypatch):
    # accuracy does not improve at epoch 2 (equal) and 4 -> the epochs after them run at a lower rate
    _, result, _ = scripted_fit(
        monkeypatch,
        [0.5, 0.4, 0.3, 0.2, 0.1],
        patience=3,
        val_accs=[0.8, 0.8, 0.9, 0.85, 0.95],
        monitor="val_acc",
        lr=1e-3,
        lr_decay=0.5,
    )
    assert [h["lr"] for h in result.history] == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])


def test_unknown_monitor_is_a_config_error():
    with pytest.raises(ConfigError, match="monitor"):
        TrainConfig(monitor="f1")


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5])
def test_lr_decay_outside_0_1_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="lr_decay"):
        TrainConfig(lr_decay=bad)


# --- history, seeding -------------------------------------------------------------------------------------


def gru_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(2, 30, size=int(rng.integers(1, 12))).tolist() for _ in range(n)]
    labels = [int(s[0] % 2) for s in seqs]
    return seqs, labels


def fit_gru(seed):
    set_seed(seed)
    seqs, labels = gru_data()
    model = models.build_model(
        models.ModelConfig("gru", vocab_size=30, num_classes=2, emb_dim=8, hidden=8, dropout=0.3)
    )
    tr = make_dataloader(seqs[:90], labels[:90], batch_size=16, seed=seed)
    va = make_dataloader(seqs[90:], labels[90:], batch_size=16, shuffle=False, seed=seed)
    result = Trainer(model, TrainConfig(epochs=2, lr=1e-2), device="cpu").fit(tr, va, progress=False)
    return model, result


def test_history_rows():
    _, result = fit_gru(0)
    assert len(result.history) == 2
    for i, row in enumerate(result.history, start=1):
        assert set(row) == HISTORY_KEYS
        assert row["epoch"] == i
        assert row["train_loss"] > 0 and row["val_loss"] > 0 and row["seconds"] >= 0
        assert 0 <= row["train_acc"] <= 1 and 0 <= row["val_acc"] <= 1
        assert all(isinstance(row[k], float) for k in HISTORY_KEYS - {"epoch"})


def test_set_seed_makes_two_fits_identical():
    m1, r1 = fit_gru(0)
    m2, r2 = fit_gru(0)
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]
    assert strip(r1.history) == strip(r2.history)
    assert same_state(state(m1), state(m2))
    m3, _r3 = fit_gru(1)
    assert not same_state(state(m1), state(m3))


def test_set_seed_seeds_python_numpy_torch():
    import random

    set_seed(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_seed(123)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


# --- predict_proba ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gru", "avg"])
def test_predict_proba_keeps_input_order(name):
    torch.manual_seed(0)
    model = models.build_model(models.ModelConfig(name, vocab_size=30, num_classes=3, emb_dim=8, hidden=8))
    rng = np.random.default_rng(0)
    lengths = [7, 1, 0, 12, 3, 3, 9, 1, 15, 2, 5, 0, 8]
    seqs = [rng.integers(1, 30, size=n).tolist() for n in lengths]
    probs = predict_proba(model, seqs, batch_size=4)  # batches sorted by length, rows put back
    assert probs.shape == (len(seqs), 3) and probs.dtype == np.float32
    assert np.allclose(probs.sum(1), 1.0, atol=1e-6)
    single = np.stack([predict_proba(model, [s])[0] for s in seqs])
    assert np.allclose(probs, single, atol=1e-5)
    assert not np.allclose(probs[0], probs[1])  # rows really differ, so order matters
    assert not model.training


def test_predict_proba_empty_input():
    model = BiasOnly()
    assert predict_proba(model, []).shape == (0, 2)


# --- config and devices -------------------------------------------------------------------------------


def test_train_config_defaults():
    assert TrainConfig().to_dict() == {
        "epochs": 10,
        "lr": 2e-3,
        "batch_size": 64,
        "patience": 2,
        "clip": 1.0,
        "weight_decay": 0.0,
        "sparse_embedding": False,
        "lr_decay": 0.5,
        "monitor": "val_loss",
        "freeze_epochs": 0,
        "amp": False,
        "class_weight": None,
    }


@pytest.mark.parametrize(
    "bad",
    [
        dict(epochs=0),
        dict(epochs=-1),
        dict(epochs=2.5),
        dict(batch_size=0),
        dict(lr=0),
        dict(lr=-1e-3),
        dict(lr=float("nan")),
        dict(patience=0),
        dict(clip=-1.0),
        dict(weight_decay=-0.1),
    ],
)
def test_train_config_validation(bad):
    with pytest.raises(ConfigError):
        TrainConfig(**bad)


def test_resolve_device_auto_is_cpu_here():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available on this machine")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_resolve_device_cuda_without_cuda(device):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available on this machine")
    with pytest.raises(ConfigError, match="CUDA is not available") as e:
        resolve_device(device)
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError):
        Trainer(BiasOnly(), device=device)


@pytest.mark.parametrize("device", ["tpu", "nonsense", "meta", 5])
def test_resolve_device_unknown(device):
    with pytest.raises(ConfigError):
        resolve_device(device)


def test_resolve_device_mps_without_mps():
    if torch.backends.mps.is_available():
        pytest.skip("MPS is available on this machine")
    with pytest.raises(ConfigError):
        resolve_device("mps")


def test_trainer_keeps_the_model_on_cpu_and_trains_only_trainable_params():
    model = models.build_model(
        models.ModelConfig("avg", vocab_size=30, num_classes=2, emb_dim=8, hidden=8, freeze_embedding=True)
    )
    frozen = model.embedding.weight.detach().clone()
    before = copy.deepcopy(model.state_dict())
    trainer = Trainer(model, TrainConfig(epochs=1, lr=0.05), device="cpu")
    assert trainer.device == torch.device("cpu")
    seqs, labels = gru_data(40)
    tr = make_dataloader(seqs, labels, batch_size=8)
    trainer.fit(tr, tr, progress=False)
    assert torch.equal(model.embedding.weight, frozen)
    assert not same_state(before, state(model))


# --- small-data options: class weights, a frozen-then-trained embedding, macro-F1 monitor ------------------


def test_class_weights_weight_the_loss_and_its_mean():
    from nlp_pp.training.trainer import run_epoch

    model = models.build_model(models.ModelConfig("avg", vocab_size=10, num_classes=2, emb_dim=4, hidden=4))
    loader = make_dataloader([[2, 3], [4], [5, 6, 7]], [0, 1, 1], batch_size=8, shuffle=False)
    plain = run_epoch(model, loader, torch.device("cpu"))
    logits = predict_proba_logits(model, [[2, 3], [4], [5, 6, 7]])
    nll = -torch.log_softmax(torch.tensor(logits), 1)[torch.arange(3), torch.tensor([0, 1, 1])]
    assert plain.loss == pytest.approx(float(nll.mean()), rel=1e-5)
    w = torch.tensor([3.0, 1.0])
    weighted = run_epoch(model, loader, torch.device("cpu"), class_weight=w)
    expected = float((nll * w[torch.tensor([0, 1, 1])]).sum() / w[torch.tensor([0, 1, 1])].sum())
    assert weighted.loss == pytest.approx(expected, rel=1e-5)


def predict_proba_logits(model, seqs):
    from nlp_pp.training.trainer import predict_logits

    return predict_logits(model, seqs)


def test_freeze_epochs_holds_the_embedding_still_then_trains_it(monkeypatch):
    seqs, labels = gru_data(80)
    model = models.build_model(models.ModelConfig("gru", vocab_size=30, num_classes=2, emb_dim=8, hidden=8))
    before = model.embedding.weight.detach().clone()
    after_epoch, real = [], train_module.run_epoch

    def recording(model_, loader, device, optimizer=None, *a, **k):
        out = real(model_, loader, device, optimizer, *a, **k)
        if optimizer is not None:
            after_epoch.append(model_.embedding.weight.detach().clone())
        return out

    monkeypatch.setattr(train_module, "run_epoch", recording)
    tr = make_dataloader(seqs, labels, batch_size=16)
    va = make_dataloader(seqs[:20], labels[:20], batch_size=16, shuffle=False)
    Trainer(model, TrainConfig(epochs=2, freeze_epochs=1, lr=1e-2, patience=2), device="cpu").fit(
        tr, va, progress=False
    )
    assert torch.equal(after_epoch[0], before)  # frozen in epoch 1
    assert not torch.equal(after_epoch[1], before)  # trained in epoch 2
    assert model.embedding.weight.requires_grad  # released afterwards


def test_monitor_val_f1_restores_the_epoch_of_best_validation_macro_f1(monkeypatch):
    model, result, snapshots = scripted_fit(
        monkeypatch,
        [0.5, 0.4, 0.3, 0.2],
        patience=4,
        val_accs=[0.6, 0.9, 0.7, 0.8],
        monitor="val_f1",
        lr_decay=1.0,
    )
    assert result.best_epoch == 2 and state(model) == snapshots[2]


def test_freeze_epochs_leaves_the_ngram_vectors_training():
    """Only the token embedding waits out freeze_epochs; wide_gru's hashed n-gram vectors are not
    pretrained and train from the first epoch."""
    seqs, labels = gru_data(80)
    tokens = ["<PAD>", "<UNK>", *(f"w{i}" for i in range(28))]
    cfg = models.ModelConfig("wide_gru", vocab_size=30, num_classes=2, emb_dim=8, hidden=8, ngram_buckets=128)
    model = models.build_model(cfg, tokens=tokens)
    word, ngrams = model.embedding.weight.detach().clone(), model.wide.vectors.weight.detach().clone()
    tr = make_dataloader(seqs, labels, batch_size=16)
    va = make_dataloader(seqs[:20], labels[:20], batch_size=16, shuffle=False)
    Trainer(model, TrainConfig(epochs=1, freeze_epochs=1, lr=1e-2), device="cpu").fit(tr, va, progress=False)
    assert torch.equal(model.embedding.weight.detach(), word)
    assert not torch.equal(model.wide.vectors.weight.detach(), ngrams)


# --- sparse embedding gradients -------------------------------------------------------------------------


def test_clip_gradients_takes_sparse_gradients_as_their_dense_equal():
    torch.manual_seed(0)
    dense = nn.Embedding(50, 4)
    sparse = nn.Embedding(50, 4, sparse=True)
    sparse.load_state_dict(dense.state_dict())
    head = [nn.Linear(4, 2), nn.Linear(4, 2)]
    head[1].load_state_dict(head[0].state_dict())
    x = torch.tensor([[1, 2, 2, 7], [7, 3, 1, 1]])  # repeated rows: summed before the norm
    for emb, lin in ((dense, head[0]), (sparse, head[1])):
        (lin(emb(x).mean(1)).pow(2).sum() * 100).backward()
    nn.utils.clip_grad_norm_([*dense.parameters(), *head[0].parameters()], 0.5)
    train_module.clip_gradients([*sparse.parameters(), *head[1].parameters()], 0.5)
    assert sparse.weight.grad.is_sparse
    assert torch.allclose(sparse.weight.grad.to_dense(), dense.weight.grad, atol=1e-6)
    assert torch.allclose(head[1].weight.grad, head[0].weight.grad, atol=1e-6)


def test_sparse_embedding_moves_only_the_rows_of_the_batchs_tokens():
    """With --sparse-embedding (SparseAdam) a word's row moves in the steps whose batch holds the word:
    one Adam step of ``lr`` per coordinate here. Dense Adam (the default) keeps moving it by its
    momentum in the next step too. The tables are dense
    again afterwards, and the learning-rate decay reaches both optimizers."""
    lr, word = 1e-2, 35
    first = (torch.tensor([[word, 3, 4], [5, 6, 0]]), torch.tensor([3, 2]), torch.tensor([1, 0]))
    second = (torch.tensor([[7, 8, 9], [10, 0, 0]]), torch.tensor([3, 1]), torch.tensor([0, 1]))
    cfg = models.ModelConfig("gru", vocab_size=40, num_classes=2, emb_dim=8, hidden=8, dropout=0.0)
    moves = {}
    for name, options in (("sparse", {"sparse_embedding": True}), ("dense", {})):
        torch.manual_seed(0)
        model = models.build_model(cfg)
        before = model.embedding.weight.detach()[word].clone()
        trainer = Trainer(model, TrainConfig(epochs=1, lr=lr, lr_decay=0.5, **options), device="cpu")
        trainer.fit([first, second], [first], progress=False)
        moves[name] = (model.embedding.weight.detach()[word] - before).abs()
        assert not model.embedding.sparse and len(trainer.schedulers) == (2 if name == "sparse" else 1)
    assert torch.allclose(moves["sparse"], torch.full((8,), lr), rtol=1e-3)
    assert (moves["dense"] > lr * 1.5).all()
    # SparseAdam has no weight decay: asked for both, the trainer keeps dense Adam
    asked = TrainConfig(sparse_embedding=True, weight_decay=0.1)
    both = Trainer(models.build_model(cfg), asked, device="cpu")
    assert isinstance(both.optimizer, torch.optim.Adam) and len(both.schedulers) == 1
