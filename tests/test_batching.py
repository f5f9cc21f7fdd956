"""Tests of nlp_pp.vectors.batching: context length, padding, encoding, collation, bucketed batches."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from nlp_pp.errors import ConfigError
from nlp_pp.vectors.batching import (
    BucketBatchSampler,
    EncodedDataset,
    choose_context_length,
    collate_batch,
    encode_corpus,
    make_dataloader,
    pad_sequences,
    truncate,
)
from nlp_pp.vectors.vocab import UNK_IDX, Vocab

# --- context length -------------------------------------------------------------------------------------


def test_choose_context_length_default_percentile_is_95():
    assert choose_context_length(list(range(1, 101))) == 96  # np.percentile = 95.05 -> ceil
    assert choose_context_length([10] * 19 + [1000]) == 60  # 10 + 0.05 * 990 = 59.5 -> 60
    assert choose_context_length([10] * 19 + [1000], percentile=100) == 1000
    assert choose_context_length([1, 2, 3, 4, 100], percentile=80) == 24  # 23.2 rounded up
    assert choose_context_length([7, 7, 7], percentile=50) == 7


def test_choose_context_length_minimum_and_empty():
    assert choose_context_length([]) == 1
    assert choose_context_length([], minimum=8) == 8
    assert choose_context_length([0, 0, 0]) == 1
    assert choose_context_length([2, 3], minimum=10) == 10


@pytest.mark.parametrize("p", [0, -5, 100.5])
def test_choose_context_length_bad_percentile(p):
    with pytest.raises(ConfigError):
        choose_context_length([1, 2, 3], percentile=p)


# --- truncate / pad ----------------------------------------------------------------------------------------


def test_truncate():
    assert truncate([1, 2, 3, 4], 2) == [1, 2]
    assert truncate([1, 2, 3, 4], 2, "pre") == [3, 4]
    assert truncate([1, 2], 5) == [1, 2]
    assert truncate([1, 2, 3], 0) == [] and truncate([1, 2, 3], 0, "pre") == []
    with pytest.raises(ConfigError):
        truncate([1], 1, "middle")


@pytest.mark.parametrize(
    "padding, truncating, expected",
    [
        ("post", "post", [[1, 2, 3], [4, 0, 0], [6, 7, 8]]),
        ("pre", "post", [[1, 2, 3], [0, 0, 4], [6, 7, 8]]),
        ("post", "pre", [[1, 2, 3], [4, 0, 0], [7, 8, 9]]),
        ("pre", "pre", [[1, 2, 3], [0, 0, 4], [7, 8, 9]]),
    ],
)
def test_pad_sequences_padding_and_truncating(padding, truncating, expected):
    out = pad_sequences([[1, 2, 3], [4], [6, 7, 8, 9]], maxlen=3, padding=padding, truncating=truncating)
    assert out.dtype == np.int64 and out.shape == (3, 3)
    assert out.tolist() == expected


def test_pad_sequences_defaults():
    assert pad_sequences([[1, 2, 3], [4], []]).tolist() == [[1, 2, 3], [4, 0, 0], [0, 0, 0]]
    assert pad_sequences([[1], [2, 3]], maxlen=4, value=-1).tolist() == [[1, -1, -1, -1], [2, 3, -1, -1]]
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    with pytest.raises(ConfigError):
        pad_sequences([[1]], padding="middle")


# --- encode_corpus ------------------------------------------------------------------------------------


def test_encode_corpus_truncation():
    vocab = Vocab.build([["a", "b", "c", "d"]], min_count=1)  # a=2, b=3, c=4, d=5
    lists = [["a", "b", "c", "d", "zz"], ["b"], []]
    assert encode_corpus(lists, vocab, maxlen=3) == [[2, 3, 4], [3], []]
    assert encode_corpus(lists, vocab, maxlen=3, truncating="pre") == [[4, 5, UNK_IDX], [3], []]
    assert encode_corpus(lists, vocab, maxlen=10) == [[2, 3, 4, 5, UNK_IDX], [3], []]


# --- collate ---------------------------------------------------------------------------------------------


def item(seq, label):
    return torch.tensor(seq, dtype=torch.long), torch.tensor(label)


def test_collate_batch_pads_to_batch_max_with_true_lengths():
    tokens, lengths, labels = collate_batch([item([5, 6, 7], 0), item([8], 1), item([], 1)])
    assert tokens.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert tokens.dtype == torch.int64
    assert lengths.tolist() == [3, 1, 0]  # the empty sequence keeps length 0
    assert lengths.dtype == torch.int64 and lengths.device.type == "cpu"
    assert labels.tolist() == [0, 1, 1]


def test_collate_batch_all_empty():
    tokens, lengths, _labels = collate_batch([item([], 0), item([], 1)])
    assert tokens.shape == (2, 1) and tokens.tolist() == [[0], [0]]
    assert lengths.tolist() == [0, 0]


def test_collate_batch_fixed_length():
    tokens, lengths, _ = collate_batch([item([1, 2, 3], 0), item([4], 0)], fixed_length=5)
    assert tokens.tolist() == [[1, 2, 3, 0, 0], [4, 0, 0, 0, 0]]
    assert lengths.tolist() == [3, 1]
    tokens, lengths, _ = collate_batch([item([1, 2, 3], 0), item([4], 0)], fixed_length=2)
    assert tokens.tolist() == [[1, 2], [4, 0]]
    assert lengths.tolist() == [2, 1]  # lengths never exceed the width


def test_encoded_dataset():
    ds = EncodedDataset([[1, 2], [3], []], np.array([0, 1, 0]))
    assert len(ds) == 3 and ds.lengths() == [2, 1, 0]
    seq, label = ds[0]
    assert seq.tolist() == [1, 2] and int(label) == 0
    with pytest.raises(ConfigError):
        EncodedDataset([[1]], [0, 1])


def test_encoded_dataset_takes_read_only_labels_silently_and_copies_them():
    labels = np.array([0, 1])
    labels.flags.writeable = False  # e.g. a pandas column's values
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = EncodedDataset([[1], [2]], labels)
    assert ds.labels.tolist() == [0, 1] and not np.shares_memory(ds.labels.numpy(), labels)


# --- bucketed batches -------------------------------------------------------------------------------------

LENGTHS = np.random.default_rng(0).integers(1, 101, size=1000).tolist()


def batch_spread(batches, lengths):
    return float(np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]))


def test_bucket_sampler_every_index_once_per_epoch():
    s = BucketBatchSampler(LENGTHS, batch_size=16, seed=0)
    for _ in range(3):
        batches = list(s)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(1000))
        assert all(1 <= len(b) <= 16 for b in batches)
        assert len(batches) == len(s)


def test_bucket_sampler_len():
    # lengths [1, 1, 1, 2, 2, 3] with batch size 2: [1, 1] and [2, 2] are full; the rest [1, 3] is one batch
    assert len(BucketBatchSampler([1, 1, 1, 2, 2, 3], batch_size=2)) == 3
    assert len(BucketBatchSampler(LENGTHS[:7], batch_size=3)) == 3
    assert len(BucketBatchSampler([], batch_size=3)) == 0 and list(BucketBatchSampler([], batch_size=3)) == []
    for n, bs in [(1, 1), (17, 4), (100, 7), (999, 32)]:
        for lengths in (list(range(n)), [i % 5 for i in range(n)], LENGTHS[:n]):
            s = BucketBatchSampler(lengths, batch_size=bs)
            assert len(s) == len(list(s)) == len(list(s))


def test_bucket_sampler_makes_equal_length_batches():
    # 5,000 lengths from 1..40 (like a corpus): nearly every batch is full and of one length
    lengths = np.random.default_rng(0).integers(1, 41, size=5000).tolist()
    batches = list(BucketBatchSampler(lengths, batch_size=32, seed=0))
    uniform = [b for b in batches if len(b) == 32 and len({lengths[i] for i in b}) == 1]
    assert len(batches) - len(uniform) <= 39  # leftovers: at most 31 per length, ceil(40 * 31 / 32)
    assert sum(len(b) for b in uniform) > 0.75 * 5000


def test_bucket_sampler_groups_similar_lengths():
    s = BucketBatchSampler(LENGTHS, batch_size=16, seed=0)
    bucketed = batch_spread(list(s), LENGTHS)
    rng = np.random.default_rng(1)
    perm = rng.permutation(1000).tolist()
    random_batches = [perm[i : i + 16] for i in range(0, 1000, 16)]
    unbucketed = batch_spread(random_batches, LENGTHS)
    assert unbucketed > 60  # ~ 85 for 16 uniform draws from 1..100
    assert bucketed < 0.15 * unbucketed


def test_bucket_sampler_reshuffles_each_epoch_and_is_seeded():
    s = BucketBatchSampler(LENGTHS, batch_size=16, seed=0)
    e1, e2 = list(s), list(s)
    assert e1 != e2
    t = BucketBatchSampler(LENGTHS, batch_size=16, seed=0)
    assert list(t) == e1 and list(t) == e2  # same seed -> same sequence of epochs
    assert list(BucketBatchSampler(LENGTHS, batch_size=16, seed=1)) != e1


def test_bucket_sampler_no_shuffle_is_sorted_and_stable():
    s = BucketBatchSampler([3, 1, 2, 1, 5], batch_size=2, shuffle=False)
    assert list(s) == [[1, 3], [2, 0], [4]]
    assert list(s) == [[1, 3], [2, 0], [4]]


def test_bucket_sampler_bad_batch_size():
    with pytest.raises(ConfigError):
        BucketBatchSampler([1, 2], batch_size=0)


# --- DataLoaders ------------------------------------------------------------------------------------------


def sequences(n=200, seed=0):
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(2, 50, size=int(rng.integers(0, 30))).tolist() for _ in range(n)]
    labels = [i % 3 for i in range(n)]
    return seqs, labels


def test_make_dataloader_bucketed():
    seqs, labels = sequences()
    dl = make_dataloader(seqs, labels, batch_size=16, seed=0)
    seen_labels = []
    total = 0
    for tokens, lengths, ys in dl:
        assert tokens.shape[1] == max(1, int(lengths.max()))  # pads to the batch's longest only
        for row, n in zip(tokens.tolist(), lengths.tolist()):
            assert all(t != 0 for t in row[:n]) and all(t == 0 for t in row[n:])
        total += len(ys)
        seen_labels += ys.tolist()
    assert total == 200 and sorted(seen_labels) == sorted(labels)
    assert len(dl) == len(list(dl))
    # a second pass is a new epoch: another order
    first = [ys.tolist() for _, _, ys in dl]
    second = [ys.tolist() for _, _, ys in dl]
    assert first != second


def test_make_dataloader_fixed_length():
    seqs, labels = sequences()
    dl = make_dataloader(seqs, labels, batch_size=16, fixed_length=12, shuffle=False)
    rows = []
    for tokens, lengths, _ in dl:
        assert tokens.shape[1] == 12
        assert int(lengths.max()) <= 12
        rows += tokens.tolist()
    expected = pad_sequences(seqs, maxlen=12, padding="post", truncating="post").tolist()
    assert rows == expected  # in order, post-padded and post-truncated


def test_make_dataloader_unbucketed_in_order():
    seqs, labels = sequences(20)
    dl = make_dataloader(seqs, labels, batch_size=8, bucket=False, shuffle=False)
    got = [lab for _, _, ys in dl for lab in ys.tolist()]
    assert got == labels
    assert [len(ys) for _, _, ys in dl] == [8, 8, 4]


def test_soft_labels_batch_alike_from_lists_and_from_arrays():
    from nlp_pp.vectors.tokenstore import EncodedArrays

    seqs = [[4, 5, 6], [7], [8, 9], [5]]
    soft = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.0, 1.0]], dtype=np.float32)
    batches = [
        list(make_dataloader(s, soft, batch_size=2, shuffle=True, seed=3))
        for s in (seqs, EncodedArrays.from_lists(seqs))
    ]
    for (t1, l1, y1), (t2, l2, y2) in zip(*batches):
        assert torch.equal(t1, t2) and torch.equal(l1, l2) and torch.equal(y1, y2)
        assert y1.dtype == torch.float32 and y1.shape == (len(t1), 2)
    with pytest.raises(ValueError, match="soft labels"):
        make_dataloader(EncodedArrays.from_lists(seqs), soft[:3], batch_size=2)
