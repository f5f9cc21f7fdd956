"""Shared base class: embedding -> encoder (per model) -> classifier head."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nlp_pp.errors import ConfigError

from .config import ModelConfig, as_embedding_matrix, check_config


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Bool mask ``[B, max_len]``, True at positions ``< lengths``."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class TextClassifier(nn.Module):
    """Base of all classifiers: ``forward(tokens, lengths) -> logits``.

    Subclasses set ``names`` (the config names they build), create their encoder
    and ``self.head`` in ``__init__`` and implement ``encode``. A family that reads each vocabulary
    entry's spelling sets ``needs_tokens`` and takes the vocabulary as ``tokens=`` (its tables become
    buffers, so a checkpoint rebuilds it without the vocabulary), and checks them in
    ``check_buffers``.

    Parameters
    ----------
    config : ModelConfig
        Validated here; kept as ``self.config``.
    embedding_matrix : numpy.ndarray or torch.Tensor, optional
        ``(vocab_size, emb_dim)`` initial embeddings, copied as float32.
    """

    names: ClassVar[tuple[str, ...]] = ()
    needs_tokens: ClassVar[bool] = False

    def __init__(
        self, config: ModelConfig, embedding_matrix: np.ndarray | torch.Tensor | None = None
    ) -> None:
        super().__init__()
        check_config(config)
        if config.name not in self.names:
            raise ValueError(
                f"{type(self).__name__} builds {self.names} models, not {config.name!r}; "
                "use models.build_model(config)"
            )
        self.config = config
        self.embedding = self.make_embedding(embedding_matrix)
        self.dropout = nn.Dropout(config.dropout)

    def check_tokens(self, tokens) -> None:
        """``tokens`` (the vocabulary, index order) is ``None`` (a shell for ``load_state_dict``) or
        ``vocab_size`` strings."""
        if tokens is None:
            return
        if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
            raise ConfigError("tokens must be the vocabulary: a list of strings in index order")
        if len(tokens) != self.config.vocab_size:
            raise ConfigError(
                f"tokens has {len(tokens)} entries but vocab_size is {self.config.vocab_size}; "
                "pass the vocabulary the token ids come from"
            )

    def check_buffers(self) -> None:
        """Raise ``ValueError`` if a buffer loaded from a checkpoint cannot be right (ids out of range)."""

    def make_embedding(self, embedding_matrix: np.ndarray | torch.Tensor | None = None) -> nn.Embedding:
        """A new embedding table: default init (PAD row zero) or a copy of the matrix."""
        cfg = self.config
        emb = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=cfg.pad_idx)
        if embedding_matrix is not None:
            with torch.no_grad():
                emb.weight.copy_(as_embedding_matrix(embedding_matrix, cfg))
        emb.weight.requires_grad_(not cfg.freeze_embedding)
        return emb

    def make_head(self, in_features: int, mlp: bool, input_dropout: bool = True) -> nn.Sequential:
        """Classifier head: ``[dropout] -> [Linear(hidden) -> ReLU -> dropout] -> Linear(num_classes)``."""
        cfg = self.config
        layers: list[nn.Module] = [nn.Dropout(cfg.dropout)] if input_dropout else []
        if mlp:
            layers += [nn.Linear(in_features, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout)]
            in_features = cfg.hidden
        layers.append(nn.Linear(in_features, cfg.num_classes))
        return nn.Sequential(*layers)

    def embedding_tables(self) -> list[nn.Embedding]:
        """All distinct embedding tables (two for a hybrid with ``shared_embedding=False``)."""
        return [m for m in self.modules() if isinstance(m, nn.Embedding)]

    def entry_buffers(self) -> list[torch.Tensor]:
        """Buffers with one row per vocabulary entry (a word's spelling), beside the embedding tables."""
        return []

    def as_unknown(self, first: int, unk: int) -> None:
        """Make vocabulary entries ``first..`` read as entry ``unk``: their embedding rows and their
        rows of :meth:`entry_buffers` become ``unk``'s (words a random-init model never trained on)."""
        with torch.no_grad():
            for table in self.embedding_tables():
                table.weight[first:] = table.weight[unk]
            for rows in self.entry_buffers():
                rows[first:] = rows[unk]

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Map ``tokens [B, T]`` and ``lengths [B]`` to features ``[B, D]``."""
        raise NotImplementedError

    def encode_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        """Features ``[B, D]`` for a batch without padding (every sequence fills all ``T >= 1`` steps).

        Subclasses override this with a path free of data-dependent Python control flow, so it
        traces and exports with dynamic ``B`` and ``T``; this fallback calls ``encode`` with full
        lengths (correct, but not guaranteed to export).
        """
        lengths = torch.full((tokens.size(0),), tokens.size(1), dtype=torch.long, device=tokens.device)
        return self.encode(tokens, lengths)

    def forward_dense(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, num_classes]`` for ``tokens [B, T]`` (``T >= 1``) in which no row is padded.

        Equal (up to float rounding) to ``forward(tokens, full(B, T))``, without its input checks
        or branches; used by ``nlp_pp.deploy.graphs`` for TorchScript/ONNX export and length-grouped
        inference.
        """
        return self.head(self.encode_dense(tokens))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Classify a padded batch.

        Parameters
        ----------
        tokens : LongTensor [B, T]
            Token ids, padded with ``pad_idx`` after each sequence.
        lengths : LongTensor [B]
            True lengths in ``[0, T]``; padding beyond them never affects the output.

        Returns
        -------
        FloatTensor [B, num_classes]
            Unnormalised logits.
        """
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be [B, T], got shape {tuple(tokens.shape)}")
        if lengths.shape != (tokens.size(0),):
            raise ValueError(f"lengths must be [B] = [{tokens.size(0)}], got shape {tuple(lengths.shape)}")
        if tokens.size(1) == 0:  # every message empty: give the encoders one PAD step
            tokens = F.pad(tokens, (0, 1), value=self.config.pad_idx)
        lengths = lengths.to(device=tokens.device, dtype=torch.long)
        if lengths.numel() and (lengths.min() < 0 or lengths.max() > tokens.size(1)):
            raise ValueError(f"lengths must lie in [0, T={tokens.size(1)}]")
        return self.head(self.encode(tokens, lengths))

    def checkpoint(self) -> dict[str, Any]:
        """Snapshot ``{"config": dict, "state_dict": CPU tensors}``; rebuild with
        ``models.load_checkpoint``."""
        state = {k: v.detach().cpu().clone() for k, v in self.state_dict().items()}
        return {"config": asdict(self.config), "state_dict": state}
