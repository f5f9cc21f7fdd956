"""FastText pretrained on a large unlabelled text file, streamed from disk.

A user has a few thousand labelled messages but often far more unlabelled ones; word vectors
learn from the latter. Nothing here holds the unlabelled corpus in memory:

1. :func:`iter_unlabeled_texts` reads a file in chunks of raw texts -- a CSV column through
   ``pandas.read_csv(chunksize=...)`` on a decoded text stream, or one message per line -- with
   the encoding detected from the first 64 KiB (:func:`nlp_pp.data.detect_encoding`, the same
   rules as labelled CSVs);
2. :func:`build_corpus` sends the chunks through the preprocessing chain of
   :func:`nlp_pp.preprocess.preprocess` in a process pool with a bounded number of chunks in
   flight (:func:`nlp_pp.parallel.imap_chunks`), and appends each text's tokens as one line of a
   text file and its :func:`text_hash` to a binary file as results arrive, in file order. The
   result is a verified cache entry (a directory: ``tokens.txt`` and ``hashes.npy``), so a second
   build of the same files runs no MeCab;
3. :meth:`TokenCorpus.iterate` gives a re-iterable over the lines (and the labelled training split
   first, from memory), skipping texts whose hash is excluded -- the validation and test texts
   of a run, which pretrained vectors must not have seen;
4. :func:`nlp_pp.embeddings.train_fasttext` scans it once for the vocabulary and once per epoch;
5. :func:`pretrain` saves the vectors with the preprocessing settings, corpus statistics and the
   hashes of the texts trained on (:func:`nlp_pp.vectors.save_vectors`, no pickle), which
   :func:`check_pretrained` and :func:`overlap` check against a later run.

Memory is bounded by the chunks in flight (``2 x workers`` chunks of ``chunk_size`` texts), the
vocabulary (FastText's word counts, vectors and n-gram buckets) and the final array of trained
text hashes (8 bytes per distinct text); never by the length of the file.

Corpus directory format (``CORPUS_VERSION`` 1):

``tokens.txt``
    UTF-8, one line per non-empty text of the input files in file order, tokens separated by one
    space and the line ended by ``\\n``; a text with no tokens left after preprocessing is an
    empty line. Tokens never contain whitespace (a token that would is split at it, see
    :func:`build_corpus`), so ``line.split()`` gives the tokens back exactly.
``hashes.npy``
    ``<u8`` (little-endian uint64), one :func:`text_hash` per line of ``tokens.txt``, same order.
"""
from __future__ import annotations

import codecs
import hashlib
import io
import logging
import os
import shutil
import tempfile
import weakref
from collections import deque
from contextlib import closing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.lib.format as npy_format
import pandas as pd

from .cache import Cache, cache_key, file_digest
from .data import SAMPLE_BYTES, check_file, detect_encoding, require_columns
from .embeddings import FastTextConfig, train_fasttext
from .errors import ConfigError, DataError, RunError
from .inputs import check_token_lists
from .parallel import imap_chunks
from .preprocess import PreprocessConfig, chunk_worker
from .vectors import save_vectors

log = logging.getLogger(__name__)

CORPUS_VERSION = 1  # bump when the corpus files or their meaning change (invalidates cached corpora)
PRETRAINED_FORMAT = "nlp_pp.pretrained/1"
CSV_SEPARATORS = {".csv": ",", ".tsv": "\t"}  # by file suffix (case-insensitive); other files: one text a line
MAX_LINE_CHARS = 1 << 20  # a plain-text line longer than this is cut (preprocessing keeps max_chars of it anyway)
DEFAULT_MAX_VOCAB_SIZE = 10_000_000  # distinct words held while scanning a corpus (gensim: ~1 GB per 10M)
TOKENS_FILE = "tokens.txt"
HASHES_FILE = "hashes.npy"
_HASHES_RAW = "hashes.u64"
_HASH_DTYPE = np.dtype("<u8")
_BLOCK = 1 << 16  # hashes compared with an exclusion set at a time


# --------------------------------------------------------------------------------------------- texts

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


def file_kind(path: str | os.PathLike) -> str:
    """How :func:`iter_unlabeled_texts` reads ``path``: ``"csv"``, ``"tsv"`` or ``"text"`` (by its suffix)."""
    suffix = Path(path).suffix.lower()
    return suffix[1:] if suffix in CSV_SEPARATORS else "text"


@dataclass(frozen=True)
class _Source:
    """An input file that passed every check of :func:`_inspect`, with its kind and encoding."""

    path: Path
    name: str  # as messages name it
    kind: str  # csv, tsv or text
    encoding: str  # as detected or forced (reported)
    codec: str  # what the stream is decoded with (utf-8-sig strips a byte-order mark)

    @property
    def sep(self) -> str:
        return CSV_SEPARATORS["." + self.kind]


