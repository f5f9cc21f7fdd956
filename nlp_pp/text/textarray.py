"""Many texts held compactly: one array of UTF-16 code units and the offsets of each text.

A Python ``str`` of Korean text costs its characters at two bytes (four once it holds an emoji)
plus about 74 bytes of object header, and a list of them 8 more each; a million two-review
messages took 382 MiB that way. :class:`TextArray` keeps the same texts in one ``uint16`` array
(two bytes per UTF-16 code unit) and an ``int64`` offset each, and builds a ``str`` only when a
text is read. What a run holds of its splits' raw texts after preprocessing
(:class:`nlp_pp.training.dataset.Prepared`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

UNIT = np.dtype("<u2")  # a UTF-16 code unit, little-endian (the codec's byte order)
_CODEC = "utf-16-le"
_ERRORS = "surrogatepass"  # a lone surrogate in a str (possible in Python) survives the round trip
_BLOCK = 4096  # texts encoded at a time when building


class TextArray(Sequence):
    """An immutable sequence of ``str`` stored as UTF-16 code units plus offsets.

    Indexing with an int gives a ``str``, with a slice a ``list`` of them; ``+`` with another
    sequence of texts gives a ``list`` (as list concatenation would).

    >>> texts = TextArray.from_texts(["광고 문자입니다", "", "밥 먹자 😀"])
    >>> len(texts), texts[2], texts[0:2], list(texts.take([2, 0]))
    (3, '밥 먹자 😀', ['광고 문자입니다', ''], ['밥 먹자 😀', '광고 문자입니다'])
    """

    def __init__(self, units: np.ndarray, offsets: np.ndarray):
        self.units, self.offsets = units, offsets

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> TextArray:
        """The texts of ``texts`` (each must be a ``str``), in order."""
        parts: list[bytes] = []
        lengths: list[int] = []
        block: list[str] = []

        def flush() -> None:
            encoded = [t.encode(_CODEC, _ERRORS) for t in block]
            lengths.extend(len(b) // 2 for b in encoded)
            parts.append(b"".join(encoded))
            block.clear()

        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"a TextArray holds str, not {type(text).__name__}")
            block.append(text)
            if len(block) == _BLOCK:
                flush()
        if block:
            flush()
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        units = np.frombuffer(b"".join(parts), dtype=UNIT).copy() if parts else np.zeros(0, dtype=UNIT)
        return cls(units, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._text(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        j = int(i) + n if int(i) < 0 else int(i)
        if not 0 <= j < n:
            raise IndexError(f"text {i} out of range for {n} texts")
        return self._text(j)

    def _text(self, j: int) -> str:
        return self.units[self.offsets[j] : self.offsets[j + 1]].tobytes().decode(_CODEC, _ERRORS)

    def __iter__(self) -> Iterator[str]:
        for j in range(len(self)):
            yield self._text(j)

    def __add__(self, other: Sequence[str]) -> list[str]:
        return list(self) + list(other)

    def __radd__(self, other: Sequence[str]) -> list[str]:
        return list(other) + list(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TextArray):
            return np.array_equal(self.offsets, other.offsets) and np.array_equal(self.units, other.units)
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # mutable arrays inside: not hashable, like a list

    def take(self, rows: Sequence[int] | np.ndarray) -> TextArray:
        """The texts of ``rows``, in that order, as a new array."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        lengths = ends - starts
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        index = np.arange(int(offsets[-1]), dtype=np.int64) + np.repeat(starts - offsets[:-1], lengths)
        return TextArray(self.units[index], offsets)

    @property
    def nbytes(self) -> int:
        """Bytes of the two arrays."""
        return int(self.units.nbytes + self.offsets.nbytes)

    def __repr__(self) -> str:
        return f"TextArray({len(self)} texts, {self.nbytes} bytes)"
