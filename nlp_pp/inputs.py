"""Checks of what library calls are given: texts, token lists, labels.

A bare string where a list of texts belongs would otherwise be read as one text per character, a
missing value (NaN) as the word ``nan``, bytes as their ``repr``: each is a clear ``TypeError`` or
``ValueError`` naming the argument instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from .errors import ConfigError


def _describe(value: object) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN (a missing value)"
    return f"{type(value).__name__} {value!r:.40}"


def check_texts(texts: Iterable[str], name: str = "texts") -> list[str]:
    """``texts`` as a list of ``str``; ``TypeError`` for a bare string, bytes, or a non-string item.

    >>> check_texts(("a", "b"))
    ['a', 'b']
    >>> check_texts("ab")
    Traceback (most recent call last):
    ...
    TypeError: texts must be a list of strings, not one str: wrap it in a list, e.g. ['ab']
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"{name} must be a list of strings, not one {type(texts).__name__}: "
            f"wrap it in a list, e.g. [{texts!r:.40}]"
        )
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(
                f"{name}[{i}] is {_describe(t)}, not a str; fill or drop missing texts first "
                "(e.g. df[col].fillna(''))"
            )
    return out


def check_token_lists(token_lists: Iterable[Sequence[str]], name: str = "token_lists") -> list[Sequence[str]]:
    """``token_lists`` as a list of token sequences; ``TypeError`` when an item is a bare string or not a
    token."""
    if isinstance(token_lists, (str, bytes)):
        raise TypeError(f"{name} must be a list of token lists, not one {type(token_lists).__name__}")
    out = list(token_lists)
    for i, tokens in enumerate(out):
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
            raise TypeError(
                f"{name}[{i}] is {_describe(tokens)}, not a list of tokens "
                "(preprocess or tokenize the texts first)"
            )
        for t in tokens:
            if not isinstance(t, str):
                raise TypeError(f"{name}[{i}] holds {_describe(t)}, not a str token")
    return out


def check_labels(labels: Sequence[int], n: int | None = None, name: str = "labels") -> np.ndarray:
    """Integer class ids >= 0 as an int64 array; ``ValueError`` for floats with a fraction, negatives or
    NaN."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ConfigError(f"{name} must be a 1-D sequence of class ids (got shape {arr.shape})")
    if n is not None and len(arr) != n:
        raise ConfigError(f"{len(arr)} {name} for {n} sequences; give one label per sequence")
    if arr.size and (
        arr.dtype == bool
        or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating))
    ):
        raise ConfigError(f"{name} must be integer class ids 0..C-1 (got values of type {arr.dtype})")
    if np.issubdtype(arr.dtype, np.floating) and (
        not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr))
    ):
        raise ConfigError(
            f"{name} must be integer class ids 0..C-1; got non-integer values such as "
            f"{arr[~np.isfinite(arr) | (arr != np.round(arr))][:3].tolist()}"
        )
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ConfigError(f"{name} must be class ids >= 0 (got {int(arr.min())})")
    return arr
