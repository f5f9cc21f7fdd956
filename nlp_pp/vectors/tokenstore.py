"""Token lists of many texts as compact integer arrays, built streaming, cached and memory-mapped.

Why (BENCHMARKS.md, "scale"): a run used to hold every text's tokens as Python lists of strings --
each token a separate ``str`` object and list slot, several times the text's own size -- and read
them from the cache as one JSON value. Here a corpus of ``n`` texts is

``types``
    the distinct tokens (a list of ``str``, in order of first occurrence; tens of thousands);
``ids``
    one flat ``int32`` array: the type id of every token of every text, text after text;
``offsets``
    ``int64``, ``n + 1`` entries: text ``i``'s tokens are ``ids[offsets[i]:offsets[i + 1]]``.

:func:`build_token_arrays` streams chunks of texts through the preprocessing chain (in a process pool,
the same worker function as :func:`nlp_pp.text.preprocess.preprocess`, so the tokens are the same) and
appends each chunk's ids to a file as results arrive; :func:`cached_token_arrays` stores the files as a
verified cache directory and maps them read-only on the next run, so the arrays live in the page cache,
not in the process. A split is a :class:`TokenRows` view (the store and an array of row numbers): it
counts its tokens for the vocabulary with one ``bincount``, encodes itself into vocabulary indices with
array operations (:func:`encode_rows`, giving an :class:`EncodedArrays`), and decodes rows to token lists
only when iterated (FastText reads it that way, pass after pass, without a copy in memory).

Cache directory format (``FORMAT`` 1): ``types.json`` (a JSON list of the tokens), ``ids.i32``
(little-endian int32), ``offsets.i64`` (little-endian int64); the entry's value holds the counts.
"""

from __future__ import annotations

import json
import logging
import mmap
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..cache import Cache, cache_key
from ..errors import RunError
from ..text.parallel import imap_chunks
from ..text.preprocess import PreprocessConfig, chunk_worker

log = logging.getLogger(__name__)

FORMAT = 1
TYPES_FILE, IDS_FILE, OFFSETS_FILE = "types.json", "ids.i32", "offsets.i64"
ID_DTYPE, OFFSET_DTYPE = np.dtype("<i4"), np.dtype("<i8")
CHUNK = 2000  # texts per preprocessing chunk (as nlp_pp.text.parallel.map_chunks)
ROWS_PER_BLOCK = 65536  # rows gathered, counted or decoded at a time


