"""Kim (2014) CNN: parallel Conv1d widths -> ReLU -> masked max-over-time -> MLP head."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import TextClassifier, length_mask
from .config import ModelConfig


class ConvEncoder(nn.Module):
    """Parallel 1-D convolutions, ReLU, and max-pooling over time that ignores padding.

    Embeddings at positions ``>= length`` are zeroed and only windows lying fully
    inside the sequence are pooled. A sequence shorter than a kernel (incl. length 0)
    pools its single first window, which sees the real tokens followed by zeros; the
    time axis is zero-padded internally to at least ``max(kernel_sizes)``. The
    result therefore does not depend on how much padding follows.
    Output is ``[B, filters * len(kernel_sizes)]``.
    """

    def __init__(self, emb_dim: int, filters: int, kernel_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.kernel_sizes = tuple(kernel_sizes)
        self.convs = nn.ModuleList(nn.Conv1d(emb_dim, filters, k) for k in self.kernel_sizes)
        self.out_dim = filters * len(self.kernel_sizes)

    def forward(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        T = emb.size(1)
        x = emb.masked_fill(~length_mask(lengths, T).unsqueeze(-1), 0.0).transpose(1, 2)
        x = F.pad(x, (0, max(T, max(self.kernel_sizes)) - T))  # [B, E, >= max kernel]
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            h = F.relu(conv(x))  # [B, filters, width - k + 1]
            valid = length_mask((lengths - k + 1).clamp(min=1), h.size(-1))
            pooled.append(h.masked_fill(~valid.unsqueeze(1), float("-inf")).amax(dim=-1))
        return torch.cat(pooled, dim=1)

    def forward_dense(self, emb: torch.Tensor) -> torch.Tensor:
        """``forward`` for ``emb [B, T, E]`` (``T >= 1``) with no padding, export-friendly.

        The time axis always gets ``max(kernel_sizes) - 1`` zeros (a constant, so the graph does
        not depend on ``T``); for width ``k`` the windows starting at ``0 .. T - k`` are pooled,
        or only the first when ``T < k``, exactly the windows ``forward`` pools.
        """
        x = F.pad(emb.transpose(1, 2), (0, max(self.kernel_sizes) - 1))
        T = emb.size(1)
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            h = F.relu(conv(x))  # [B, filters, T + max_k - k]
            pos = torch.arange(h.size(-1), device=h.device)
            valid = (pos <= T - k) | (pos == 0)
            pooled.append(h.masked_fill(~valid, float("-inf")).amax(dim=-1))
        return torch.cat(pooled, dim=1)


class CNNClassifier(TextClassifier):
    """Embedding -> ConvEncoder -> dropout -> Linear(hidden) -> ReLU -> dropout -> Linear."""

    names = ("cnn",)

    def __init__(
        self, config: ModelConfig, embedding_matrix: np.ndarray | torch.Tensor | None = None
    ) -> None:
        super().__init__(config, embedding_matrix)
        self.conv = ConvEncoder(config.emb_dim, config.filters, config.kernel_sizes)
        self.head = self.make_head(self.conv.out_dim, mlp=True)

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.conv(self.embedding(tokens), lengths)

    def encode_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.conv.forward_dense(self.embedding(tokens))
