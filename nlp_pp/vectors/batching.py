"""Integer encoding, context length, padding, and length-bucketed DataLoaders for packed RNNs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import ConfigError
from ..inputs import check_labels
from .vocab import PAD_IDX, UNK_IDX, Vocab


def choose_context_length(lengths: Sequence[int], percentile: float = 95.0, minimum: int = 1) -> int:
    """The ``percentile``-th percentile of ``lengths`` (rounded up), at least ``minimum``.

    >>> choose_context_length([1, 2, 3, 4, 100], percentile=80)
    24
    """
    if not 0 < percentile <= 100:
        raise ConfigError(f"percentile must be in (0, 100] (got {percentile})")
    if len(lengths) == 0:
        return minimum
    return max(minimum, int(np.ceil(np.percentile(np.asarray(lengths), percentile))))


def truncate(seq: Sequence[int], maxlen: int, side: str = "post") -> list[int]:
    """Keep ``maxlen`` items: the first ones (``side="post"``) or the last ones (``"pre"``)."""
    if side not in ("pre", "post"):
        raise ConfigError(f"truncating must be 'pre' or 'post' (got {side!r})")
    seq = list(seq)
    if len(seq) <= maxlen:
        return seq
    return seq[:maxlen] if side == "post" else seq[len(seq) - maxlen :]


def pad_sequences(
    sequences: Sequence[Sequence[int]],
    maxlen: int | None = None,
    padding: str = "post",
    truncating: str = "post",
    value: int = PAD_IDX,
) -> np.ndarray:
    """A ``(n, maxlen)`` int64 array, Keras-style; ``maxlen=None`` pads to the longest sequence.

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="pre")
    array([[1, 2],
           [0, 4]])
    """
    if padding not in ("pre", "post"):
        raise ConfigError(f"padding must be 'pre' or 'post' (got {padding!r})")
    if maxlen is None:
        maxlen = max((len(s) for s in sequences), default=0)
    out = np.full((len(sequences), maxlen), value, dtype=np.int64)
    for i, s in enumerate(sequences):
        s = truncate(s, maxlen, truncating)
        if s:
            if padding == "post":
                out[i, : len(s)] = s
            else:
                out[i, maxlen - len(s) :] = s
    return out


def encode_corpus(token_lists: Sequence[Sequence[str]], vocab: Vocab, maxlen: int, truncating: str = "post"):
    """Vocabulary indices of each token list, truncated to ``maxlen`` (unpadded).

    Token lists held as arrays (:class:`nlp_pp.vectors.tokenstore.TokenRows`) are encoded with array
    operations into an :class:`~nlp_pp.vectors.tokenstore.EncodedArrays` (the same indices); other
    sequences give a list of lists.
    """
    from .tokenstore import TokenRows, encode_rows

    if isinstance(token_lists, TokenRows):
        if truncating not in ("pre", "post"):
            raise ConfigError(f"truncating must be 'pre' or 'post' (got {truncating!r})")
        return encode_rows(token_lists, vocab.stoi, UNK_IDX, maxlen, truncating)
    return [truncate(vocab.encode(t), maxlen, truncating) for t in token_lists]


def label_tensor(labels: Sequence[int] | np.ndarray, n: int) -> torch.Tensor:
    """``n`` integer class labels as int64, or soft labels (a float array ``[n, C]`` of class
    probabilities, as a distilled student learns from) as float32; a copy, so read-only arrays are fine."""
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        if len(labels) != n or not np.isfinite(labels).all() or (labels < 0).any():
            raise ValueError("soft labels must be one row of finite probabilities >= 0 per sequence")
        return torch.tensor(labels, dtype=torch.float32)
    return torch.tensor(check_labels(labels, n), dtype=torch.long)


class EncodedDataset(Dataset):
    """Index sequences (unpadded) with integer labels, or with soft labels: one row of class
    probabilities per sequence (a float array ``[N, C]``, as a distilled student learns from)."""

    def __init__(self, sequences: Sequence[Sequence[int]], labels: Sequence[int] | np.ndarray):
        self.sequences = [torch.as_tensor(s, dtype=torch.long) for s in sequences]
        if any(len(s) and int(s.min()) < 0 for s in self.sequences):
            raise ValueError("sequences must hold token ids >= 0 (vocabulary indices); found a negative id")
        self.labels = label_tensor(labels, len(self.sequences))

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.sequences[i], self.labels[i]

    def lengths(self) -> list[int]:
        return [len(s) for s in self.sequences]


def collate_batch(
    batch: Sequence[tuple[torch.Tensor, torch.Tensor]], fixed_length: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Post-pad a batch to its longest sequence (or to ``fixed_length``).

    Returns ``(tokens [B, T] int64, lengths [B] int64 on the CPU, labels [B])``; the true lengths
    let models pack the sequences so padding never reaches their final state. An empty sequence
    keeps length 0 (models clamp it).
    """
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    width = fixed_length if fixed_length is not None else max(1, int(lengths.max()))
    tokens = torch.full((len(seqs), width), PAD_IDX, dtype=torch.long)
    for i, s in enumerate(seqs):
        n = min(len(s), width)
        if n:
            tokens[i, :n] = s[:n]
    return tokens, lengths.clamp(max=width), torch.stack(labels)