def _open_binary(path: Path) -> BinaryIO:
    """The file opened for reading (a separate function so tests can watch what is read)."""
    return open(path, "rb")


def _inspect(path: str | os.PathLike, text_col: str, encoding: str | None) -> _Source:
    """Every check that needs no more than the first 64 KiB (and a CSV's header), before any work."""
    if not isinstance(text_col, str) or not text_col:
        raise ConfigError(f"text_col must be a column name (got {text_col!r})")
    kind = file_kind(path)
    what = "CSV" if kind != "text" else "text"
    p = check_file(path, what)
    name = str(path)
    try:
        with _open_binary(p) as f:
            sample = f.read(SAMPLE_BYTES)
    except OSError as e:
        raise DataError(f"cannot read {name}: {e.strerror or e}") from None
    if not sample.strip():
        if kind == "text":
            raise DataError(f"{name} is empty; give a text file with one message per line")
        raise DataError(f"{name} is empty; give a CSV file with a header row and a '{text_col}' column")
    _, enc = detect_encoding(sample, name, encoding, final=False, kind=what)
    codec = codecs.lookup(enc).name
    src = _Source(p, name, kind, enc, "utf-8-sig" if codec == "utf-8" else codec)
    if kind != "text":
        with _TextStream(src) as stream:
            header = _read_header(stream, src)
        require_columns(header, [text_col], name, "--text-col")
    else:
        first = (sample.decode(src.codec, "ignore").lstrip("\ufeff").splitlines() or [""])[0].strip()
        if first == text_col:
            log.warning("%s is read as plain text (one message per line), but its first line is '%s' like a "
                        "CSV header; give the file a .csv suffix to read it as a CSV", name, text_col)
    return src


