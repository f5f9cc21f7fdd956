"""Load a labelled CSV (path or http(s) URL; UTF-8 with or without BOM, or CP949) and split it.

Every problem with the input is a :class:`~nlp_pp.errors.DataError` whose message is one line that
says what is wrong and what to do.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ConfigError, DataError, first_line
from ..results import LoadFacts
from .source import (
    DOWNLOAD_TIMEOUT,
    DecodedStream,
    HashingReader,
    Utf8Stream,
    check_file,
    is_url,
    read_bytes,
    scan_encoding,
)


@dataclass(frozen=True, kw_only=True)
class LoadReport(LoadFacts):
    """What :func:`load_dataset` read and dropped (JSON-ready via ``to_dict``)."""

    def describe(self) -> str:
        """How messages name this data: the file, or the sample of it that --max-rows took."""
        if self.sampled_from is None:
            return self.source
        sizes = ", ".join(f"'{k}' {v}" for k, v in self.sampled_from.items())
        return f"the {self.rows}-row sample (--max-rows) of {self.source}, whose classes have {sizes} rows"


def read_csv(
    source: str | Path,
    encoding: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    *,
    usecols: Sequence[str] | None = None,
    options: str = "--text-col / --label-col",
) -> tuple[pd.DataFrame, str, str]:
    """Read a CSV into strings; returns (frame, encoding used, sha256 of the raw bytes).

    A local file is streamed: read once in blocks to choose its encoding and hash it
    (:func:`~nlp_pp.text.source.scan_encoding`), then parsed from a decoded stream, so memory holds
    the frame and not the file (a URL is downloaded into memory, at most 2 GiB). With ``usecols``
    only those columns are kept; a missing one is a :class:`DataError` naming the ``options`` that
    choose others.
    """
    s = str(source)
    if is_url(s):
        data = read_bytes(s, timeout)

        def open_binary():
            return io.BytesIO(data)
    else:
        path = check_file(s)

        def open_binary():
            return open(path, "rb")

    enc, digest = scan_encoding(open_binary, s, encoding)
    parsed = hashlib.sha256()
    with closing(_parse_chunks(lambda: HashingReader(open_binary(), parsed), s, enc)) as chunks:
        first = next(chunks, None)  # a header-only file gives one empty frame
        if first is None:
            raise DataError(f"{s} has a header but no data rows")
        if usecols is not None:
            require_columns(first, usecols, s, options)
        keep = list(first.columns if usecols is None else usecols)
        df = pd.concat([chunk[keep] for chunk in itertools.chain([first], chunks)], ignore_index=True)
    if parsed.hexdigest() != digest:  # the tokens would be cached under the hash of other bytes
        raise DataError(f"{s} changed while it was being read; run again once it is written completely")
    return df, enc, digest


PARSE_CHUNK = 100_000  # rows parsed at a time


def _parse_chunks(open_binary, source: str, encoding: str) -> Iterator[pd.DataFrame]:
    """Every cell as a string (blank -> missing), in frames of :data:`PARSE_CHUNK` rows, from the
    decoded stream of the input; then the rest of its bytes are read (for a hashing reader)."""
    with (
        DecodedStream(open_binary, source, encoding) as stream,
        _csv_errors(stream, source),
        pd.read_csv(Utf8Stream(stream), chunksize=PARSE_CHUNK, **_CSV_OPTIONS) as reader,
    ):
        yield from reader
        stream.drain()


_CSV_OPTIONS = dict(
    encoding="utf-8",
    dtype=str,
    keep_default_na=False,
    na_values=[""],
    skipinitialspace=False,
    on_bad_lines="error",
)


@contextmanager
def _csv_errors(stream: DecodedStream, source: str) -> Iterator[None]:
    """pandas' parsing errors as one-line :class:`DataError` (the stream's own error first)."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(f"{source} has no header row; the first line must name the columns") from None
    except (pd.errors.ParserError, ValueError, UnicodeError) as e:
        if stream.error is not None:
            raise stream.error from None
        raise DataError(
            f"{source} is not a valid CSV ({first_line(e)}); check quoting and delimiters"
        ) from None


