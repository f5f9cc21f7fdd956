"""Input bytes: local files and http(s) downloads, their encoding, and their decoded text as a stream.

The one place that decides how input bytes are read: UTF-8 (a byte-order mark is stripped), else
CP949; binary, UTF-16 and UTF-32 input refused. :func:`scan_encoding` checks a whole file in blocks
(and hashes it) without holding it; :class:`DecodedStream` and :class:`Utf8Stream` hand its text to
pandas' CSV parser in bounded pieces. Every problem is a :class:`~nlp_pp.errors.DataError` whose
message is one line.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..errors import ConfigError, DataError

# What is detected: UTF-8 (a byte-order mark is stripped), else CP949 -- Excel's Korean default and a
# superset of EUC-KR, so EUC-KR files decode too.
ENCODINGS = ("utf-8", "cp949")
MAX_BYTES = 2 * 1024**3  # refuse inputs over 2 GiB rather than exhausting memory
DOWNLOAD_TIMEOUT = 300.0  # seconds for a whole download (each read also times out after 30 s)
_CONTROL_BYTES = [bytes([b]) for b in range(32) if b not in (9, 10, 13)]


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
    text in memory), :func:`scan_encoding` (a labelled CSV it then streams) and
    :func:`nlp_pp.text.stream.iter_unlabeled_texts` (the first 64 KiB of a file it then streams).

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


SCAN_BLOCK = 1 << 22  # bytes read at a time when a whole file is checked and hashed


def scan_encoding(
    open_binary: Callable[[], BinaryIO], source: str, encoding: str | None = None
) -> tuple[str, str]:
    """The encoding of a whole input and the sha256 of its bytes, read in blocks (memory independent
    of its size).

    The first 64 KiB are checked as :func:`detect_encoding` does (binary, UTF-16/32, an unknown
    ``encoding``); then every byte must decode with ``encoding``, else with the first of
    :data:`ENCODINGS` that decodes all of them -- the same choice as :func:`decode_text` on the
    whole file. ``open_binary`` opens the input anew for each pass.
    """
    try:
        with open_binary() as f:
            sample = f.read(SAMPLE_BYTES)
    except OSError as e:
        raise DataError(f"cannot read {source}: {e.strerror or e}") from None
    empty = DataError(f"{source} is empty; give a CSV file with a header row and data rows")
    if not sample.strip() and len(sample) < SAMPLE_BYTES:
        raise empty
    detect_encoding(sample, source, encoding, final=False)
    candidates = (encoding,) if encoding else ENCODINGS
    for enc in candidates:
        digest, decoder, blank = hashlib.sha256(), codecs.getincrementaldecoder(enc)(), True
        try:
            with open_binary() as f:
                while block := f.read(SCAN_BLOCK):
                    digest.update(block)
                    decoder.decode(block)
                    blank = blank and not block.strip()
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        except OSError as e:
            raise DataError(f"cannot read {source}: {e.strerror or e}") from None
        if blank:
            raise empty
        return enc, digest.hexdigest()
    tried = ", ".join(candidates)
    raise DataError(f"cannot decode {source} as {tried}; save it as UTF-8 or CP949 (or pass --encoding)")


def stream_codec(encoding: str) -> str:
    """What a stream of ``encoding`` is decoded with: ``utf-8-sig`` for UTF-8 (a byte-order mark is
    stripped), else the codec's own name."""
    codec = codecs.lookup(encoding).name
    return "utf-8-sig" if codec == "utf-8" else codec


class DecodedStream(io.TextIOBase):
    """The decoded text of an input; decoding and read errors become a :class:`DataError` (also kept in
    ``error``).

    :meth:`read` removes NUL characters (a stray NUL inside a message would cut pandas' CSV parser
    short). With ``lines=True`` (plain text) ``\\r\\n`` and ``\\r`` become ``\\n``; otherwise line ends are
    left to the CSV parser, which handles them inside quotes.
    """

    def __init__(
        self, open_binary: Callable[[], BinaryIO], source: str, encoding: str, *, lines: bool = False
    ):
        super().__init__()
        self.source, self.encoding_name = source, encoding
        try:
            self.raw = open_binary()
        except OSError as e:
            raise DataError(f"cannot read {source}: {e.strerror or e}") from None
        self.text = io.TextIOWrapper(
            self.raw, encoding=stream_codec(encoding), errors="strict", newline=None if lines else ""
        )
        self.error: DataError | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        """Up to ``size`` characters, without NULs; ``""`` only at the end (a block of nothing but NULs
        is skipped, not taken for the end of the input)."""
        size = size if size is not None and size >= 0 else -1
        while True:
            text = self._guard(lambda: self.text.read(size))
            kept = text.replace("\x00", "")
            if kept or not text:
                return kept

    def drain(self) -> None:
        """Read the rest of the input's bytes without decoding them (so a hashing reader sees them all)."""
        while self._guard(lambda: self.text.buffer.read(1 << 20)):
            pass

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
                f"cannot decode {self.source} as {self.encoding_name} near byte {where} (the encoding was "
                "detected from its first 64 KiB); save it as UTF-8 or CP949, or pass --encoding"
            )
            raise self.error from None
        except OSError as e:
            self.error = DataError(f"cannot read {self.source}: {e.strerror or e}")
            raise self.error from None

    def close(self) -> None:
        try:
            if getattr(self, "text", None) is not None:
                self.text.close()
        finally:
            super().close()


class HashingReader(io.RawIOBase):
    """A binary input that adds every byte read through it to ``digest`` (a ``hashlib`` object)."""

    def __init__(self, raw: BinaryIO, digest):
        super().__init__()
        self.raw, self.digest = raw, digest

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b)
        if n:
            self.digest.update(memoryview(b)[:n])
        return n

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


class Utf8Stream(io.RawIOBase):
    """A :class:`DecodedStream` re-encoded as UTF-8 bytes, for pandas' C parser.

    pandas wraps a *text* handle (or a ``StringIO``) in its own bytes adapter, which reads ``n``
    characters for each ``n`` bytes asked and keeps the rest: with Korean (3 bytes a character) its
    buffer grows with the file and every read copies it, so reading took time quadratic in the
    file's size (pandas 2.x/3.x ``_BytesIOWrapper``). Handing it bytes keeps the buffer here, bounded
    by one request plus one 64 KiB block.
    """

    _BLOCK = 1 << 16

    def __init__(self, text: DecodedStream):
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
