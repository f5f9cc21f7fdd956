"""Load a labelled CSV (path or http(s) URL; UTF-8 with or without BOM, or CP949) and split it.

Every problem with the input is a :class:`~nlp_pp.errors.DataError` whose message is one line that
says what is wrong and what to do.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ConfigError, DataError, first_line
from ..results import LoadFacts

# What is detected: UTF-8 (a byte-order mark is stripped), else CP949 -- Excel's Korean default and a
# superset of EUC-KR, so EUC-KR files decode too.
ENCODINGS = ("utf-8", "cp949")
MAX_BYTES = 2 * 1024**3  # refuse inputs over 2 GiB rather than exhausting memory
DOWNLOAD_TIMEOUT = 300.0  # seconds for a whole download (each read also times out after 30 s)
_CONTROL_BYTES = [bytes([b]) for b in range(32) if b not in (9, 10, 13)]


@dataclass(frozen=True, kw_only=True)
class LoadReport(LoadFacts):
    """What :func:`load_dataset` read and dropped (JSON-ready via ``to_dict``)."""

    def describe(self) -> str:
        """How messages name this data: the file, or the sample of it that --max-rows took."""
        if self.sampled_from is None:
            return self.source
        sizes = ", ".join(f"'{k}' {v}" for k, v in self.sampled_from.items())
        return f"the {self.rows}-row sample (--max-rows) of {self.source}, whose classes have {sizes} rows"


def is_url(source: str) -> bool:
    """An http(s) URL (read by downloading it)."""
    return source.lower().startswith(("http://", "https://"))


def read_bytes(source: str | Path, timeout: float = DOWNLOAD_TIMEOUT) -> bytes:
    """The raw bytes of a local regular file or an http(s) URL (at most 2 GiB).

    A download must finish within ``timeout`` seconds in total, so a server that trickles one
    byte at a time cannot keep a run waiting forever.
    """
    s = str(source)
    if is_url(s):
        data = _download(s, timeout)
    else:
        p = check_file(s)
        if p.stat().st_size > MAX_BYTES:
            raise DataError(f"{s} is larger than 2 GiB; sample it first or use --max-rows on a smaller file")
        try:
            with open(p, "rb") as f:
                data = f.read(MAX_BYTES + 1)  # the size can change between stat and read
        except OSError as e:
            raise DataError(f"cannot read {s}: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise DataError(f"{s} is larger than 2 GiB; sample it first")
    return data


def check_file(source: str | Path, kind: str = "CSV") -> Path:
    """``source`` as a path to an existing regular file, else a one-line :class:`DataError`.

    ``kind`` names what the file should be in the messages ("CSV", or "text").
    """
    s = str(source)
    p = Path(s).expanduser()
    if not p.exists():
        raise DataError(f"file not found: {s}; check the path (relative paths start from {Path.cwd()})")
    if p.is_dir():
        raise DataError(f"{s} is a directory, not a {kind} file; pass the path of the {kind} file inside it")
    if not p.is_file():
        raise DataError(
            f"{s} is not a regular file (a device, pipe or socket); save the data to a file first"
        )
    return p


def _download(url: str, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    chunks, size = [], 0
    try:
        with urllib.request.urlopen(url, timeout=min(30.0, timeout)) as resp:
            while True:
                if time.monotonic() > deadline:
                    raise DataError(
                        f"downloading {url} took longer than {timeout:g} s; download the file and "
                        "pass its path, or allow more time with --download-timeout"
                    )
                chunk = resp.read1(1 << 16)  # whatever has arrived: read() would wait for all of it
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BYTES:
                    raise DataError(f"{url} is larger than 2 GiB; sample it first")
    except DataError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise DataError(
            f"cannot download {url}: {reason}; check the URL and your network, "
            "or download the file and pass its path"
        ) from None
    return b"".join(chunks)


SAMPLE_BYTES = 65536  # the encoding and binary checks look at this many leading bytes


def detect_encoding(
    data: bytes, source: str = "input", encoding: str | None = None, *, final: bool = True, kind: str = "CSV"
) -> tuple[str, str]:
    """Check the first 64 KiB of ``data`` and decode it with ``encoding`` or the first of :data:`ENCODINGS`
    that fits.

    The one place that decides how input bytes are read, shared by :func:`decode_text` (a whole
    file in memory) and :func:`nlp_pp.text.stream.iter_unlabeled_texts` (the first 64 KiB of a file
    it then streams).

    Parameters
    ----------
    data : bytes
        A whole file (``final=True``) or its first bytes (``final=False``: a multi-byte character
        cut at the end of ``data`` is then not an error, its bytes are left out of the text).
    source : str
        How messages name the input.
    encoding : str, optional
        Force this encoding instead of detecting one.
    kind : str
        What the input should be, for messages ("CSV", or "text" for a plain-text file).

    Returns
    -------
    (text, encoding)
        The decoded text (a byte-order mark is *not* removed here) and the encoding used.

    Raises
    ------
    DataError
        UTF-16 or UTF-32 input, binary input, or bytes that no candidate encoding decodes.
    ConfigError
        ``encoding`` is not an encoding Python knows.
    """
    sample = data[:SAMPLE_BYTES]
    quarters = [sample[i::4].count(0) for i in range(4)]  # UTF-32: two NUL bytes in every four
    if sample[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") or (
        len(sample) >= 16
        and (min(quarters[2:]) > 0.9 * len(sample) / 4 or min(quarters[:2]) > 0.9 * len(sample) / 4)
    ):
        raise DataError(
            f"{source} is UTF-32 encoded; save it as {'plain text' if kind == 'text' else kind} in UTF-8 "
            "or CP949"
        )
    even, odd = sorted((sample[0::2].count(0), sample[1::2].count(0)))  # UTF-16: NULs on one side only
    if sample[:2] in (b"\xff\xfe", b"\xfe\xff") or (
        len(sample) >= 8 and odd > 0.3 * len(sample) / 2 and even < 0.05 * len(sample) / 2
    ):
        raise DataError(
            f"{source} is UTF-16 encoded (Excel's 'Unicode text'); save it as "
            f"{'plain text' if kind == 'text' else kind} in UTF-8 or CP949"
        )
    controls = sum(sample.count(b) for b in _CONTROL_BYTES)
    if controls > 0.05 * len(sample):
        noun, export = (
            ("text file", "save it as plain text")
            if kind == "text"
            else (f"{kind} text file", f"export it as {kind}")
        )
        raise DataError(
            f"{source} looks binary ({controls} control bytes in its first {len(sample)}), not a {noun}; "
            f"{export} (UTF-8 or CP949)"
        )
    candidates = (encoding,) if encoding else ENCODINGS
    for enc in candidates:
        try:
            text = (
                data.decode(enc) if final else codecs.getincrementaldecoder(enc)().decode(data, final=False)
            )
        except LookupError:
            raise ConfigError(f"unknown encoding {enc!r}; use e.g. utf-8 or cp949") from None
        except UnicodeDecodeError:
            continue
        return text, enc
    tried = ", ".join(candidates)
    raise DataError(f"cannot decode {source} as {tried}; save it as UTF-8 or CP949 (or pass --encoding)")


def decode_text(data: bytes, source: str = "input", encoding: str | None = None) -> tuple[str, str]:
    """Decode ``data`` with ``encoding`` or the first of :data:`ENCODINGS` that fits; returns (text,
    encoding)."""
    if not data.strip():
        raise DataError(f"{source} is empty; give a CSV file with a header row and data rows")
    text, enc = detect_encoding(data, source, encoding)
    text = text[1:] if text.startswith("\ufeff") else text
    return text.replace("\x00", ""), enc  # a stray NUL inside a message would cut the CSV parser short


def read_csv(
    source: str | Path, encoding: str | None = None, timeout: float = DOWNLOAD_TIMEOUT
) -> tuple[pd.DataFrame, str, str]:
    """Read a CSV into strings; returns (frame, encoding used, sha256 of the raw bytes)."""
    data = read_bytes(source, timeout)
    text, enc = decode_text(data, str(source), encoding)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=False,
            on_bad_lines="error",
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{source} has no header row; the first line must name the columns") from None
    except (pd.errors.ParserError, ValueError) as e:
        raise DataError(
            f"{source} is not a valid CSV ({first_line(e)}); check quoting and delimiters"
        ) from None
    return df, enc, hashlib.sha256(data).hexdigest()


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
    df, enc, digest = read_csv(source, encoding, timeout)
    require_columns(df, (text_col, label_col), source, "--text-col / --label-col")
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