def _read_header(stream: _TextStream, src: _Source) -> pd.DataFrame:
    try:
        return pd.read_csv(_Utf8Stream(stream), sep=src.sep, nrows=0, dtype=str, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataError(f"{src.name} has no header row; the first line must name the columns") from None
    except Exception as e:
        raise _csv_error(e, stream, src) from None


def _csv_error(e: Exception, stream: _TextStream, src: _Source) -> Exception:
    """The :class:`DataError` for an exception out of pandas (the stream's own error first)."""
    if stream.error is not None:
        return stream.error
    if isinstance(e, DataError):
        return e
    if isinstance(e, (pd.errors.ParserError, ValueError, UnicodeError)):
        return DataError(f"{src.name} is not a valid CSV ({_first_line(e)}); check quoting and delimiters")
    return e


class _TextStream(io.TextIOBase):
    """Decoded text of a source; decoding and read errors become a :class:`DataError` (also kept in ``error``).

    :meth:`read` removes NUL characters (a stray NUL inside a message would cut pandas' CSV parser
    short, as in :func:`nlp_pp.data.decode_text`). Plain-text sources translate ``\\r\\n`` and
    ``\\r`` to ``\\n``.
    """

    def __init__(self, src: _Source):
        super().__init__()
        self.src = src
        try:
            self.raw = _open_binary(src.path)
        except OSError as e:
            raise DataError(f"cannot read {src.name}: {e.strerror or e}") from None
        newline = None if src.kind == "text" else ""  # the CSV parser handles line ends inside quotes
        self.text = io.TextIOWrapper(self.raw, encoding=src.codec, errors="strict", newline=newline)
        self.error: DataError | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        """Up to ``size`` characters, without NULs."""
        return self._guard(lambda: self.text.read(size if size is not None and size >= 0 else -1)).replace("\x00", "")

    def readline(self, size: int | None = -1) -> str:
        """One line (or its first ``size`` characters), NULs included."""
        return self._guard(lambda: self.text.readline(size if size is not None and size >= 0 else -1))

    def _guard(self, read) -> str:
        try:
            return read()
        except UnicodeDecodeError as e:
            try:
                where = max(0, self.raw.tell() - len(e.object) + e.start)
            except (OSError, ValueError):
                where = 0
            self.error = DataError(
                f"cannot decode {self.src.name} as {self.src.encoding} near byte {where} (the encoding was "
                "detected from its first 64 KiB); save it as UTF-8 or CP949, or pass --encoding")
            raise self.error from None
        except OSError as e:
            self.error = DataError(f"cannot read {self.src.name}: {e.strerror or e}")
            raise self.error from None

    def close(self) -> None:
        try:
            if getattr(self, "text", None) is not None:
                self.text.close()
        finally:
            super().close()


class _Utf8Stream(io.RawIOBase):
    """A :class:`_TextStream` re-encoded as UTF-8 bytes, for pandas' C parser.

    pandas wraps a *text* handle in its own bytes adapter, which reads ``n`` characters for each
    ``n`` bytes asked and keeps the rest: with Korean (3 bytes a character) its buffer grows with
    the file (pandas 2.x/3.x ``_BytesIOWrapper``). Handing it bytes keeps the buffer here, bounded
    by one request plus one 64 KiB block.
    """

    _BLOCK = 1 << 16

    def __init__(self, text: _TextStream):
        super().__init__()
        self.text = text
        self.buffer = bytearray()
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        want = len(b)
        while len(self.buffer) < want and not self.eof:
            chunk = self.text.read(self._BLOCK)
            if chunk:
                self.buffer += chunk.encode("utf-8")
            else:
                self.eof = True
        n = min(want, len(self.buffer))
        b[:n] = self.buffer[:n]
        del self.buffer[:n]
        return n


def iter_unlabeled_texts(path: str | os.PathLike, text_col: str = "content", *, encoding: str | None = None,
                         chunk_size: int = 2000) -> Iterator[list[str]]:
    """Stream the texts of an unlabelled file in chunks, in file order, with memory independent of its size.

    Parameters
    ----------
    path : str or os.PathLike
        A local file. Its suffix decides how it is read: ``.csv`` (comma) or ``.tsv`` (tab) is a
        CSV file with a header row, read with ``pandas.read_csv(chunksize=..., usecols=[text_col])``;
        any other file (``.txt``...) holds one message per line (``\\n``, ``\\r\\n`` or ``\\r``; a
        line longer than 1M characters is cut there).
    text_col : str
        The CSV column holding the texts (ignored for a plain-text file).
    encoding : str, optional
        Force an encoding; by default UTF-8 (a byte-order mark is stripped), else CP949, detected
        from the first 64 KiB like :func:`nlp_pp.data.decode_text`. Bytes further on that do not
        decode stop the stream with a :class:`DataError`.
    chunk_size : int
        Texts per chunk; every chunk but the last has exactly this many.

    Returns
    -------
    iterator of list of str
        The raw texts (unstripped; a plain-text line without its line end). Empty or blank lines
        and missing or blank cells are skipped.

    Raises
    ------
    DataError
        Raised by this call: the file is missing, a directory, not a regular file (a device, a
        pipe), empty, binary, UTF-16, undecodable in its first 64 KiB, or a CSV without a header
        or without ``text_col`` (the message lists the columns it has). Raised while iterating:
        bytes further on that do not decode, a malformed CSV row, a read error, or a file with no
        text at all.
    ConfigError
        ``chunk_size`` is not a positive integer, ``text_col`` is not a name, ``encoding`` unknown.
    """
    _check_chunk_size(chunk_size)
    src = _inspect(path, text_col, encoding)
    return _texts(src, text_col, chunk_size)


def _check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer (got {chunk_size!r})")


def _texts(src: _Source, text_col: str, chunk_size: int) -> Iterator[list[str]]:
    buffer: list[str] = []
    total = 0
    with _TextStream(src) as stream:
        for text in (_csv_cells(stream, src, text_col, chunk_size) if src.kind != "text" else _lines(stream, src)):
            buffer.append(text)
            if len(buffer) == chunk_size:
                total += len(buffer)
                yield buffer
                buffer = []
    if buffer:
        total += len(buffer)
        yield buffer
    if total == 0:
        what = "every line is blank" if src.kind == "text" else f"column '{text_col}' is empty in every row"
        raise DataError(f"{src.name} has no texts: {what}")
    log.debug("%s: %d texts (%s, %s)", src.name, total, src.kind, src.encoding)


def _csv_cells(stream: _TextStream, src: _Source, text_col: str, chunk_size: int) -> Iterator[str]:
    try:
        reader = pd.read_csv(_Utf8Stream(stream), sep=src.sep, usecols=[text_col], dtype=str, encoding="utf-8",
                             keep_default_na=False, na_values=[""], chunksize=chunk_size, on_bad_lines="error")
    except pd.errors.EmptyDataError:
        raise DataError(f"{src.name} has no header row; the first line must name the columns") from None
    except Exception as e:
        raise _csv_error(e, stream, src) from None
    with reader:
        while True:
            try:
                frame = next(reader)
            except StopIteration:
                break
            except Exception as e:
                raise _csv_error(e, stream, src) from None
            for cell in frame[text_col].dropna().tolist():
                if cell.strip():
                    yield cell


def _lines(stream: _TextStream, src: _Source) -> Iterator[str]:
    cut = 0
    while True:
        line = stream.readline(MAX_LINE_CHARS)
        if not line:
            break
        if not line.endswith("\n") and len(line) >= MAX_LINE_CHARS:
            skipped = 0  # skip the remainder of an overlong line, in bounded pieces
            while True:
                rest = stream.readline(MAX_LINE_CHARS)
                skipped += len(rest.rstrip("\n"))
                if not rest or rest.endswith("\n"):
                    break
            cut += skipped > 0
        text = line.rstrip("\n").replace("\x00", "")
        if text.strip():
            yield text
    if cut:
        log.warning("%s: %d line(s) longer than %d characters were cut there", src.name, cut, MAX_LINE_CHARS)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else e.__class__.__name__


# -------------------------------------------------------------------------------------------- corpus

class TokenCorpus:
    """A preprocessed corpus on disk: ``tokens.txt`` and ``hashes.npy`` in :attr:`directory`.

    Attributes
    ----------
    directory : pathlib.Path
        Where the files are: a cache entry, or a temporary directory removed with this object
        when the cache is disabled.
    texts : int
        Lines (non-empty input texts), including those with no tokens.
    tokens : int
        Tokens over all lines.
    empty : int
        Lines with no token.
    files : list of dict
        Each input file: ``path``, ``sha256``, ``kind``, ``encoding``, ``texts``.
    """

    def __init__(self, directory: Path, texts: int, tokens: int, empty: int, files: list[dict],
                 *, owned: bool = False):
        self.directory = Path(directory)
        self.texts, self.tokens, self.empty, self.files = texts, tokens, empty, files
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.directory), True) if owned else None

    @property
    def tokens_path(self) -> Path:
        return self.directory / TOKENS_FILE

    @property
    def hashes_path(self) -> Path:
        return self.directory / HASHES_FILE

    def hashes(self) -> np.ndarray:
        """The text hashes, one per line, memory-mapped read-only (nothing is loaded up front)."""
        if self.texts == 0:
            return np.zeros(0, dtype=np.uint64)
        try:
            a = np.load(self.hashes_path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise RunError(f"the token corpus in {self.directory} is damaged ({_first_line(e)}); "
                           "delete it (or the cache) and build it again") from None
        if a.dtype != _HASH_DTYPE or a.shape != (self.texts,):
            raise RunError(f"the token corpus in {self.directory} is damaged (hashes.npy has {a.dtype} "
                           f"{a.shape}, expected {self.texts} uint64); delete it and build it again")
        return a

    def iterate(self, exclude: Iterable[int] | np.ndarray = frozenset(),
                extra: Sequence[Sequence[str]] = ()) -> CorpusView:
        """A re-iterable over ``extra`` and then the corpus lines whose text hash is not in ``exclude``.

        Parameters
        ----------
        exclude : set of int or numpy array of uint64
            :func:`text_hash` values of texts to leave out (a run's validation and test texts).
            To avoid training on a labelled training text twice, add its hash here too.
        extra : sequence of token sequences
            Token lists yielded first on every pass (the labelled training split, in memory).

        Returns
        -------
        CorpusView
            Each iteration re-reads the files (gensim iterates once for the vocabulary and once per
            epoch); lines without tokens are skipped. ``view.dropped`` is the number of corpus
            lines ``exclude`` removes, counted when the view is made.
        """
        return CorpusView(self, exclude, extra)

    def stats(self) -> dict:
        """JSON-ready counts and files."""
        return {"texts": self.texts, "tokens": self.tokens, "empty": self.empty, "files": self.files}

    def close(self) -> None:
        """Remove the files now if this object owns them (a temporary corpus); else nothing."""
        if self._finalizer is not None:
            self._finalizer()

    def __repr__(self) -> str:
        return f"TokenCorpus({str(self.directory)!r}, texts={self.texts}, tokens={self.tokens})"


def _exclusion_array(exclude: Iterable[int] | np.ndarray) -> np.ndarray:
    if isinstance(exclude, np.ndarray):
        if exclude.dtype != np.uint64:
            raise ConfigError(f"exclude must hold uint64 text hashes (got an array of {exclude.dtype})")
        return np.unique(exclude.ravel())
    if isinstance(exclude, (str, bytes)):
        raise TypeError("exclude must be a set of text hashes (ints), not a string")
    values = list(exclude)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < 2**64 for v in values):
        bad = next(v for v in values if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                             and 0 <= v < 2**64))
        raise ConfigError(f"exclude must hold text hashes, ints in [0, 2**64) (got {bad!r}); see text_hash")
    return np.unique(np.array(values, dtype=np.uint64))


