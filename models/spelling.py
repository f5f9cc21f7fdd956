"""What each vocabulary entry is spelled with, as integer tables the models keep as buffers.

The classifiers receive token ids only (one input everywhere: batching, runners, export). Families
that read spelling -- ``wide_gru`` (hashed character/jamo n-grams) and ``jamo_gru`` (a CNN over each
token's jamo) -- turn the vocabulary into per-entry tables once, when the model is built, and keep
them as buffers: they travel in ``model.checkpoint()`` and in the exported ONNX/TorchScript graph, and
``table[token_ids]`` inside the model gives the spelling of a whole batch.

Tokens are read through :func:`nlp_pp.text.hangul.compose` first, so the tables are the same whether
the vocabulary holds jamo-decomposed tokens (``--jamo``, the default) or syllables. Hashes are
CRC-32 of the UTF-8 feature string: stable across processes, platforms and Python versions (Python's
``hash`` of a string is not).

Row ``pad_idx`` is empty (all zeros: no feature, no character). The ``<UNK>`` row has no spelling; in
the wide table it holds one feature of its own (every unknown word shares it).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from nlp_pp.text.hangul import EMPTY_FINAL, compose, decompose

UNK_TOKEN = "<UNK>"
SPECIAL_TOKENS = ("<PAD>", UNK_TOKEN)

# The jamo channel's fixed character inventory (no vocabulary of characters to save or match):
# 0 = padding; conjoining jamo U+1100-U+11FF; the "no final consonant" filler; compatibility jamo
# (ㄱ..ㅣ as typed: ㅋㅋ, ㅅㅂ); printable ASCII; every other character hashed into a few buckets.
_CONJOINING, _FILLER, _COMPAT, _ASCII, _OTHER = 1, 257, 258, 352, 446
OTHER_BUCKETS = 64
CHAR_VOCAB = _OTHER + OTHER_BUCKETS  # 510 ids
CODE_LIMIT = 2**31  # token codes (for hashing bigrams inside the model) lie in [0, CODE_LIMIT)


def stable_hash(text: str) -> int:
    """CRC-32 of ``text`` (UTF-8, surrogates passed through): the same on every machine and run."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def char_id(ch: str) -> int:
    """Id of one character of a jamo-decomposed token in the jamo channel's inventory (never 0)."""
    o = ord(ch)
    if 0x1100 <= o <= 0x11FF:
        return _CONJOINING + o - 0x1100
    if ch == EMPTY_FINAL:
        return _FILLER
    if 0x3131 <= o <= 0x318E:
        return _COMPAT + o - 0x3131
    if 0x21 <= o <= 0x7E:
        return _ASCII + o - 0x21
    return _OTHER + stable_hash(ch) % OTHER_BUCKETS


def _syllables(token: str) -> str:
    return compose(token)


def token_features(
    token: str, char_ngrams: Sequence[int], jamo_ngrams: Sequence[int], slots: int
) -> list[str]:
    """The wide part's features of one vocabulary entry, most important first, at most ``slots``.

    The whole token first (the word unigram of TF-IDF), then syllable n-grams of ``<token>`` (the
    boundaries marked, as scikit-learn's ``char_wb``; a bare boundary is not a feature) from the
    shortest size up, then jamo n-grams of the decomposed token. Duplicates are dropped.
    """
    if token in SPECIAL_TOKENS:
        return ["u:"] if token == UNK_TOKEN else []
    text = _syllables(token)
    feats = [f"w:{text}"]
    marked = f"<{text}>"
    for n in sorted(char_ngrams):
        feats += [f"c:{marked[i : i + n]}" for i in range(len(marked) - n + 1)]
    jamo = decompose(text)
    for n in sorted(jamo_ngrams):
        feats += [f"j:{jamo[i : i + n]}" for i in range(len(jamo) - n + 1)]
    seen: dict[str, None] = {}
    for f in feats:
        if f not in ("c:<", "c:>"):
            seen.setdefault(f, None)
        if len(seen) == slots:
            break
    return list(seen)


def ngram_table(
    tokens: Sequence[str],
    buckets: int,
    char_ngrams: Sequence[int],
    jamo_ngrams: Sequence[int],
    slots: int,
    pad_idx: int = 0,
) -> np.ndarray:
    """``int32 [len(tokens), slots]``: each entry's hashed feature ids in ``[1, buckets)``, 0 = no feature.

    Cached on its arguments: every run of one comparison shares the vocabulary and the options.
    """
    return _ngram_table(tuple(tokens), buckets, tuple(char_ngrams), tuple(jamo_ngrams), slots, pad_idx).copy()


@lru_cache(maxsize=4)
def _ngram_table(
    tokens: tuple[str, ...],
    buckets: int,
    char_ngrams: tuple[int, ...],
    jamo_ngrams: tuple[int, ...],
    slots: int,
    pad_idx: int,
) -> np.ndarray:
    table = np.zeros((len(tokens), slots), dtype=np.int32)
    for i, token in enumerate(tokens):
        if i == pad_idx:
            continue
        ids = [
            1 + stable_hash(f) % (buckets - 1) for f in token_features(token, char_ngrams, jamo_ngrams, slots)
        ]
        table[i, : len(ids)] = ids
    return table


def token_codes(tokens: Sequence[str]) -> np.ndarray:
    """``int64 [len(tokens)]``: a stable code in ``[0, CODE_LIMIT)`` per entry, for hashing token bigrams."""
    return np.fromiter(
        (stable_hash(f"t:{_syllables(t)}") % CODE_LIMIT for t in tokens), dtype=np.int64, count=len(tokens)
    )


def jamo_table(tokens: Sequence[str], length: int, pad_idx: int = 0) -> np.ndarray:
    """``int16 [len(tokens), length]``: each entry's jamo as ids of the fixed inventory (0 = padding).

    Hangul syllables become three jamo (initial, medial, final or the filler), so a syllable is
    three consecutive ids; longer tokens keep their first ``length`` jamo. PAD and ``<UNK>`` rows
    are empty.
    """
    table = np.zeros((len(tokens), length), dtype=np.int16)
    for i, token in enumerate(tokens):
        if i == pad_idx or token in SPECIAL_TOKENS:
            continue
        ids = [char_id(ch) for ch in decompose(_syllables(token))[:length]]
        table[i, : len(ids)] = ids
    return table
