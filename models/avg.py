"""Averaged-embedding baseline: mean embedding over the true length -> MLP head."""

from __future__ import annotations

import numpy as np
import torch

from .base import TextClassifier, length_mask
from .config import ModelConfig


class AvgClassifier(TextClassifier):
    """Embedding -> masked mean -> Linear(hidden) -> ReLU -> dropout -> Linear.

    Padding is excluded from the mean; a length-0 row averages to the zero vector.
    """

    names = ("avg",)

    def __init__(
        self, config: ModelConfig, embedding_matrix: np.ndarray | torch.Tensor | None = None
    ) -> None:
        super().__init__(config, embedding_matrix)
        self.head = self.make_head(config.emb_dim, mlp=True, input_dropout=False)

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        emb = self.embedding(tokens)
        mask = length_mask(lengths, tokens.size(1)).unsqueeze(-1).to(emb.dtype)
        total = (emb * mask).sum(dim=1)
        return total / lengths.clamp(min=1).unsqueeze(1).to(emb.dtype)

    def encode_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embedding(tokens).mean(dim=1)