class CorpusView:
    """What :meth:`TokenCorpus.iterate` returns: a re-iterable of token lists for gensim.

    Attributes
    ----------
    dropped : int
        Corpus lines whose hash is excluded (each occurrence counts).
    kept : int
        Corpus lines not excluded (lines without tokens included).
    extra : int
        Token lists of ``extra`` (empty ones included; they are skipped when iterating).
    passes : int
        Complete iterations so far.
    """

    def __init__(self, corpus: TokenCorpus, exclude: Iterable[int] | np.ndarray = frozenset(),
                 extra: Sequence[Sequence[str]] = ()):
        self.corpus = corpus
        self._exclude = _exclusion_array(exclude)
        self._extra = check_token_lists(extra, "extra")
        self.extra = len(self._extra)
        self.dropped = 0
        if self._exclude.size:
            hashes = corpus.hashes()
            for start in range(0, len(hashes), _BLOCK):
                self.dropped += int(np.isin(hashes[start:start + _BLOCK], self._exclude).sum())
        self.kept = corpus.texts - self.dropped
        self.passes = 0

    def kept_hashes(self) -> np.ndarray:
        """Sorted distinct hashes of the corpus texts this view keeps."""
        hashes = self.corpus.hashes()
        parts = [np.unique(h[~np.isin(h, self._exclude)] if self._exclude.size else h)
                 for h in (np.asarray(hashes[s:s + _BLOCK]) for s in range(0, len(hashes), _BLOCK))]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)

    def __iter__(self) -> Iterator[list[str]]:
        for tokens in self._extra:
            if len(tokens) > 0:
                yield tokens if type(tokens) is list else list(tokens)
        corpus = self.corpus
        hashes = corpus.hashes()
        damaged = f"the token corpus in {corpus.directory} is damaged"
        try:
            f = open(corpus.tokens_path, encoding="utf-8", newline="\n")
        except OSError as e:
            raise RunError(f"{damaged} ({e.strerror or e}); delete it and build it again") from None
        with f:
            for start in range(0, corpus.texts, _BLOCK):
                block = hashes[start:start + _BLOCK]
                keep = ~np.isin(block, self._exclude) if self._exclude.size else None
                for j in range(len(block)):
                    line = f.readline()
                    if not line.endswith("\n"):
                        raise RunError(f"{damaged} (tokens.txt has fewer lines than hashes); delete it and "
                                       "build it again")
                    if keep is not None and not keep[j]:
                        continue
                    tokens = line.split()
                    if tokens:
                        yield tokens
            if f.readline():
                raise RunError(f"{damaged} (tokens.txt has more lines than hashes); delete it and build it again")
        self.passes += 1

    def __repr__(self) -> str:
        return f"CorpusView({self.corpus!r}, extra={self.extra}, kept={self.kept}, dropped={self.dropped})"