def require_columns(df: pd.DataFrame, columns: Sequence[str], source: str | Path, options: str) -> None:
    """Raise :class:`DataError` naming the missing columns, the ones there are and the ``options`` to pick
    others."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        cols = ", ".join(map(str, df.columns)) or "(none)"
        which = " and ".join(f"'{c}'" for c in missing)
        raise DataError(
            f"column {which} not found in {source}; its columns are: {cols} (choose them with {options})"
        )


def load_dataset(
    source: str | Path,
    text_col: str = "content",
    label_col: str = "class",
    *,
    encoding: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> tuple[pd.DataFrame, LoadReport]:
    """Load ``source`` as a frame with columns ``text`` and ``label`` (both strings).

    Rows with a missing text or label are dropped, then duplicate texts (the first is kept). With
    ``max_rows``, a stratified random sample of that many rows is kept (after deduplication).

    Examples
    --------
    >>> df, report = load_dataset("data/spam_sample.csv")      # doctest: +SKIP
    >>> report.rows, sorted(df.label.unique())                  # doctest: +SKIP
    (4000, ['스팸문자', '일상대화'])
    """
    if text_col == label_col:
        raise ConfigError(
            f"text_col and label_col are the same column ({text_col!r}); "
            "the labels must be in a column of their own"
        )
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
        raise ConfigError(f"max_rows must be a positive integer (got {max_rows!r})")
    df, enc, digest = read_csv(source, encoding, timeout, usecols=(text_col, label_col))
    if len(df) == 0:
        raise DataError(f"{source} has a header but no data rows")
    rows_read = len(df)
    df = df[[text_col, label_col]].rename(columns={text_col: "text", label_col: "label"})
    labels = df["label"].str.strip()
    df["label"] = labels.mask(labels == "")  # a blank label is a missing one
    df, dropped_missing, dropped_dup = drop_missing_and_duplicates(df, "text")
    if len(df) == 0:
        raise DataError(f"{source} has no usable rows: every row misses its text or label")
    sampled_from = None
    if max_rows is not None and max_rows < len(df):
        sampled_from = {k: int(v) for k, v in df["label"].value_counts().sort_index().items()}
        df = _stratified_sample(df, max_rows, seed)
    df = df.reset_index(drop=True)
    report = LoadReport(
        source=str(source),
        sha256=digest,
        encoding=enc,
        text_col=text_col,
        label_col=label_col,
        rows_read=rows_read,
        dropped_missing=dropped_missing,
        dropped_duplicates=dropped_dup,
        rows=len(df),
        sampled_from=sampled_from,
    )
    return df, report


def drop_missing_and_duplicates(
    df: pd.DataFrame, column: str, subset: Sequence[str] | None = None
) -> tuple[pd.DataFrame, int, int]:
    """Drop rows with a missing value, then rows whose ``column`` repeats an earlier row's.

    Parameters
    ----------
    df : pandas.DataFrame
        Not modified.
    column : str
        Duplicates are judged on this column alone; the first occurrence is kept.
    subset : sequence of str, optional
        Columns whose missing values drop a row; ``None`` means every column.

    Returns
    -------
    (frame, dropped_missing, dropped_duplicates)
        The kept rows with their original index, and how many rows each step dropped.
    """
    before = len(df)
    kept = df.dropna(how="any", subset=None if subset is None else list(subset))
    dropped_missing = before - len(kept)
    deduplicated = kept.drop_duplicates(subset=column, keep="first")
    return deduplicated, dropped_missing, len(kept) - len(deduplicated)


def _stratified_sample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    from sklearn.model_selection import train_test_split

    counts = df["label"].value_counts()
    if (counts < 2).any() or n < len(counts):
        return df.sample(n=n, random_state=seed).sort_index()
    kept, _ = train_test_split(df, train_size=n, stratify=df["label"], random_state=seed)
    return kept.sort_index()


def check_labels(df: pd.DataFrame, source: str = "data", *, min_per_class: int = 3) -> list[str]:
    """Sorted label names; a :class:`DataError` for one class only or a class too small to split."""
    counts = df["label"].value_counts()
    if len(counts) < 2:
        only = counts.index[0] if len(counts) else "(none)"
        raise DataError(f"{source} has only one class ('{only}'); a classifier needs at least two labels")
    small = counts[counts < min_per_class]
    if len(small):
        parts = ", ".join(f"'{k}' has {v} row{'s' if v != 1 else ''}" for k, v in small.items())
        raise DataError(
            f"class too small for a stratified train/validation/test split in {source}: {parts}; "
            f"each class needs at least {min_per_class} rows (add data or drop that label)"
        )
    return sorted(counts.index.tolist())


def split_dataset(
    df: pd.DataFrame,
    *,
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified train / validation / test split (defaults 70 / 15 / 15). ``test_size=0`` -> empty test."""
    from sklearn.model_selection import train_test_split

    for name, v in (("val_size", val_size), ("test_size", test_size)):
        if not 0 <= v < 1:
            raise ConfigError(f"{name} must be in [0, 1) (got {v})")
    if not 0 < val_size + test_size < 1:
        raise ConfigError("val_size + test_size must be between 0 and 1")
    check_labels(df, min_per_class=3 if test_size > 0 else 2)
    try:
        if test_size > 0:
            rest, test = train_test_split(df, test_size=test_size, stratify=df["label"], random_state=seed)
        else:
            rest, test = df, df.iloc[0:0]
        train, val = train_test_split(
            rest, test_size=val_size / (1 - test_size), stratify=rest["label"], random_state=seed
        )
    except ValueError as e:
        raise DataError(f"cannot split the data stratified ({e}); add rows or use a smaller split") from None
    return train.reset_index(drop=True), val.reset_index(drop=True), test.reset_index(drop=True)
