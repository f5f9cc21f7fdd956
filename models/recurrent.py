"""Recurrent classifiers: embedding -> dropout -> RNN/LSTM/GRU -> final state or pooled outputs -> head."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .base import TextClassifier, length_mask
from .config import RECURRENT_MODELS, ModelConfig

_CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class AttentionPool(nn.Module):
    """Additive attention over time (Bahdanau et al. 2015; as pooling: Yang et al. 2016).

    ``score_t = v . tanh(W h_t + b)``, ``a = softmax(score)`` over the true positions only,
    output ``sum_t a_t h_t``. Why: the final state of a BiGRU summarises a message through its two
    ends, max/mean treat every position alike; attention learns which positions (a slur, a negation
    at the end of a review) decide the label. Positions past a row's length get weight 0, so padding
    never changes the output; ``forward_dense`` (no padding) is plain softmax and exports.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.score = nn.Linear(dim, 1, bias=False)

    def forward(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Pool ``seq [B, T, D]`` over ``t < lengths`` (each length >= 1)."""
        scores = self.score(torch.tanh(self.proj(seq))).squeeze(-1)  # [B, T]
        mask = length_mask(lengths.to(seq.device), seq.size(1))
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
        return torch.bmm(weights.unsqueeze(1), seq).squeeze(1)

    def forward_dense(self, seq: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.score(torch.tanh(self.proj(seq))).squeeze(-1), dim=1)
        return torch.bmm(weights.unsqueeze(1), seq).squeeze(1)


class RecurrentEncoder(nn.Module):
    """Length-aware recurrent encoder: the last layer's final hidden state, or its outputs pooled.

    A batch with padding is packed, so padding never reaches the state; a batch without padding
    (all lengths equal to its width) runs unpacked, which is faster and gives the same output.
    A length of 0 is read as 1 (the first, PAD, position). Output is ``[B, hidden * directions]``
    (forward and backward concatenated when bidirectional). ``pooling="max"``, ``"mean"`` or
    ``"attention"`` (:class:`AttentionPool`) pools the top layer's outputs over the true positions
    instead of taking the final state.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden: int,
        layers: int,
        bidirectional: bool,
        dropout: float,
        pooling: str = "last",
    ) -> None:
        super().__init__()
        self.pooling = pooling
        self.rnn = _CELLS[cell](
            input_size,
            hidden,
            num_layers=layers,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
            batch_first=True,
        )
        self.directions = 2 if bidirectional else 1
        self.out_dim = hidden * self.directions
        self.attention = AttentionPool(self.out_dim) if pooling == "attention" else None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.cpu().to(torch.int64).clamp(min=1)
        if bool((lengths == x.size(1)).all()):
            # no padding in this batch (the bucketed loaders make most batches so): the dense
            # kernels are faster than packed ones and give the same result
            return self.forward_dense(x)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)  # h: [layers * directions, B, hidden], in input order
        if self.pooling != "last":
            seq, lens = pad_packed_sequence(out, batch_first=True)  # [B, T', D], zeros past each length
            if self.attention is not None:
                return self.attention(seq, lens)
            mask = (torch.arange(seq.size(1)).unsqueeze(0) < lens.unsqueeze(1)).to(seq.device).unsqueeze(2)
            if self.pooling == "max":
                return seq.masked_fill(~mask, float("-inf")).max(dim=1).values
            return seq.sum(dim=1) / lens.to(seq.device, seq.dtype).unsqueeze(1)
        return self._final_state(h)

    def forward_dense(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ``x [B, T, E]`` (``T >= 1``) with no padding: the unpacked path, export-friendly."""
        out, h = self.rnn(x)
        if self.attention is not None:
            return self.attention.forward_dense(out)
        if self.pooling == "max":
            return out.max(dim=1).values
        if self.pooling == "mean":
            return out.mean(dim=1)
        return self._final_state(h)

    def _final_state(self, h: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        if isinstance(h, tuple):  # LSTM returns (h, c)
            h = h[0]
        return h[-self.directions :].transpose(0, 1).reshape(-1, self.out_dim)


class RecurrentClassifier(TextClassifier):
    """Embedding -> dropout -> RNN/LSTM/GRU (cell = ``config.name``) -> dropout -> Linear."""

    names = RECURRENT_MODELS

    def __init__(
        self, config: ModelConfig, embedding_matrix: np.ndarray | torch.Tensor | None = None
    ) -> None:
        super().__init__(config, embedding_matrix)
        self.encoder = RecurrentEncoder(
            config.name,
            config.emb_dim,
            config.hidden,
            config.layers,
            config.bidirectional,
            config.dropout,
            config.pooling,
        )
        self.head = self.make_head(self.encoder.out_dim, mlp=False)

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.dropout(self.embedding(tokens)), lengths)

    def encode_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.encoder.forward_dense(self.dropout(self.embedding(tokens)))


class RNNClassifier(RecurrentClassifier):
    """Elman RNN (tanh) classifier."""

    names = ("rnn",)


class LSTMClassifier(RecurrentClassifier):
    """LSTM classifier."""

    names = ("lstm",)


class GRUClassifier(RecurrentClassifier):
    """GRU classifier."""

    names = ("gru",)