def build_corpus(paths: Sequence[str | os.PathLike] | str | os.PathLike, text_col: str = "content",
                 config: PreprocessConfig | None = None, *, cache: Cache, n_jobs: int | None = -1,
                 progress: bool = True, encoding: str | None = None, chunk_size: int = 2000) -> TokenCorpus:
    """Preprocess unlabelled files into a :class:`TokenCorpus` on disk, streaming, in parallel, cached.

    Parameters
    ----------
    paths : path or sequence of paths
        The unlabelled files (see :func:`iter_unlabeled_texts` for how each is read); their texts
        are concatenated in this order.
    text_col : str
        The text column of CSV files.
    config : PreprocessConfig, optional
        The chain's options (default: ``PreprocessConfig()``); the chunks go through exactly what
        :func:`nlp_pp.preprocess.preprocess` runs (:func:`nlp_pp.preprocess.chunk_worker`).
    cache : Cache
        Where the corpus is kept. Key: the SHA-256 of each file's bytes and its kind, ``text_col``,
        ``encoding``, ``config.fingerprint()`` and :data:`CORPUS_VERSION`. A valid entry is used
        as it is (no MeCab); a damaged one is discarded and rebuilt. With a disabled cache the
        corpus lives in a temporary directory removed with the returned object.
    n_jobs : int, optional
        Worker processes (-1: every core); at most ``2 x workers`` chunks are in flight.
    progress : bool
        A tqdm bar counting texts (no total: the file is not counted beforehand).
    encoding : str, optional
        Force an encoding for every file (default: detected per file).
    chunk_size : int
        Texts per chunk sent to a worker.

    Returns
    -------
    TokenCorpus

    Raises
    ------
    DataError
        A file cannot be used (see :func:`iter_unlabeled_texts`); every file is checked before any
        work starts.
    RunError
        The corpus cannot be written (no space left on the device...).

    Notes
    -----
    Each non-empty input text becomes one line and one hash, also when preprocessing leaves no
    token (an empty line), so line ``i`` and hash ``i`` always belong together. The chain never
    yields a token with whitespace in it (cleaning collapses whitespace to single spaces, MeCab
    splits there and bare-space tokens are removed); should one ever, it is split at the
    whitespace (and logged) rather than written as is, so reading a line back always gives the
    tokens written.
    """
    cfg = config if config is not None else PreprocessConfig()
    if not isinstance(cfg, PreprocessConfig):
        raise TypeError(f"config must be a PreprocessConfig, not {type(cfg).__name__}")
    _check_chunk_size(chunk_size)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ConfigError("no unlabelled file given")
    sources = [_inspect(p, text_col, encoding) for p in paths]
    digests = []
    for src in sources:
        try:
            digests.append(file_digest(src.path))
        except OSError as e:
            raise DataError(f"cannot read {src.name}: {e.strerror or e}") from None
    key = cache_key("corpus", CORPUS_VERSION, [[d, s.kind] for d, s in zip(digests, sources)], text_col, encoding,
                    cfg.fingerprint())
    files = [{"path": s.name, "sha256": d, "kind": s.kind, "encoding": s.encoding} for s, d in zip(sources, digests)]

    hit = cache.get_dir("corpus", key)
    if hit is not None:
        corpus = _from_cache(hit[0], hit[1], files)
        if corpus is not None:
            log.info("unlabelled corpus: %d texts, %d tokens from the cache", corpus.texts, corpus.tokens)
            return corpus

    staging = cache.staging_dir("corpus")
    workdir = staging if staging is not None else Path(tempfile.mkdtemp(prefix="nlp_pp-corpus-"))
    try:
        stats = _write_corpus(workdir, sources, text_col, cfg, n_jobs, progress, chunk_size)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    for info, n in zip(files, stats.pop("per_file")):
        info["texts"] = n
    value = {"version": CORPUS_VERSION, **stats, "files": files}
    stored = cache.put_dir("corpus", key, workdir, value, move=True)
    if stored is not None:
        if workdir.exists():  # another run stored the same corpus first
            shutil.rmtree(workdir, ignore_errors=True)
        return TokenCorpus(stored, stats["texts"], stats["tokens"], stats["empty"], files)
    return TokenCorpus(workdir, stats["texts"], stats["tokens"], stats["empty"], files, owned=True)


