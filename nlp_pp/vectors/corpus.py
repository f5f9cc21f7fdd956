"""A preprocessed unlabelled corpus on disk, built streaming and in parallel, re-iterable for FastText.

A user has a few thousand labelled messages but often far more unlabelled ones; word vectors
learn from the latter. Nothing here holds the unlabelled corpus in memory:

1. :func:`nlp_pp.text.stream.iter_unlabeled_texts` reads a file in chunks of raw texts -- a CSV column through
   ``pandas.read_csv(chunksize=...)`` on a decoded text stream, or one message per line -- with
   the encoding detected from the first 64 KiB (:func:`nlp_pp.text.source.detect_encoding`, the same
   rules as labelled CSVs);
2. :func:`build_corpus` sends the chunks through the preprocessing chain of
   :func:`nlp_pp.preprocess.preprocess` in a process pool with a bounded number of chunks in
   flight (:func:`nlp_pp.parallel.imap_chunks`), and appends each text's tokens as one line of a
   text file and its :func:`~nlp_pp.text.hashing.text_hash` to a binary file as results arrive, in file order.
   The
   result is a verified cache entry (a directory: ``tokens.txt`` and ``hashes.npy``), so a second
   build of the same files runs no MeCab;
3. :meth:`TokenCorpus.iterate` gives a re-iterable over the lines (and the labelled training split
   first, from memory), skipping texts whose hash is excluded -- the validation and test texts
   of a run, which pretrained vectors must not have seen;
4. :func:`nlp_pp.embeddings.train_fasttext` scans it once for the vocabulary and once per epoch;
5. :func:`nlp_pp.vectors.pretrain.pretrain` saves the vectors with the preprocessing settings, corpus
statistics and the
   hashes of the texts trained on (:func:`nlp_pp.vectors.save_vectors`, no pickle), which
   :func:`~nlp_pp.vectors.pretrain.check_pretrained` and :func:`~nlp_pp.text.hashing.overlap` check against a
   later run.

Memory is bounded by the chunks in flight (``2 x workers`` chunks of ``chunk_size`` texts), the
vocabulary (FastText's word counts, vectors and n-gram buckets) and the final array of trained
text hashes (8 bytes per distinct text); never by the length of the file.

Corpus directory format (``CORPUS_VERSION`` 1):

``tokens.txt``
    UTF-8, one line per non-empty text of the input files in file order, tokens separated by one
    space and the line ended by ``\n``; a text with no tokens left after preprocessing is an
    empty line. Tokens never contain whitespace (a token that would is split at it, see
    :func:`build_corpus`), so ``line.split()`` gives the tokens back exactly.
``hashes.npy``
    ``<u8`` (little-endian uint64), one :func:`~nlp_pp.text.hashing.text_hash` per line of ``tokens.txt``,
    same order.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import numpy.lib.format as npy_format

from ..cache import Cache, cache_key, file_digest
from ..errors import ConfigError, DataError, RunError, first_line
from ..files import write_error
from ..inputs import check_token_lists
from ..text.hashing import HASH_DTYPE, hash_array, hash_texts
from ..text.parallel import imap_chunks
from ..text.preprocess import PreprocessConfig, chunk_worker
from ..text.stream import Source, check_chunk_size, inspect_source, read_texts

log = logging.getLogger(__name__)


CORPUS_VERSION = 1  # bump when the corpus files or their meaning change (invalidates cached corpora)
TOKENS_FILE = "tokens.txt"
HASHES_FILE = "hashes.npy"
_HASHES_RAW = "hashes.u64"
_BLOCK = 1 << 16  # hashes compared with an exclusion set at a time


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

    def __init__(
        self, directory: Path, texts: int, tokens: int, empty: int, files: list[dict], *, owned: bool = False
    ):
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
            raise RunError(
                f"the token corpus in {self.directory} is damaged ({first_line(e)}); "
                "delete it (or the cache) and build it again"
            ) from None
        if a.dtype != HASH_DTYPE or a.shape != (self.texts,):
            raise RunError(
                f"the token corpus in {self.directory} is damaged (hashes.npy has {a.dtype} "
                f"{a.shape}, expected {self.texts} uint64); delete it and build it again"
            )
        return a

    def iterate(
        self, exclude: Iterable[int] | np.ndarray = frozenset(), extra: Sequence[Sequence[str]] = ()
    ) -> CorpusView:
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

    def __init__(
        self,
        corpus: TokenCorpus,
        exclude: Iterable[int] | np.ndarray = frozenset(),
        extra: Sequence[Sequence[str]] = (),
    ):
        self.corpus = corpus
        self._exclude = hash_array(exclude)
        # token arrays (nlp_pp.vectors.tokenstore) are decoded pass by pass, never copied into a list
        self._extra = extra if hasattr(extra, "counter") else check_token_lists(extra, "extra")
        self.extra = len(self._extra)
        self.dropped = 0
        if self._exclude.size:
            hashes = corpus.hashes()
            for start in range(0, len(hashes), _BLOCK):
                self.dropped += int(np.isin(hashes[start : start + _BLOCK], self._exclude).sum())
        self.kept = corpus.texts - self.dropped
        self.passes = 0

    def kept_hashes(self) -> np.ndarray:
        """Sorted distinct hashes of the corpus texts this view keeps."""
        hashes = self.corpus.hashes()
        parts = [
            np.unique(h[~np.isin(h, self._exclude)] if self._exclude.size else h)
            for h in (np.asarray(hashes[s : s + _BLOCK]) for s in range(0, len(hashes), _BLOCK))
        ]
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
                block = hashes[start : start + _BLOCK]
                keep = ~np.isin(block, self._exclude) if self._exclude.size else None
                for j in range(len(block)):
                    line = f.readline()
                    if not line.endswith("\n"):
                        raise RunError(
                            f"{damaged} (tokens.txt has fewer lines than hashes); delete it and "
                            "build it again"
                        )
                    if keep is not None and not keep[j]:
                        continue
                    tokens = line.split()
                    if tokens:
                        yield tokens
            if f.readline():
                raise RunError(
                    f"{damaged} (tokens.txt has more lines than hashes); delete it and build it again"
                )
        self.passes += 1

    def __repr__(self) -> str:
        return f"CorpusView({self.corpus!r}, extra={self.extra}, kept={self.kept}, dropped={self.dropped})"


def build_corpus(
    paths: Sequence[str | os.PathLike] | str | os.PathLike,
    text_col: str = "content",
    config: PreprocessConfig | None = None,
    *,
    cache: Cache,
    n_jobs: int | None = -1,
    progress: bool = True,
    encoding: str | None = None,
    chunk_size: int = 2000,
) -> TokenCorpus:
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
        :func:`nlp_pp.text.preprocess.preprocess` runs (:func:`nlp_pp.text.preprocess.chunk_worker`).
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
    check_chunk_size(chunk_size)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ConfigError("no unlabelled file given")
    sources = [inspect_source(p, text_col, encoding) for p in paths]
    digests = []
    for src in sources:
        try:
            digests.append(file_digest(src.path))
        except OSError as e:
            raise DataError(f"cannot read {src.name}: {e.strerror or e}") from None
    key = cache_key(
        "corpus",
        CORPUS_VERSION,
        [[d, s.kind] for d, s in zip(digests, sources)],
        text_col,
        encoding,
        cfg.fingerprint(),
    )
    files = [
        {"path": s.name, "sha256": d, "kind": s.kind, "encoding": s.encoding}
        for s, d in zip(sources, digests)
    ]

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
    ok = (
        isinstance(value, dict)
        and value.get("version") == CORPUS_VERSION
        and all(isinstance(value.get(k), int) and value[k] >= 0 for k in ("texts", "tokens", "empty"))
        and isinstance(value.get("files"), list)
        and len(value["files"]) == len(files)
        and all(isinstance(f, dict) and isinstance(f.get("texts"), int) for f in value["files"])
    )
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


def _write_corpus(
    workdir: Path,
    sources: list[Source],
    text_col: str,
    cfg: PreprocessConfig,
    n_jobs: int | None,
    progress: bool,
    chunk_size: int,
) -> dict:
    """Stream every source through the chain into ``workdir``; returns the counts."""
    func = chunk_worker(cfg)  # what preprocess() runs on each chunk
    pending: deque[np.ndarray] = deque()  # hashes of the chunks in flight, in order
    per_file = [0] * len(sources)

    def chunks() -> Iterator[list[str]]:
        for i, src in enumerate(sources):
            log.info("unlabelled corpus: reading %s (%s, %s)", src.name, src.kind, src.encoding)
            for chunk in read_texts(src, text_col, chunk_size):
                pending.append(hash_texts(chunk))
                per_file[i] += len(chunk)
                yield chunk

    texts = tokens = empty = split = 0
    try:
        with (
            open(workdir / TOKENS_FILE, "w", encoding="utf-8", newline="\n") as out,
            open(workdir / _HASHES_RAW, "wb") as raw,
        ):
            results = imap_chunks(func, chunks(), n_jobs=n_jobs, progress=progress, desc="unlabelled corpus")
            with closing(results):  # on an error the pool stops at once, not when the generator is collected
                for result in results:
                    hashes = pending.popleft()
                    if len(result) != len(hashes):
                        raise RuntimeError(
                            f"preprocessing returned {len(result)} token lists for {len(hashes)} texts"
                        )
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
                    raw.write(hashes.astype(HASH_DTYPE, copy=False).tobytes())
                    texts += len(result)
        _raw_to_npy(workdir / _HASHES_RAW, workdir / HASHES_FILE, texts)
    except OSError as e:
        raise write_error(e, workdir, "the token corpus") from None
    if split:
        log.warning(
            "unlabelled corpus: %d text(s) had tokens with whitespace in them; they were split there", split
        )
    log.info("unlabelled corpus: %d texts, %d tokens (%d texts without tokens)", texts, tokens, empty)
    return {"texts": texts, "tokens": tokens, "empty": empty, "per_file": per_file}


def _raw_to_npy(raw: Path, npy: Path, n: int) -> None:
    """Prefix raw little-endian uint64 values with a ``.npy`` header (copied in blocks), then drop the raw
    file."""
    if raw.stat().st_size != n * HASH_DTYPE.itemsize:
        raise RuntimeError(f"{raw} has {raw.stat().st_size} bytes for {n} hashes")
    header = {"descr": npy_format.dtype_to_descr(HASH_DTYPE), "fortran_order": False, "shape": (n,)}
    with open(npy, "wb") as out, open(raw, "rb") as src:
        npy_format.write_array_header_1_0(out, header)
        shutil.copyfileobj(src, out, 1 << 20)
    raw.unlink()
