"""Text classifiers for padded token batches: ``model(tokens [B, T], lengths [B]) -> logits``.

Build with ``build_model(ModelConfig(name, vocab_size, num_classes, ...), embedding_matrix)``;
save with ``model.checkpoint()`` and rebuild with ``load_checkpoint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any

import numpy as np
import torch

from .avg import AvgClassifier
from .base import TextClassifier
from .cnn import CNNClassifier
from .config import MODEL_NAMES, RECURRENT_MODELS, ModelConfig, as_embedding_matrix, check_config
from .hybrid import HybridClassifier
from .recurrent import GRUClassifier, LSTMClassifier, RecurrentClassifier, RNNClassifier

MODEL_CLASSES: dict[str, type[TextClassifier]] = {
    "rnn": RNNClassifier,
    "lstm": LSTMClassifier,
    "gru": GRUClassifier,
    "cnn": CNNClassifier,
    "hybrid": HybridClassifier,
    "avg": AvgClassifier,
}
assert tuple(MODEL_CLASSES) == MODEL_NAMES


def build_model(
    config: ModelConfig, embedding_matrix: np.ndarray | torch.Tensor | None = None
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

    Raises
    ------
    ValueError
        On an unknown name, an out-of-range field or a mis-shaped matrix.
    """
    check_config(config)
    if embedding_matrix is not None:
        as_embedding_matrix(embedding_matrix, config)  # fail before building anything
    return MODEL_CLASSES[config.name](config, embedding_matrix)


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
    model = build_model(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(
            f"checkpoint state_dict does not fit the {config.name!r} model its config describes: {err}"
        ) from err
    return model.eval()


__all__ = [
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "RECURRENT_MODELS",
    "AvgClassifier",
    "CNNClassifier",
    "GRUClassifier",
    "HybridClassifier",
    "LSTMClassifier",
    "ModelConfig",
    "RNNClassifier",
    "RecurrentClassifier",
    "TextClassifier",
    "build_model",
    "load_checkpoint",
]