def _from_cache(directory: Path, value: object, files: list[dict]) -> TokenCorpus | None:
    ok = (isinstance(value, dict) and value.get("version") == CORPUS_VERSION
          and all(isinstance(value.get(k), int) and value[k] >= 0 for k in ("texts", "tokens", "empty"))
          and isinstance(value.get("files"), list) and len(value["files"]) == len(files)
          and all(isinstance(f, dict) and isinstance(f.get("texts"), int) for f in value["files"]))
    if not ok:
        log.warning("cached corpus %s has an unexpected description; building it again", directory)
        return None
    files = [{**f, "texts": cached["texts"]} for f, cached in zip(files, value["files"])]
    corpus = TokenCorpus(directory, value["texts"], value["tokens"], value["empty"], files)
    try:
        corpus.hashes()
    except RunError as e:
        log.warning("%s; building it again", e)
        return None
    return corpus


def _write_corpus(workdir: Path, sources: list[_Source], text_col: str, cfg: PreprocessConfig,
                  n_jobs: int | None, progress: bool, chunk_size: int) -> dict:
    """Stream every source through the chain into ``workdir``; returns the counts."""
    func = chunk_worker(cfg)  # what preprocess() runs on each chunk
    pending: deque[np.ndarray] = deque()  # hashes of the chunks in flight, in order
    per_file = [0] * len(sources)

    def chunks() -> Iterator[list[str]]:
        for i, src in enumerate(sources):
            log.info("unlabelled corpus: reading %s (%s, %s)", src.name, src.kind, src.encoding)
            for chunk in _texts(src, text_col, chunk_size):
                pending.append(hash_texts(chunk))
                per_file[i] += len(chunk)
                yield chunk

    texts = tokens = empty = split = 0
    try:
        with open(workdir / TOKENS_FILE, "w", encoding="utf-8", newline="\n") as out, \
                open(workdir / _HASHES_RAW, "wb") as raw:
            results = imap_chunks(func, chunks(), n_jobs=n_jobs, progress=progress, desc="unlabelled corpus")
            with closing(results):  # on an error the pool stops at once, not when the generator is collected
                for result in results:
                    hashes = pending.popleft()
                    if len(result) != len(hashes):
                        raise RuntimeError(f"preprocessing returned {len(result)} token lists for {len(hashes)} texts")
                    lines = []
                    for toks in result:
                        parts = " ".join(toks).split()
                        if parts != toks:
                            split += 1
                        lines.append(" ".join(parts))
                        tokens += len(parts)
                        empty += not parts
                    out.write("\n".join(lines))
                    out.write("\n")
                    raw.write(hashes.astype(_HASH_DTYPE, copy=False).tobytes())
                    texts += len(result)
        _raw_to_npy(workdir / _HASHES_RAW, workdir / HASHES_FILE, texts)
    except OSError as e:
        raise _write_error(e, workdir) from None
    if split:
        log.warning("unlabelled corpus: %d text(s) had tokens with whitespace in them; they were split there", split)
    log.info("unlabelled corpus: %d texts, %d tokens (%d texts without tokens)", texts, tokens, empty)
    return {"texts": texts, "tokens": tokens, "empty": empty, "per_file": per_file}


