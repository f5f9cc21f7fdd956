"""Hybrid classifier: CNN branch || BiLSTM branch over the embedded sequence."""

from __future__ import annotations

import numpy as np
import torch

from .base import TextClassifier
from .cnn import ConvEncoder
from .config import ModelConfig
from .recurrent import RecurrentEncoder


class HybridClassifier(TextClassifier):
    """Embedding -> [ConvEncoder || BiLSTM final states] -> concat -> dropout -> Linear.

    The LSTM branch is always bidirectional (``config.bidirectional`` is ignored)
    and has ``config.layers`` layers. With ``shared_embedding=False`` the LSTM
    branch reads its own table ``self.lstm_embedding`` (same init matrix, if given);
    ``self.embedding`` then feeds the CNN branch only.
    """

    names = ("hybrid",)

    def __init__(
        self, config: ModelConfig, embedding_matrix: np.ndarray | torch.Tensor | None = None
    ) -> None:
        super().__init__(config, embedding_matrix)
        self.lstm_embedding = None if config.shared_embedding else self.make_embedding(embedding_matrix)
        self.conv = ConvEncoder(config.emb_dim, config.filters, config.kernel_sizes)
        self.lstm = RecurrentEncoder(
            "lstm",
            config.emb_dim,
            config.hidden,
            config.layers,
            bidirectional=True,
            dropout=config.dropout,
        )
        self.head = self.make_head(self.conv.out_dim + self.lstm.out_dim, mlp=False)

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        emb = self.embedding(tokens)
        lstm_emb = emb if self.lstm_embedding is None else self.lstm_embedding(tokens)
        return torch.cat([self.conv(emb, lengths), self.lstm(lstm_emb, lengths)], dim=1)

    def encode_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        emb = self.embedding(tokens)
        lstm_emb = emb if self.lstm_embedding is None else self.lstm_embedding(tokens)
        return torch.cat([self.conv.forward_dense(emb), self.lstm.forward_dense(lstm_emb)], dim=1)
