"""Unlabelled text files read in chunks: a CSV column or one message per line, encoding detected."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from ..errors import ConfigError, DataError, first_line
from .load import require_columns
from .source import SAMPLE_BYTES, DecodedStream, Utf8Stream, check_file, detect_encoding, stream_codec

log = logging.getLogger(__name__)


CSV_SEPARATORS = {
    ".csv": ",",
    ".tsv": "\t",
}  # by file suffix (case-insensitive); other files: one text a line
MAX_LINE_CHARS = (
    1 << 20
)  # a plain-text line longer than this is cut (preprocessing keeps max_chars of it anyway)


def file_kind(path: str | os.PathLike) -> str:
    """How :func:`iter_unlabeled_texts` reads ``path``: ``"csv"``, ``"tsv"`` or ``"text"`` (by its suffix)."""
    suffix = Path(path).suffix.lower()
    return suffix[1:] if suffix in CSV_SEPARATORS else "text"


@dataclass(frozen=True)
class Source:
    """An input file that passed every check of :func:`inspect_source`, with its kind and encoding."""

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


def inspect_source(path: str | os.PathLike, text_col: str, encoding: str | None) -> Source:
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
    src = Source(p, name, kind, enc, stream_codec(enc))
    if kind != "text":
        with _TextStream(src) as stream:
            header = _read_header(stream, src)
        require_columns(header, [text_col], name, "--text-col")
    else:
        first = (sample.decode(src.codec, "ignore").lstrip("\ufeff").splitlines() or [""])[0].strip()
        if first == text_col:
            log.warning(
                "%s is read as plain text (one message per line), but its first line is '%s' like a "
                "CSV header; give the file a .csv suffix to read it as a CSV",
                name,
                text_col,
            )
    return src


def _read_header(stream: _TextStream, src: Source) -> pd.DataFrame:
    try:
        return pd.read_csv(Utf8Stream(stream), sep=src.sep, nrows=0, dtype=str, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataError(f"{src.name} has no header row; the first line must name the columns") from None
    except Exception as e:
        raise _csv_error(e, stream, src) from None


def _csv_error(e: Exception, stream: _TextStream, src: Source) -> Exception:
    """The :class:`DataError` for an exception out of pandas (the stream's own error first)."""
    if stream.error is not None:
        return stream.error
    if isinstance(e, DataError):
        return e
    if isinstance(e, (pd.errors.ParserError, ValueError, UnicodeError)):
        return DataError(f"{src.name} is not a valid CSV ({first_line(e)}); check quoting and delimiters")
    return e


class _TextStream(DecodedStream):
    """The decoded text of a :class:`Source` (plain text: line ends translated to ``\\n``)."""

    def __init__(self, src: Source):
        super().__init__(lambda: _open_binary(src.path), src.name, src.encoding, lines=src.kind == "text")
        self.src = src


def iter_unlabeled_texts(
    path: str | os.PathLike, text_col: str = "content", *, encoding: str | None = None, chunk_size: int = 2000
) -> Iterator[list[str]]:
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
        from the first 64 KiB like :func:`nlp_pp.text.source.decode_text`. Bytes further on that do not
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
    check_chunk_size(chunk_size)
    src = inspect_source(path, text_col, encoding)
    return read_texts(src, text_col, chunk_size)


def iter_new_texts(
    paths: Iterable[str | os.PathLike], text_col: str, exclude: Sequence[str] = (), *, chunk_size: int = 2000
) -> Iterator[list[str]]:
    """Chunks of the distinct texts of ``paths`` (in file order) that are not among ``exclude``: the
    unlabelled texts a run may learn from, without its labelled or test texts and without repeats
    (texts compared by their hash, :func:`nlp_pp.text.hashing.hash_texts`). Chunks may be shorter than
    ``chunk_size``; none is empty."""
    from .hashing import hash_texts

    seen = set(hash_texts(list(exclude)).tolist()) if exclude else set()
    for path in paths:
        for chunk in iter_unlabeled_texts(path, text_col, chunk_size=chunk_size):
            kept = []
            for text, h in zip(chunk, hash_texts(chunk).tolist()):
                if h not in seen:
                    seen.add(h)
                    kept.append(text)
            if kept:
                yield kept


def check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer (got {chunk_size!r})")


def read_texts(src: Source, text_col: str, chunk_size: int) -> Iterator[list[str]]:
    buffer: list[str] = []
    total = 0
    with _TextStream(src) as stream:
        for text in (
            _csv_cells(stream, src, text_col, chunk_size) if src.kind != "text" else _lines(stream, src)
        ):
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


def _csv_cells(stream: _TextStream, src: Source, text_col: str, chunk_size: int) -> Iterator[str]:
    try:
        reader = pd.read_csv(
            Utf8Stream(stream),
            sep=src.sep,
            usecols=[text_col],
            dtype=str,
            encoding="utf-8",
            keep_default_na=False,
            na_values=[""],
            chunksize=chunk_size,
            on_bad_lines="error",
        )
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


def _lines(stream: _TextStream, src: Source) -> Iterator[str]:
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