def _raw_to_npy(raw: Path, npy: Path, n: int) -> None:
    """Prefix raw little-endian uint64 values with a ``.npy`` header (copied in blocks), then drop the raw file."""
    if raw.stat().st_size != n * _HASH_DTYPE.itemsize:
        raise RuntimeError(f"{raw} has {raw.stat().st_size} bytes for {n} hashes")
    header = {"descr": npy_format.dtype_to_descr(_HASH_DTYPE), "fortran_order": False, "shape": (n,)}
    with open(npy, "wb") as out, open(raw, "rb") as src:
        npy_format.write_array_header_1_0(out, header)
        shutil.copyfileobj(src, out, 1 << 20)
    raw.unlink()


def _write_error(e: OSError, directory: Path) -> RunError:
    import errno

    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return RunError(f"no space left on the device while writing the token corpus in {directory}; "
                        "free some space and run again")
    return RunError(f"cannot write the token corpus in {directory}: {e.strerror or e}")


# ------------------------------------------------------------------------------------------ pretrain

def pretrain(paths: Sequence[str | os.PathLike] | str | os.PathLike, out: str | os.PathLike, *,
             text_col: str = "content", preprocess: PreprocessConfig, fasttext: FastTextConfig, cache: Cache,
             n_jobs: int | None = -1, exclude: Iterable[int] | np.ndarray = frozenset(),
             encoding: str | None = None, max_vocab_size: int | None = DEFAULT_MAX_VOCAB_SIZE,
             progress: bool = True) -> dict:
    """Train FastText on unlabelled files and save the vectors, with what they were trained on, to ``out``.

    Parameters
    ----------
    paths : path or sequence of paths
        The unlabelled files (:func:`iter_unlabeled_texts`).
    out : str or os.PathLike
        The vectors file (:func:`nlp_pp.vectors.save_vectors`; its directory must exist).
    text_col : str
        The text column of CSV files.
    preprocess : PreprocessConfig
        The chain; a run using the vectors must use the same (:func:`check_pretrained`).
    fasttext : FastTextConfig
        FastText options (``dim`` must equal the run's embedding dimension).
    cache : Cache
        Keeps the preprocessed corpus (:func:`build_corpus`).
    n_jobs : int, optional
        Preprocessing processes (-1: every core). FastText threads are ``fasttext.workers``.
    exclude : set of int or uint64 array
        :func:`text_hash` values of texts not to train on (e.g. a run's validation and test texts).
    encoding : str, optional
        Force an encoding for every file.
    max_vocab_size : int, optional
        Distinct words held while scanning the vocabulary (:func:`nlp_pp.embeddings.train_fasttext`);
        ``None``: unbounded, exact counts.
    progress : bool
        Show the preprocessing progress bar.

    Returns
    -------
    dict
        The corpus statistics also saved in the file's meta (``meta["corpus"]``): ``files`` (path,
        sha256, kind, encoding, texts), ``text_col``, ``texts``, ``tokens``, ``empty``, ``excluded``
        (lines dropped by ``exclude``), ``texts_trained``, ``sentences`` and ``total_words`` (what
        FastText scanned), ``vocabulary``, ``bucket``, ``words_trained`` and ``text_hashes``
        (distinct hashes saved).

    Notes
    -----
    The file's meta has ``format`` (``"nlp_pp.pretrained/1"``), ``preprocess`` (the options),
    ``preprocess_fingerprint``, ``fasttext`` (the options and ``max_vocab_size``) and ``corpus``;
    the sorted distinct hashes of the texts trained on are the extra array ``text_hashes``
    (``load_vectors(out, arrays=True)``), not JSON.
    """
    if not isinstance(preprocess, PreprocessConfig):
        raise TypeError(f"preprocess must be a PreprocessConfig, not {type(preprocess).__name__}")
    if not isinstance(fasttext, FastTextConfig):
        raise TypeError(f"fasttext must be a FastTextConfig, not {type(fasttext).__name__}")
    corpus = build_corpus(paths, text_col, preprocess, cache=cache, n_jobs=n_jobs, progress=progress,
                          encoding=encoding)
    view = corpus.iterate(exclude=exclude)
    if view.dropped:
        log.info("pretraining: %d texts of the excluded set found in the unlabelled files were left out",
                 view.dropped)
    if view.kept == 0:
        raise DataError(f"no unlabelled text is left to pretrain on: all {corpus.texts} texts were excluded")
    log.info("pretraining FastText on %d texts", view.kept)
    model = train_fasttext(view, fasttext, max_vocab_size=max_vocab_size)
    trained_hashes = view.kept_hashes()
    stats = {
        "files": corpus.files, "text_col": text_col, "texts": corpus.texts, "tokens": corpus.tokens,
        "empty": corpus.empty, "excluded": view.dropped, "texts_trained": view.kept,
        "sentences": int(model.corpus_count), "total_words": int(model.corpus_total_words),
        "vocabulary": len(model.wv), "bucket": int(model.wv.bucket), "words_trained": model.nlp_pp_words_trained,
        "text_hashes": int(trained_hashes.size),
    }
    meta = {"format": PRETRAINED_FORMAT, "preprocess": preprocess.to_dict(),
            "preprocess_fingerprint": preprocess.fingerprint(),
            "fasttext": {**fasttext.to_dict(), "max_vocab_size": max_vocab_size}, "corpus": stats}
    save_vectors(model.wv, out, meta, arrays={"text_hashes": trained_hashes})
    log.info("pretrained vectors saved to %s (%d words, dim %d)", out, len(model.wv), model.wv.vector_size)
    return stats