class ArrayDataset(Dataset):
    """Encoded texts held as flat arrays (:class:`~nlp_pp.vectors.tokenstore.EncodedArrays`) with labels.

    The DataLoader fetches whole batches through ``__getitems__``: a batch is padded from the arrays in
    a few array operations (no tensor per text is ever made), giving exactly the tensors
    :func:`collate_batch` gives for the same texts.
    """

    def __init__(self, encoded, labels: Sequence[int] | np.ndarray, fixed_length: int | None = None):
        self.encoded = encoded
        self.labels = label_tensor(labels, len(encoded))  # integer classes, or soft labels
        self.fixed_length = fixed_length

    def __len__(self) -> int:
        return len(self.encoded)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.as_tensor(self.encoded[i], dtype=torch.long), self.labels[i]

    def __getitems__(self, rows: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index = np.asarray(rows, dtype=np.int64)
        tokens, lengths = self.encoded.batch(index, self.fixed_length, PAD_IDX)
        return torch.from_numpy(tokens), torch.from_numpy(lengths), self.labels[torch.from_numpy(index)]

    def lengths(self) -> np.ndarray:
        return self.encoded.lengths()


def _whole_batch(batch):
    return batch


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of equal-length sequences (similar lengths for the leftovers), in a random order each epoch.

    Each epoch the indices are shuffled and grouped by exact length; every length's group is cut
    into full batches, and what is left of each group (fewer than ``batch_size``) is sorted by
    length and cut into batches too. The batches are then shuffled. On real corpora almost every
    batch therefore has a single length: it needs no padding, and recurrent models run it unpacked,
    on PyTorch's faster dense kernels. The composition of the batches changes every epoch because
    the order within each length does.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True, seed: int = 0):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer (got {batch_size})")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        n, bs = len(self.lengths), self.batch_size
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        order = order[np.argsort(self.lengths[order], kind="stable")]
        batches, rest = [], []
        for group in np.split(order, np.flatnonzero(np.diff(self.lengths[order])) + 1):
            full = len(group) // bs * bs
            batches.extend(group[i : i + bs].tolist() for i in range(0, full, bs))
            rest.extend(group[full:].tolist())
        batches.extend(rest[i : i + bs] for i in range(0, len(rest), bs))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        else:
            batches.sort(key=lambda b: int(self.lengths[b[0]]))
        return iter(batches)

    def __len__(self) -> int:
        if len(self.lengths) == 0:
            return 0
        counts = np.unique(self.lengths, return_counts=True)[1]
        bs = self.batch_size
        return int((counts // bs).sum()) + -(-int((counts % bs).sum()) // bs)


def make_dataloader(
    sequences: Sequence[Sequence[int]],
    labels: Sequence[int],
    batch_size: int = 64,
    *,
    shuffle: bool = True,
    bucket: bool = True,
    fixed_length: int | None = None,
    seed: int = 0,
) -> DataLoader:
    """A DataLoader of ``(tokens, lengths, labels)`` batches.

    ``bucket=True`` (default) groups similar lengths; ``fixed_length`` pads every batch to that
    width instead (the fixed-length post-padding approach, kept for comparison benchmarks).
    """
    from .tokenstore import EncodedArrays

    if isinstance(sequences, EncodedArrays):
        ads = ArrayDataset(sequences, labels, fixed_length)
        if bucket and fixed_length is None:
            sampler = BucketBatchSampler(ads.lengths(), batch_size, shuffle=shuffle, seed=seed)
            return DataLoader(ads, batch_sampler=sampler, collate_fn=_whole_batch)
        # the same draws from the same generator as DataLoader(shuffle=..., generator=g) makes
        g = torch.Generator().manual_seed(seed)
        base = torch.utils.data.RandomSampler(ads, generator=g) if shuffle else range(len(ads))
        sampler = torch.utils.data.BatchSampler(base, batch_size, drop_last=False)
        return DataLoader(ads, batch_sampler=sampler, collate_fn=_whole_batch, generator=g)
    ds = EncodedDataset(sequences, labels)

    def collate(b):
        return collate_batch(b, fixed_length)

    if bucket and fixed_length is None:
        sampler = BucketBatchSampler(ds.lengths(), batch_size, shuffle=shuffle, seed=seed)
        return DataLoader(ds, batch_sampler=sampler, collate_fn=collate)
    g = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=g, collate_fn=collate)
