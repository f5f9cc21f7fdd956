"""Model configuration: plain, JSON-serialisable data, and its validation."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

MODEL_NAMES: tuple[str, ...] = ("rnn", "lstm", "gru", "cnn", "hybrid", "avg")
RECURRENT_MODELS: tuple[str, ...] = ("rnn", "lstm", "gru")
POOLINGS: tuple[str, ...] = ("last", "max", "mean")


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of one classifier.

    Round-trips through JSON: ``ModelConfig(**json.loads(json.dumps(asdict(cfg))))``
    (``kernel_sizes`` comes back as a list and is turned back into a tuple).

    Parameters
    ----------
    name : str
        One of ``MODEL_NAMES``.
    vocab_size, num_classes : int
        Rows of the embedding table (incl. PAD/UNK) and number of labels; both >= 2.
    emb_dim, hidden, layers : int
        Embedding width, recurrent/MLP hidden width, recurrent layers.
    bidirectional : bool
        Recurrent models only (the hybrid's LSTM branch is always bidirectional).
    dropout : float
        Dropout probability in [0, 1).
    freeze_embedding : bool
        If True the embedding table(s) get ``requires_grad=False``.
    pad_idx : int
        Token id of padding.
    kernel_sizes, filters : tuple of int, int
        CNN / hybrid: convolution widths and feature maps per width.
    shared_embedding : bool
        Hybrid only: one embedding table for both branches (True) or one each.
    pooling : str
        Recurrent models: ``"last"`` (the final hidden state), ``"max"`` or ``"mean"`` (over the top
        layer's outputs at the true positions; padding excluded).
    """

    name: str
    vocab_size: int
    num_classes: int
    emb_dim: int = 100
    hidden: int = 128
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.3
    freeze_embedding: bool = False
    pad_idx: int = 0
    kernel_sizes: tuple[int, ...] = (3, 4, 5)
    filters: int = 100
    shared_embedding: bool = True
    pooling: str = "last"

    def __post_init__(self) -> None:
        # Normalise harmless variants so configs compare equal and stay JSON-able:
        # JSON lists -> tuples, numpy scalars (e.g. labels.max() + 1) -> Python scalars.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.generic):
                object.__setattr__(self, f.name, value.item())
        if isinstance(self.kernel_sizes, (list, tuple)):
            ks = tuple(k.item() if isinstance(k, np.generic) else k for k in self.kernel_sizes)
            object.__setattr__(self, "kernel_sizes", ks)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_config(config: ModelConfig) -> None:
    """Raise ``ValueError`` (``TypeError`` for a non-config) if ``config`` cannot build a model."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"expected a models.ModelConfig, got {type(config).__name__}")
    if config.name not in MODEL_NAMES:
        raise ValueError(
            f"unknown model name {config.name!r}; valid names are: {', '.join(MODEL_NAMES)}"
        )
    for field, minimum in (("vocab_size", 2), ("num_classes", 2), ("emb_dim", 1),
                           ("hidden", 1), ("layers", 1), ("filters", 1)):
        value = getattr(config, field)
        if not _is_int(value) or value < minimum:
            raise ValueError(f"ModelConfig.{field} must be an integer >= {minimum}, got {value!r}")
    ks = config.kernel_sizes
    if not isinstance(ks, tuple) or not ks or not all(_is_int(k) and k >= 1 for k in ks):
        raise ValueError(
            f"ModelConfig.kernel_sizes must be a non-empty sequence of integers >= 1, got {ks!r}"
        )
    d = config.dropout
    if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 <= d < 1.0:
        raise ValueError(f"ModelConfig.dropout must be a number in [0, 1), got {d!r}")
    if not _is_int(config.pad_idx) or not 0 <= config.pad_idx < config.vocab_size:
        raise ValueError(
            f"ModelConfig.pad_idx must be an integer in [0, vocab_size={config.vocab_size}), "
            f"got {config.pad_idx!r}"
        )
    if config.pooling not in POOLINGS:
        raise ValueError(f"ModelConfig.pooling must be one of {', '.join(POOLINGS)}, got {config.pooling!r}")
    for field in ("bidirectional", "freeze_embedding", "shared_embedding"):
        if not isinstance(getattr(config, field), bool):
            raise ValueError(f"ModelConfig.{field} must be a bool, got {getattr(config, field)!r}")


def as_embedding_matrix(
    matrix: np.ndarray | torch.Tensor, config: ModelConfig
) -> torch.Tensor:
    """Return ``matrix`` as a float32 CPU tensor, checked against ``config``.

    Raises
    ------
    TypeError
        If ``matrix`` is neither a numpy array nor a torch tensor.
    ValueError
        If its shape is not ``(vocab_size, emb_dim)`` or it holds NaN/inf.
    """
    if isinstance(matrix, torch.Tensor):
        m = matrix.detach().to("cpu", torch.float32)
    elif isinstance(matrix, np.ndarray):
        m = torch.tensor(np.asarray(matrix, dtype=np.float32))
    else:
        raise TypeError(
            f"embedding_matrix must be a numpy array or torch tensor, got {type(matrix).__name__}"
        )
    expected = (config.vocab_size, config.emb_dim)
    if tuple(m.shape) != expected:
        hint = (
            f"set vocab_size={m.shape[0]} and emb_dim={m.shape[1]} in ModelConfig"
            if m.dim() == 2 else "pass a 2-D (vocab_size, emb_dim) matrix"
        )
        raise ValueError(
            f"embedding_matrix has shape {tuple(m.shape)} but the config expects "
            f"(vocab_size, emb_dim) = {expected}; {hint}, or build the matrix from the same vocabulary"
        )
    if not torch.isfinite(m).all():
        raise ValueError("embedding_matrix contains NaN or inf; replace those rows (e.g. with zeros)")
    return m