def check_pretrained(meta: dict, preprocess: PreprocessConfig, dim: int) -> None:
    """Raise :class:`ConfigError` unless vectors saved by :func:`pretrain` fit a run's preprocessing and dimension.

    Parameters
    ----------
    meta : dict
        The vectors' meta (``load_vectors(path)[1]``).
    preprocess : PreprocessConfig
        The run's preprocessing: its tokens must be those the vectors were trained on.
    dim : int
        The run's embedding dimension.

    Raises
    ------
    ConfigError
        One line: the file is not from :func:`pretrain`, the preprocessing differs (naming the
        options, saved value -> this run's), or the dimension differs.
    """
    if not isinstance(meta, dict) or meta.get("format") != PRETRAINED_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ConfigError(f"these vectors were not written by nlp_pp's pretrain (format {found!r}, expected "
                          f"{PRETRAINED_FORMAT!r}); pretrain them again")
    saved_fp = meta.get("preprocess_fingerprint")
    if saved_fp != preprocess.fingerprint():
        saved = meta.get("preprocess") if isinstance(meta.get("preprocess"), dict) else {}
        current = preprocess.to_dict()
        diffs = [f"{k} {saved.get(k, '(unset)')!r} -> {current.get(k, '(unset)')!r}"
                 for k in sorted(set(saved) | set(current)) if saved.get(k) != current.get(k)]
        what = ("; ".join(diffs) if diffs else
                "same options, but the stopword list's contents or the preprocessing version differ")
        raise ConfigError(f"the pretrained vectors were trained with other preprocessing (pretrained -> this run: "
                          f"{what}); use the same options or pretrain again")
    fasttext = meta.get("fasttext") if isinstance(meta.get("fasttext"), dict) else {}
    saved_dim = fasttext.get("dim")
    if saved_dim != dim:
        raise ConfigError(f"the pretrained vectors have dimension {saved_dim}, this run uses {dim}; "
                          f"pass --emb-dim {saved_dim} or pretrain again with dim {dim}")


def overlap(text_hashes: np.ndarray, hashes: Iterable[int]) -> int:
    """How many of ``hashes`` (a run's validation/test texts) are among ``text_hashes`` (what vectors saw).

    >>> overlap(np.array([text_hash("a"), text_hash("b")], dtype=np.uint64), {text_hash("b"), text_hash("c")})
    1
    """
    seen = np.asarray(text_hashes)
    if seen.dtype != np.uint64:
        raise ConfigError(f"text_hashes must be a uint64 array (got {seen.dtype})")
    query = _exclusion_array(hashes)
    if query.size == 0 or seen.size == 0:
        return 0
    return int(np.isin(query, seen).sum())
