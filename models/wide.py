"""Wide and deep: a BiGRU over the morphemes beside an averaged bag of hashed n-gram features.

Why: on short, noisy comments the signal sits in character and jamo n-grams (slurs spelled around,
ㅅㅂ, spacing tricks), which the TF-IDF baseline reads and a recurrent model over whole morphemes
does not: every neural family stayed below TF-IDF there. The "wide" part sees what TF-IDF sees
(Cheng et al. 2016 combine a linear model over sparse crossed features with a deep network; the
averaged hashed n-grams are fastText's classifier, Joulin et al. 2017), the "deep" part is the
project's BiGRU; one head reads both, and one trainer fits them jointly.

The features of a message are the features of each token -- the token itself, its syllable n-grams
with the boundaries marked (scikit-learn's ``char_wb``) and its jamo n-grams, precomputed per
vocabulary entry (:func:`models.spelling.ngram_table`, a buffer) -- plus the hashed bigram of each
pair of adjacent tokens, computed inside the model from per-entry codes (a second buffer). All
share one table of ``ngram_buckets`` vectors of width ``wide_dim``; the message's wide vector is
their mean over the true positions (a length-0 message gives the zero vector).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from .base import TextClassifier, length_mask
from .config import ModelConfig
from .recurrent import RecurrentEncoder
from .spelling import CODE_LIMIT, ngram_table, token_codes

BIGRAM_MULTIPLIER = 1_000_003  # prime; code * it + code stays below 2**62 (codes < 2**31)


class HashedNgramBag(nn.Module):
    """Mean of the hashed n-gram vectors of a batch: ``(tokens [B, T], lengths [B]) -> [B, wide_dim]``.

    Bucket 0 is "no feature" (a zero row that never trains); bigram ids land in ``[1, buckets)``.
    """

    def __init__(self, config: ModelConfig, tokens: list[str] | None) -> None:
        super().__init__()
        V, K = config.vocab_size, config.ngram_slots
        self.buckets, self.bigrams = config.ngram_buckets, config.token_bigrams
        if tokens is None:  # a shell for load_state_dict (models.load_checkpoint; on "meta": no memory)
            table, codes = torch.zeros((V, K), dtype=torch.int32), torch.zeros(V, dtype=torch.int64)
        else:
            table = torch.from_numpy(
                ngram_table(
                    tokens, config.ngram_buckets, config.char_ngrams, config.jamo_ngrams, K, config.pad_idx
                )
            )
            codes = torch.from_numpy(token_codes(tokens))
        self.register_buffer("table", table)
        self.register_buffer("codes", codes)
        # features per entry, so a message's count is a lookup (no comparison operator in the graph)
        self.register_buffer("sizes", (table > 0).sum(dim=1, dtype=torch.int64))
        self.vectors = nn.Embedding(config.ngram_buckets, config.wide_dim, padding_idx=0)
        nn.init.normal_(self.vectors.weight, std=0.1)  # small: a mean of many N(0, 1) rows starts near 0
        with torch.no_grad():
            self.vectors.weight[0].zero_()
        self.out_dim = config.wide_dim

    def _bigram_ids(self, tokens: torch.Tensor) -> torch.Tensor:
        """Bucket ids ``[B, T - 1]`` of the bigrams ``(t, t + 1)``."""
        codes = self.codes[tokens]
        mixed = codes[:, :-1] * BIGRAM_MULTIPLIER + codes[:, 1:]
        return torch.fmod(mixed, self.buckets - 1) + 1  # non-negative, so fmod is the remainder

    @staticmethod
    def _mean(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """``total / max(count, 1)`` per row (``maximum``, not ``clamp``: one operator fewer to allow)."""
        count = count.to(total.dtype).unsqueeze(1)
        return total / torch.maximum(count, torch.ones_like(count))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        T = tokens.size(1)
        mask = length_mask(lengths.to(tokens.device), T)  # [B, T]
        ids = self.table[tokens].long() * mask.unsqueeze(-1)  # [B, T, K]; padding -> bucket 0
        total = self.vectors(ids).sum(dim=(1, 2))
        count = (self.sizes[tokens] * mask).sum(dim=1)
        if self.bigrams and T > 1:
            pair = mask[:, 1:]  # both tokens inside the message
            big = self._bigram_ids(tokens) * pair
            total = total + self.vectors(big).sum(dim=1)
            count = count + pair.sum(dim=1)
        return self._mean(total, count)

    def forward_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        """``forward`` for a batch without padding (``T >= 1``): no masks, exportable."""
        total = self.vectors(self.table[tokens].long()).sum(dim=(1, 2))
        count = self.sizes[tokens].sum(dim=1)
        if self.bigrams:  # T = 1 gives an empty bigram axis: sum 0, count 0
            big = self._bigram_ids(tokens)
            total = total + self.vectors(big).sum(dim=1)
            count = count + big.size(1)
        return self._mean(total, count)

    def check_buffers(self) -> None:
        """Refuse tables that index outside the bucket table (a corrupt or foreign checkpoint)."""
        if self.table.numel() and (int(self.table.min()) < 0 or int(self.table.max()) >= self.buckets):
            raise ValueError(f"the n-gram table holds ids outside [0, ngram_buckets={self.buckets})")
        if self.codes.numel() and (int(self.codes.min()) < 0 or int(self.codes.max()) >= CODE_LIMIT):
            raise ValueError("the token codes lie outside [0, 2**31)")
        if not torch.equal(self.sizes, (self.table > 0).sum(dim=1)):
            raise ValueError("the n-gram feature counts do not match the n-gram table")


class WideGRUClassifier(TextClassifier):
    """Embedding -> dropout -> BiGRU (``pooling``) || hashed n-gram bag -> concat -> dropout -> Linear.

    ``config.name`` is ``"wide_gru"``; ``bidirectional``, ``layers``, ``hidden`` and ``pooling`` shape the
    GRU as for ``gru``. ``tokens`` is the vocabulary (index order), needed to spell each entry.
    """

    names = ("wide_gru",)
    needs_tokens = True

    def __init__(
        self,
        config: ModelConfig,
        embedding_matrix: np.ndarray | torch.Tensor | None = None,
        tokens: list[str] | None = None,
    ) -> None:
        super().__init__(config, embedding_matrix)
        self.check_tokens(tokens)
        self.encoder = RecurrentEncoder(
            "gru",
            config.emb_dim,
            config.hidden,
            config.layers,
            config.bidirectional,
            config.dropout,
            config.pooling,
        )
        self.wide = HashedNgramBag(config, tokens)
        self.head = self.make_head(self.encoder.out_dim + self.wide.out_dim, mlp=False)

    def embedding_tables(self) -> list[nn.Embedding]:
        return [self.embedding]  # the n-gram vectors are not indexed by token id

    def entry_buffers(self) -> list[torch.Tensor]:
        return [self.wide.table, self.wide.codes, self.wide.sizes]

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        deep = self.encoder(self.dropout(self.embedding(tokens)), lengths)
        return torch.cat([deep, self.wide(tokens, lengths)], dim=1)

    def encode_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        deep = self.encoder.forward_dense(self.dropout(self.embedding(tokens)))
        return torch.cat([deep, self.wide.forward_dense(tokens)], dim=1)

    def check_buffers(self) -> None:
        self.wide.check_buffers()
