"""Stable 64-bit text hashes: which texts of one file occur in another."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import ConfigError

HASH_DTYPE = np.dtype("<u8")


def text_hash(text: str) -> int:
    """A stable 64-bit hash of ``text.strip()`` (BLAKE2b, 8 bytes, read little-endian).

    The same message gets the same hash in the labelled splits and in an unlabelled file, on
    every platform and Python version, whatever surrounding whitespace it has.

    >>> text_hash("  영화 재밌어요 ") == text_hash("영화 재밌어요")
    True
    >>> 0 <= text_hash("") < 2**64
    True
    """
    digest = hashlib.blake2b(text.strip().encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def hash_texts(texts: Iterable[str]) -> np.ndarray:
    """:func:`text_hash` of each text as a ``uint64`` array."""
    texts = texts if isinstance(texts, Sequence) else list(texts)
    return np.fromiter((text_hash(t) for t in texts), dtype=np.uint64, count=len(texts))


def hash_array(exclude: Iterable[int] | np.ndarray) -> np.ndarray:
    if isinstance(exclude, np.ndarray):
        if exclude.dtype != np.uint64:
            raise ConfigError(f"exclude must hold uint64 text hashes (got an array of {exclude.dtype})")
        return np.unique(exclude.ravel())
    if isinstance(exclude, (str, bytes)):
        raise TypeError("exclude must be a set of text hashes (ints), not a string")
    values = list(exclude)
    if not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < 2**64 for v in values
    ):
        bad = next(
            v
            for v in values
            if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < 2**64)
        )
        raise ConfigError(f"exclude must hold text hashes, ints in [0, 2**64) (got {bad!r}); see text_hash")
    return np.unique(np.array(values, dtype=np.uint64))


def overlap(text_hashes: np.ndarray, hashes: Iterable[int]) -> int:
    """How many of ``hashes`` (a run's validation/test texts) are among ``text_hashes`` (what vectors saw).

    >>> overlap(np.array([text_hash("a"), text_hash("b")], dtype=np.uint64), {text_hash("b"), text_hash("c")})
    1
    """
    seen = np.asarray(text_hashes)
    if seen.dtype != np.uint64:
        raise ConfigError(f"text_hashes must be a uint64 array (got {seen.dtype})")
    query = hash_array(hashes)
    if query.size == 0 or seen.size == 0:
        return 0
    return int(np.isin(query, seen).sum())
