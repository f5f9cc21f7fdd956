"""Two granularities of one message: each morpheme's embedding beside a CNN over its jamo, into a BiGRU.

Why: a morpheme embedding knows a word only if the vocabulary does, and only as a whole; the
strongest published non-transformer NSMC results read words, syllables and jamo together. Here
each token's representation is its morpheme embedding concatenated with a character-aware vector
(Kim et al. 2016): a small CNN over the token's jamo (three per Hangul syllable, so widths 3 and 6
see one and two syllables, 2 and 4 the pieces in between), max-pooled. A misspelled, rare or
unknown-to-FastText word still gets a spelling-based vector, and the same spelling in another word
shares it. The jamo of every vocabulary entry are a buffer (:func:`models.spelling.jamo_table`),
looked up from the token ids the model receives, so batching, runners and export stay unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import TextClassifier
from .config import ModelConfig
from .recurrent import RecurrentEncoder
from .spelling import CHAR_VOCAB, jamo_table


class JamoCNN(nn.Module):
    """``token ids [B, T] -> [B, T, char_filters * len(char_kernel_sizes)]`` from each token's jamo.

    Every token has ``char_len`` jamo slots (zero-padded and embedded as zero vectors), so its
    vector depends on the token alone, never on the batch. A width longer than ``char_len`` sees
    zeros beyond it (the slots are padded to the widest kernel).
    """

    def __init__(self, config: ModelConfig, tokens: list[str] | None) -> None:
        super().__init__()
        V, L = config.vocab_size, config.char_len
        table = (  # without tokens: a shell for load_state_dict (on the "meta" device: no memory)
            torch.zeros((V, L), dtype=torch.int16)
            if tokens is None
            else torch.from_numpy(jamo_table(tokens, L, config.pad_idx))
        )
        self.register_buffer("table", table)
        self.chars = nn.Embedding(CHAR_VOCAB, config.char_dim, padding_idx=0)
        self.kernel_sizes = tuple(config.char_kernel_sizes)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.char_dim, config.char_filters, k) for k in self.kernel_sizes
        )
        self.width = max(L, max(self.kernel_sizes))
        self.out_dim = config.char_filters * len(self.kernel_sizes)

    def spell(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids [N]`` (token ids) -> ``[N, out_dim]``."""
        x = self.chars(self.table[ids].long()).transpose(1, 2)  # [N, char_dim, L]
        x = F.pad(x, (0, self.width - x.size(-1)))
        # max over all windows: the width is a constant, so max_pool1d (cheaper backward than amax; MaxPool)
        return torch.cat(
            [
                F.max_pool1d(F.relu(conv(x)), self.width - k + 1).flatten(1)
                for k, conv in zip(self.kernel_sizes, self.convs)
            ],
            dim=1,
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Each distinct token of the batch is spelled once (tokens repeat: fewer convolutions)."""
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return self.forward_dense(tokens)
        unique, inverse = torch.unique(tokens, return_inverse=True)
        return self.spell(unique)[inverse]

    def forward_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        """Every position spelled (no data-dependent shapes): the exported path."""
        B, T = tokens.shape
        return self.spell(tokens.reshape(-1)).reshape(B, T, self.out_dim)

    def check_buffers(self) -> None:
        if self.table.numel() and (int(self.table.min()) < 0 or int(self.table.max()) >= CHAR_VOCAB):
            raise ValueError(f"the jamo table holds ids outside [0, {CHAR_VOCAB})")


class JamoGRUClassifier(TextClassifier):
    """[Embedding || JamoCNN] per token -> dropout -> BiGRU (``pooling``) -> dropout -> Linear.

    ``config.name`` is ``"jamo_gru"``; ``tokens`` is the vocabulary (index order), needed to spell
    each entry.
    """

    names = ("jamo_gru",)
    needs_tokens = True

    def __init__(
        self,
        config: ModelConfig,
        embedding_matrix: np.ndarray | torch.Tensor | None = None,
        tokens: list[str] | None = None,
    ) -> None:
        super().__init__(config, embedding_matrix)
        self.check_tokens(tokens)
        self.spelling = JamoCNN(config, tokens)
        self.encoder = RecurrentEncoder(
            "gru",
            config.emb_dim + self.spelling.out_dim,
            config.hidden,
            config.layers,
            config.bidirectional,
            config.dropout,
            config.pooling,
        )
        self.head = self.make_head(self.encoder.out_dim, mlp=False)

    def embedding_tables(self) -> list[nn.Embedding]:
        return [self.embedding]  # the jamo embedding is not indexed by token id

    def entry_buffers(self) -> list[torch.Tensor]:
        return [self.spelling.table]

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.embedding(tokens), self.spelling(tokens)], dim=-1)
        return self.encoder(self.dropout(x), lengths)

    def encode_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        # spelling(): each distinct token once in eager inference, every position when traced for export
        x = torch.cat([self.embedding(tokens), self.spelling(tokens)], dim=-1)
        return self.encoder.forward_dense(self.dropout(x))

    def check_buffers(self) -> None:
        self.spelling.check_buffers()
