"""Model configuration: plain, JSON-serialisable data, and its validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nlp_pp.errors import ConfigError
from nlp_pp.options import REQUIRED, Boolean, Interval, ListOf, OneOf, invalid, option, validate

if TYPE_CHECKING:
    import torch

MODEL_NAMES: tuple[str, ...] = ("rnn", "lstm", "gru", "cnn", "hybrid", "avg", "wide_gru", "jamo_gru")
RECURRENT_MODELS: tuple[str, ...] = ("rnn", "lstm", "gru")
SPELLING_MODELS: tuple[str, ...] = ("wide_gru", "jamo_gru")  # read each vocabulary entry's spelling
POOLINGS: tuple[str, ...] = ("last", "max", "mean", "attention")


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of one classifier; each field's default, constraint and reason are declared here.

    Round-trips through JSON: ``ModelConfig(**json.loads(json.dumps(asdict(cfg))))``
    (``kernel_sizes`` comes back as a list and is turned back into a tuple). Invalid values raise
    :class:`nlp_pp.errors.ConfigError` (a ``ValueError``) naming the field.
    """

    name: str = option(REQUIRED, OneOf(*MODEL_NAMES), "model family", cli=False)
    vocab_size: int = option(
        REQUIRED, Interval(int, 2), "rows of the embedding table (incl. PAD and UNK)", cli=False
    )
    num_classes: int = option(REQUIRED, Interval(int, 2), "number of labels", cli=False)
    emb_dim: int = option(100, Interval(int, 1), "embedding width (and the FastText dimension)")
    hidden: int = option(
        256, Interval(int, 1), "hidden size of recurrent and dense layers (BENCHMARKS.md, accuracy)"
    )
    layers: int = option(
        1, Interval(int, 1), "stacked recurrent layers (BENCHMARKS.md, summary: tried and not adopted)"
    )
    bidirectional: bool = option(
        True, Boolean(), "bidirectional recurrent layers (the hybrid's LSTM branch always is)"
    )
    dropout: float = option(0.3, Interval(float, 0, 1, closed="left"), "dropout probability")
    freeze_embedding: bool = option(False, Boolean(), "keep the embedding layer fixed during training")
    pad_idx: int = option(0, Interval(int, 0), "token id of padding", cli=False)
    kernel_sizes: tuple[int, ...] = option(
        (3, 4, 5), ListOf(Interval(int, 1)), "cnn and hybrid: convolution widths (Kim 2014)"
    )
    filters: int = option(100, Interval(int, 1), "cnn and hybrid: feature maps per width")
    shared_embedding: bool = option(
        True, Boolean(), "hybrid: one embedding layer for the CNN and BiLSTM branches (off: one each)"
    )
    pooling: str = option(
        "last",
        OneOf(*POOLINGS),
        "recurrent models (and wide_gru, jamo_gru): the final hidden state (last), max/mean over the "
        "outputs at the true positions, or attention: a learned weighting of those outputs "
        "(BENCHMARKS.md, summary: tried and not adopted; models: attention pooling)",
    )
    ngram_buckets: int = option(
        2**18,
        Interval(int, 2, 2**30),
        "wide_gru: hash buckets of the wide part's n-gram features (word, character, jamo n-grams and "
        "token bigrams share them) (BENCHMARKS.md, models)",
    )
    char_ngrams: tuple[int, ...] = option(
        (1, 2, 3, 4),
        ListOf(Interval(int, 1, 8), min_len=0),
        "wide_gru: syllable n-gram sizes of each token, with its boundaries marked, as TF-IDF's char_wb "
        "(BENCHMARKS.md, models)",
    )
    jamo_ngrams: tuple[int, ...] = option(
        (2, 3, 4),
        ListOf(Interval(int, 1, 12), min_len=0),
        "wide_gru: jamo n-gram sizes of each token (spellings around a syllable) (BENCHMARKS.md, models)",
    )
    token_bigrams: bool = option(
        True,
        Boolean(),
        "wide_gru: add hashed bigrams of adjacent tokens to the wide part (BENCHMARKS.md, models)",
    )
    ngram_slots: int = option(
        48,
        Interval(int, 1, 1024),
        "wide_gru: most n-gram features kept per vocabulary entry (the word first, then short n-grams "
        "before long ones)",
    )
    wide_dim: int = option(
        16, Interval(int, 1), "wide_gru: width of the averaged n-gram vector beside the BiGRU's features"
    )
    char_dim: int = option(16, Interval(int, 1), "jamo_gru: jamo embedding width")
    char_filters: int = option(
        32, Interval(int, 1), "jamo_gru: feature maps per width of the CNN over each token's jamo"
    )
    char_kernel_sizes: tuple[int, ...] = option(
        (2, 3, 4, 6),
        ListOf(Interval(int, 1)),
        "jamo_gru: widths of the CNN over each token's jamo (3 jamo = one syllable)",
    )
    char_len: int = option(
        24,
        Interval(int, 1, 256),
        "jamo_gru: jamo kept per token (longer tokens are cut; 24 = 8 syllables)",
    )

    def __post_init__(self) -> None:
        check_config(self)


def check_config(config: ModelConfig) -> None:
    """Raise ``ConfigError`` (a ``ValueError``; ``TypeError`` for a non-config) if ``config`` cannot build a
    model."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"expected a models.ModelConfig, got {type(config).__name__}")
    validate(config)
    if config.pad_idx >= config.vocab_size:
        raise invalid(config, "pad_idx", f"below vocab_size={config.vocab_size}", config.pad_idx)


def as_embedding_matrix(matrix: np.ndarray | torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """Return ``matrix`` as a float32 CPU tensor, checked against ``config``.

    Raises
    ------
    TypeError
        If ``matrix`` is neither a numpy array nor a torch tensor.
    ValueError
        If its shape is not ``(vocab_size, emb_dim)`` or it holds NaN/inf.
    """
    import torch

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
            if m.dim() == 2
            else "pass a 2-D (vocab_size, emb_dim) matrix"
        )
        raise ConfigError(
            f"embedding_matrix has shape {tuple(m.shape)} but the config expects "
            f"(vocab_size, emb_dim) = {expected}; {hint}, or build the matrix from the same vocabulary"
        )
    if not torch.isfinite(m).all():
        raise ConfigError("embedding_matrix contains NaN or inf; replace those rows (e.g. with zeros)")
    return m
