"""Text classifiers for padded token batches: ``model(tokens [B, T], lengths [B]) -> logits``.

Build with ``build_model(ModelConfig(name, vocab_size, num_classes, ...), embedding_matrix, tokens=itos)``;
save with ``model.checkpoint()`` and rebuild with ``load_checkpoint``. ``tokens`` (the vocabulary in
index order) is needed by the families that read spelling (``SPELLING_MODELS``) and ignored by the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from typing import Any

import numpy as np
import torch

from nlp_pp.errors import ConfigError

from .avg import AvgClassifier
from .base import TextClassifier
from .cnn import CNNClassifier
from .config import (
    MODEL_NAMES,
    POOLINGS,
    RECURRENT_MODELS,
    SPELLING_MODELS,
    ModelConfig,
    as_embedding_matrix,
    check_config,
)
from .hybrid import HybridClassifier
from .jamo import JamoGRUClassifier
from .recurrent import GRUClassifier, LSTMClassifier, RecurrentClassifier, RNNClassifier
from .wide import WideGRUClassifier

MODEL_CLASSES: dict[str, type[TextClassifier]] = {
    "rnn": RNNClassifier,
    "lstm": LSTMClassifier,
    "gru": GRUClassifier,
    "cnn": CNNClassifier,
    "hybrid": HybridClassifier,
    "avg": AvgClassifier,
    "wide_gru": WideGRUClassifier,
    "jamo_gru": JamoGRUClassifier,
}
assert tuple(MODEL_CLASSES) == MODEL_NAMES
assert tuple(n for n, c in MODEL_CLASSES.items() if c.needs_tokens) == SPELLING_MODELS


def build_model(
    config: ModelConfig,
    embedding_matrix: np.ndarray | torch.Tensor | None = None,
    *,
    tokens: Sequence[str] | None = None,
) -> TextClassifier:
    """Build the classifier named by ``config.name``.

    Parameters
    ----------
    config : ModelConfig
        Validated before anything is built.
    embedding_matrix : numpy.ndarray or torch.Tensor, optional
        ``(vocab_size, emb_dim)`` initial embeddings, copied exactly (as float32,
        PAD row included). Without it, embeddings are ``nn.Embedding``'s default
        init with a zero PAD row.
    tokens : sequence of str, optional
        The vocabulary, ``vocab_size`` tokens in index order (``Vocab.itos``). Required by the
        families in ``SPELLING_MODELS``, which build their spelling tables from it; ignored by the
        others.

    Raises
    ------
    ValueError
        On an unknown name, an out-of-range field, a mis-shaped matrix, or missing/mis-sized
        ``tokens`` for a family that needs them.
    """
    check_config(config)
    if embedding_matrix is not None:
        as_embedding_matrix(embedding_matrix, config)  # fail before building anything
    cls = MODEL_CLASSES[config.name]
    if not cls.needs_tokens:
        return cls(config, embedding_matrix)
    if tokens is None:
        raise ConfigError(
            f"the {config.name} model spells each vocabulary entry: pass tokens=<the vocabulary in index "
            "order> (Vocab.itos)"
        )
    return cls(config, embedding_matrix, tokens=list(tokens))


def load_checkpoint(checkpoint: Mapping[str, Any]) -> TextClassifier:
    """Rebuild a model from ``TextClassifier.checkpoint()`` output; returned in eval mode.

    Raises
    ------
    ValueError
        If keys are missing or the config / state_dict do not describe a valid model.
    """
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"checkpoint must be a dict, got {type(checkpoint).__name__}")
    missing = [k for k in ("config", "state_dict") if k not in checkpoint]
    if missing:
        raise ValueError(f"checkpoint is missing key(s) {missing}; expected the dict from model.checkpoint()")
    raw, state = checkpoint["config"], checkpoint["state_dict"]
    if isinstance(raw, ModelConfig):
        config = raw
    elif isinstance(raw, Mapping):
        known = {f.name for f in fields(ModelConfig)}
        required = {f.name for f in fields(ModelConfig) if f.default is MISSING}
        unknown = sorted(set(raw) - known)
        absent = sorted(required - set(raw))
        if unknown or absent:
            raise ValueError(
                f"checkpoint config is incompatible with ModelConfig: "
                f"unknown fields {unknown}, missing required fields {absent}"
            )
        config = ModelConfig(**raw)
    else:
        raise ValueError(f"checkpoint['config'] must be a dict, got {type(raw).__name__}")
    if not isinstance(state, Mapping):
        raise ValueError(f"checkpoint['state_dict'] must be a dict, got {type(state).__name__}")
    check_config(config)
    check_shapes(config, state)  # before any real allocation: the config cannot promise more than it holds
    model = MODEL_CLASSES[config.name](config)  # spelling tables come with the state_dict
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(
            f"checkpoint state_dict does not fit the {config.name!r} model its config describes: {err}"
        ) from err
    model.check_buffers()
    return model.eval()


def check_shapes(config: ModelConfig, state: Mapping) -> None:
    """Raise ``ValueError`` unless ``state`` holds a tensor of the right shape for every parameter and
    buffer of the model ``config`` describes. The model is laid out on the ``meta`` device (no memory), so
    a crafted config cannot make the loader allocate more than the checkpoint file itself holds."""
    with torch.device("meta"):
        shell = MODEL_CLASSES[config.name](config)
    expected = {k: tuple(v.shape) for k, v in shell.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    wrong = sorted(k for k in expected if found.get(k) != expected[k])
    if wrong:
        k = wrong[0]
        raise ValueError(
            f"checkpoint state_dict does not fit the {config.name!r} model its config describes: "
            f"{len(wrong)} tensor(s) differ, e.g. {k!r} is {found.get(k, 'missing')}, expected {expected[k]}"
        )


__all__ = [
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "POOLINGS",
    "RECURRENT_MODELS",
    "SPELLING_MODELS",
    "AvgClassifier",
    "CNNClassifier",
    "GRUClassifier",
    "HybridClassifier",
    "JamoGRUClassifier",
    "LSTMClassifier",
    "ModelConfig",
    "RNNClassifier",
    "RecurrentClassifier",
    "TextClassifier",
    "WideGRUClassifier",
    "build_model",
    "load_checkpoint",
]