class TokenArrays:
    """Token lists of ``len(self)`` texts: :attr:`types`, flat :attr:`ids` and :attr:`offsets`.

    >>> a = TokenArrays.from_lists([["a", "b"], [], ["b", "b", "c"]])
    >>> len(a), a[2], a.lengths().tolist(), a.types
    (3, ['b', 'b', 'c'], [2, 0, 3], ['a', 'b', 'c'])
    """

    def __init__(
        self, types: list[str], ids: np.ndarray, offsets: np.ndarray, *, directory: Path | None = None
    ):
        if offsets.ndim != 1 or len(offsets) < 1 or int(offsets[0]) != 0 or int(offsets[-1]) != len(ids):
            raise RunError("token arrays are damaged (offsets do not match the ids); build them again")
        self.types, self.ids, self.offsets = types, ids, offsets
        self.directory = directory
        self._finalizer = None

    # -- building ----------------------------------------------------------------------------

    @classmethod
    def from_lists(cls, token_lists: Sequence[Sequence[str]]) -> TokenArrays:
        """In memory, from token lists (tests, small data)."""
        builder = _Builder(None)
        builder.add(token_lists)
        return builder.finish()

    @classmethod
    def load(cls, directory: Path, value: dict) -> TokenArrays:
        """Map the files of a cache directory read-only (``value``: the counts stored with it)."""
        directory = Path(directory)
        try:
            types = json.loads((directory / TYPES_FILE).read_text(encoding="utf-8"))
            n, total = int(value["texts"]), int(value["tokens"])
            ids = _map(directory / IDS_FILE, ID_DTYPE, total)
            offsets = _map(directory / OFFSETS_FILE, OFFSET_DTYPE, n + 1)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise RunError(
                f"the token arrays in {directory} are damaged ({e}); delete the cache entry"
            ) from None
        if not isinstance(types, list) or len(types) != int(value.get("types", -1)):
            raise RunError(f"the token arrays in {directory} are damaged (types); delete the cache entry")
        return cls(types, ids, offsets, directory=directory)

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> list[str]:
        types = self.types
        return [types[j] for j in self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()]

    def __iter__(self) -> Iterator[list[str]]:
        return iter(self.rows(np.arange(len(self))))

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def rows(self, rows: np.ndarray | Sequence[int]) -> TokenRows:
        """The texts ``rows`` (in that order) as a :class:`TokenRows` view."""
        return TokenRows(self, np.asarray(rows, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.offsets.nbytes)

    def release_pages(self) -> None:
        """Take the mapped pages read so far out of this process's resident memory.

        They stay in the system's page cache and are read back on the next access, so nothing
        changes but the process's memory: a stage that read every row (FastText's passes, the
        encoding) would otherwise keep all of the ids resident to the end of the run. Arrays in
        memory (not mapped) are left alone.
        """
        advice = getattr(mmap, "MADV_DONTNEED", None)
        for a in (self.ids, self.offsets):
            mapping = getattr(a, "_mmap", None)  # numpy.memmap's mmap object
            if advice is not None and mapping is not None:
                try:
                    mapping.madvise(advice)
                except (OSError, ValueError):  # closed, or a platform that refuses the advice
                    pass


class TokenRows(Sequence):
    """Some rows of a :class:`TokenArrays` (a split): a sequence of token lists, decoded when read."""

    def __init__(self, store: TokenArrays, rows: np.ndarray):
        self.store, self.row_ids = store, rows

    def __len__(self) -> int:
        return len(self.row_ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return TokenRows(self.store, self.row_ids[i])
        return self.store[int(self.row_ids[i])]

    def __iter__(self) -> Iterator[list[str]]:
        types, ids, offsets = self.store.types, self.store.ids, self.store.offsets
        for start in range(0, len(self.row_ids), ROWS_PER_BLOCK):
            block = self.row_ids[start : start + ROWS_PER_BLOCK]
            flat, bounds = _gather(ids, offsets, block)
            words = [types[j] for j in flat.tolist()]
            bounds = bounds.tolist()
            for k in range(len(block)):
                yield words[bounds[k] : bounds[k + 1]]

    def __bool__(self) -> bool:
        return len(self.row_ids) > 0

    def lengths(self) -> np.ndarray:
        o = self.store.offsets
        return (o[self.row_ids + 1] - o[self.row_ids]).astype(np.int64)

    def type_counts(self) -> np.ndarray:
        """Occurrences of each type (indexed like ``store.types``) in these rows."""
        counts = np.zeros(len(self.store.types), dtype=np.int64)
        for start in range(0, len(self.row_ids), ROWS_PER_BLOCK):
            flat, _ = _gather(
                self.store.ids, self.store.offsets, self.row_ids[start : start + ROWS_PER_BLOCK]
            )
            counts += np.bincount(flat, minlength=len(counts))
        return counts

    def counter(self) -> dict[str, int]:
        """Token -> count for the tokens these rows hold (as ``collections.Counter`` over the lists)."""
        counts = self.type_counts()
        types = self.store.types
        return {types[j]: int(counts[j]) for j in np.flatnonzero(counts).tolist()}


class EncodedArrays(Sequence):
    """Vocabulary indices of many texts: flat ``int32`` :attr:`ids` and ``int64`` :attr:`offsets`.

    Indexing gives a row as a list of ints (as :func:`nlp_pp.vectors.batching.encode_corpus`'s lists).
    """

    def __init__(self, ids: np.ndarray, offsets: np.ndarray):
        self.ids, self.offsets = ids, offsets

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[int]]) -> EncodedArrays:
        """In memory, from lists of indices.

        >>> EncodedArrays.from_lists([[4, 5], [], [6]])[2]
        [6]
        """
        offsets = np.zeros(len(rows) + 1, dtype=OFFSET_DTYPE)
        np.cumsum([len(r) for r in rows], out=offsets[1:])
        ids = np.fromiter((i for r in rows for i in r), dtype=ID_DTYPE, count=int(offsets[-1]))
        return cls(ids, offsets)

    @classmethod
    def concat(cls, parts: Sequence[Sequence[Sequence[int]]]) -> EncodedArrays:
        """The rows of ``parts`` (encoded arrays or lists of indices) one after another.

        >>> both = EncodedArrays.concat([EncodedArrays.from_lists([[1], [2, 3]]), [[4]]])
        >>> [both[i] for i in range(len(both))]
        [[1], [2, 3], [4]]
        """
        arrays = [p if isinstance(p, EncodedArrays) else cls.from_lists(p) for p in parts]
        ids = np.concatenate([np.asarray(a.ids, dtype=ID_DTYPE) for a in arrays])
        offsets = [np.zeros(1, dtype=OFFSET_DTYPE)]
        end = 0
        for a in arrays:
            offsets.append(np.asarray(a.offsets[1:], dtype=OFFSET_DTYPE) - int(a.offsets[0]) + end)
            end += int(a.offsets[-1]) - int(a.offsets[0])
        return cls(ids, np.concatenate(offsets))

    def clipped(self, first: int, replacement: int) -> EncodedArrays:
        """Every index ``>= first`` replaced by ``replacement`` (a new array; the mapped one is read-only)."""
        return EncodedArrays(np.where(self.ids < first, self.ids, replacement).astype(ID_DTYPE), self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            rows = np.arange(len(self))[i]
            flat, bounds = _gather(self.ids, self.offsets, rows)
            return EncodedArrays(flat, bounds)
        return self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def batch(
        self, rows: np.ndarray, width: int | None = None, pad: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``rows`` post-padded with ``pad`` to ``width`` (default: the longest, at least 1), as an
        int64 ``[B, width]`` array, and their lengths (clamped to ``width``)."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.offsets[rows + 1] - self.offsets[rows]
        if width is None:
            width = max(1, int(lengths.max(initial=0)))
        kept = np.minimum(lengths, width)
        out = np.full((len(rows), width), pad, dtype=np.int64)
        total = int(kept.sum())
        if total:
            row_of = np.repeat(np.arange(len(rows)), kept)
            starts = np.cumsum(kept) - kept
            col = np.arange(total) - np.repeat(starts, kept)
            out[row_of, col] = self.ids[np.repeat(self.offsets[rows], kept) + col]
        return out, kept


# --------------------------------------------------------------------------- operations


def take_rows(seqs: Sequence[Sequence[int]], rows: np.ndarray | Sequence[int]) -> Sequence[Sequence[int]]:
    """Rows ``rows`` of ``seqs``, in that order: encoded arrays stay arrays, other sequences give a list.

    >>> take_rows(EncodedArrays.from_lists([[1], [2, 3], [4]]), [2, 0])[0], take_rows([[1], [2]], [1])
    ([4], [[2]])
    """
    if isinstance(seqs, EncodedArrays):
        return EncodedArrays(*_gather(seqs.ids, seqs.offsets, np.asarray(rows, dtype=np.int64)))
    return [seqs[i] for i in rows]


def _gather(ids: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ids of ``rows`` concatenated, and the offsets of each row within them."""
    starts, ends = offsets[rows], offsets[rows + 1]
    lengths = ends - starts
    bounds = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    total = int(bounds[-1])
    if total == 0:
        return np.zeros(0, dtype=ids.dtype), bounds
    index = np.arange(total, dtype=np.int64) + np.repeat(starts - bounds[:-1], lengths)
    return np.asarray(ids[index]), bounds


def encode_rows(
    rows: TokenRows, stoi: dict[str, int], unk: int, maxlen: int, truncating: str = "post"
) -> EncodedArrays:
    """Vocabulary indices of each row (unknown types -> ``unk``), truncated to ``maxlen`` from the end
    (``"post"``) or the start (``"pre"``), as :func:`nlp_pp.vectors.batching.encode_corpus` does."""
    from ..errors import ConfigError

    if truncating not in ("pre", "post"):
        raise ConfigError(f"truncating must be 'pre' or 'post' (got {truncating!r})")
    mapping = np.fromiter(
        (stoi.get(t, unk) for t in rows.store.types), dtype=np.int32, count=len(rows.store.types)
    )
    store = rows.store
    lengths = rows.lengths()
    kept = np.minimum(lengths, max(0, int(maxlen)))
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(kept, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.int32)
    for start in range(0, len(rows), ROWS_PER_BLOCK):
        block = rows.row_ids[start : start + ROWS_PER_BLOCK]
        k = kept[start : start + ROWS_PER_BLOCK]
        first = store.offsets[block] + (
            0 if truncating == "post" else lengths[start : start + ROWS_PER_BLOCK] - k
        )
        total = int(k.sum())
        if total == 0:
            continue
        local = np.cumsum(k) - k
        index = np.arange(total, dtype=np.int64) + np.repeat(first - local, k)
        out[offsets[start] : offsets[start] + total] = mapping[store.ids[index]]
    return EncodedArrays(out, offsets)


def _map(path: Path, dtype: np.dtype, count: int) -> np.ndarray:
    size = path.stat().st_size
    if size != count * dtype.itemsize:
        raise ValueError(f"{path.name} holds {size} bytes, expected {count * dtype.itemsize}")
    if count == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(count,))


class _Builder:
    """Appends token lists: ids to a file (or memory), lengths to memory, types to a dict."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.index: dict[str, int] = {}
        self.lengths: list[np.ndarray] = []
        self.parts: list[np.ndarray] = []
        self.file = open(directory / IDS_FILE, "wb") if directory is not None else None
        self.total = 0

    def add(self, token_lists: Sequence[Sequence[str]]) -> None:
        index = self.index
        flat = []
        for tokens in token_lists:
            for t in tokens:
                j = index.get(t)
                if j is None:
                    j = index[t] = len(index)
                flat.append(j)
        ids = np.asarray(flat, dtype=ID_DTYPE)
        self.lengths.append(
            np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        )
        self.total += len(ids)
        if self.file is not None:
            self.file.write(ids.tobytes())
        else:
            self.parts.append(ids)

    def finish(self) -> TokenArrays:
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=OFFSET_DTYPE)
        np.cumsum(lengths, out=offsets[1:])
        types = list(self.index)
        if self.file is None:
            ids = np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=ID_DTYPE)
            return TokenArrays(types, ids, offsets)
        self.file.close()
        offsets.tofile(self.directory / OFFSETS_FILE)
        (self.directory / TYPES_FILE).write_text(json.dumps(types, ensure_ascii=False), encoding="utf-8")
        return TokenArrays.load(self.directory, self.value(len(lengths)))

    def value(self, n: int) -> dict:
        return {"format": FORMAT, "texts": n, "tokens": self.total, "types": len(self.index)}

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()


def build_token_arrays(
    texts: Sequence[str],
    config: PreprocessConfig,
    directory: Path | None,
    *,
    n_jobs: int | None = -1,
    progress: bool = False,
    cluster: str | None = None,
) -> TokenArrays:
    """Preprocess ``texts`` chunk by chunk (in ``n_jobs`` processes, order kept) into token arrays: files in
    ``directory`` (mapped when done), or memory with ``directory=None``.

    ``cluster`` (``local:N`` or a Dask scheduler's address, :mod:`nlp_pp.text.cluster`) maps the same
    chunks with the same function on a Dask cluster instead of a local process pool: the same arrays.
    """
    builder = _Builder(directory)
    chunks = (list(texts[i : i + CHUNK]) for i in range(0, len(texts), CHUNK))
    try:
        if cluster is not None:
            from ..text.cluster import DaskMap

            with DaskMap(cluster) as dask_map:
                for tokens in dask_map.imap(chunk_worker(config), chunks):
                    builder.add(tokens)
        else:
            for tokens in imap_chunks(
                chunk_worker(config),
                chunks,
                n_jobs=n_jobs,
                progress=progress,
                desc="preprocess",
                total=len(texts),
            ):
                builder.add(tokens)
    except BaseException:
        builder.abort()
        raise
    return builder.finish()


def cached_token_arrays(
    texts: Sequence[str],
    config: PreprocessConfig,
    cache: Cache,
    key_parts: list,
    n_jobs: int | None = -1,
    cluster: str | None = None,
) -> TokenArrays:
    """:func:`build_token_arrays` of ``texts``, mapped from ``cache`` when the same texts were preprocessed
    before with the same options (a damaged entry is discarded and rebuilt)."""
    key = cache_key("token-arrays", FORMAT, key_parts, config.fingerprint())
    hit = cache.get_dir("tokens", key)
    if hit is not None:
        path, value = hit
        try:
            arrays = TokenArrays.load(path, value)
        except RunError as e:
            why = str(e)
        else:
            if len(arrays) == len(texts):
                log.info("preprocessing: %d texts from cache", len(texts))
                return arrays
            why = f"it holds {len(arrays)} texts, not {len(texts)}"
            del arrays  # unmapped before its files go
        # discarded, so the rebuilt arrays take its place (put_dir keeps an entry that is there)
        cache.discard_dir("tokens", key, why)
    staging = cache.staging_dir("tokens")
    owned = staging is None
    if owned:
        staging = Path(tempfile.mkdtemp(prefix="nlp_pp_tokens_"))
    try:
        arrays = build_token_arrays(texts, config, staging, n_jobs=n_jobs, progress=True, cluster=cluster)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    value = {"format": FORMAT, "texts": len(arrays), "tokens": len(arrays.ids), "types": len(arrays.types)}
    if not owned:
        stored = cache.put_dir("tokens", key, staging, value, move=True)
        if stored is not None:
            return TokenArrays.load(stored, value)
    # no cache (or it could not be written): the files stay in a temporary directory while mapped
    arrays._finalizer = weakref.finalize(arrays, shutil.rmtree, str(staging), True)
    return arrays
