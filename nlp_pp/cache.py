"""A small on-disk cache for slow, deterministic steps (MeCab tokens, trained FastText vectors).

Entries are keyed by a hash of everything that determines them (data hash, options, version), so
a changed option simply misses. Nothing in the cache can execute code when read: values are JSON,
files are the arrays-only vector format of :mod:`nlp_pp.vectors`. Every entry carries the SHA-256
of its content and is verified when read; a damaged entry (a flipped bit, a truncated write, a
foreign file) is logged, deleted and recomputed by the caller, never returned and never fatal.
Writes go to a temporary name first and are renamed into place.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = b"nlp_pp.cache/2"


def default_cache_dir() -> Path:
    """``$NLP_PP_CACHE_DIR``, else ``$XDG_CACHE_HOME/nlp_pp``, else ``~/.cache/nlp_pp``."""
    if os.environ.get("NLP_PP_CACHE_DIR"):
        return Path(os.environ["NLP_PP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nlp_pp"


def cache_key(*parts: Any) -> str:
    """A stable hex key for JSON-serialisable ``parts``."""
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Cache:
    """JSON values and single files under ``root/<kind>/<key>``; ``root=None`` disables it.

    A cache is optional: a failure to write is ignored, a failure to read is a miss.
    """

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root is not None else None

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        assert self.root is not None
        return self.root / kind / f"{key}{suffix}"

    def _discard(self, path: Path, why: str) -> None:
        log.warning("cache entry %s is damaged (%s); discarded, it will be recomputed", path, why)
        for p in (path, path.with_name(path.name + ".sha256")):
            try:
                p.unlink()
            except OSError:
                pass

    # -- values -------------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> Any | None:
        """The cached JSON value, or ``None`` (missing, or damaged and discarded)."""
        if not self.enabled:
            return None
        path = self._path(kind, key, ".json")
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        header, _, body = blob.partition(b"\n")
        parts = header.split(b" ")
        if len(parts) != 3 or parts[0] != FORMAT:
            self._discard(path, "unknown format")
            return None
        if parts[1] != str(len(body)).encode() or hashlib.sha256(body).hexdigest().encode() != parts[2]:
            self._discard(path, "checksum mismatch")
            return None
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):  # only if the digest itself was forged
            self._discard(path, "not JSON")
            return None

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store JSON-serialisable ``value`` with its checksum (atomically)."""
        if not self.enabled:
            return
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        header = b" ".join([FORMAT, str(len(body)).encode(), hashlib.sha256(body).hexdigest().encode()])
        self._write(self._path(kind, key, ".json"), lambda f: f.write(header + b"\n" + body))

    # -- files --------------------------------------------------------------------------------

    def get_file(self, kind: str, key: str, suffix: str) -> Path | None:
        """The cached file if its content still matches its recorded SHA-256, else ``None``."""
        if not self.enabled:
            return None
        path = self._path(kind, key, suffix)
        digest_path = path.with_name(path.name + ".sha256")
        if not path.is_file():
            return None
        try:
            expected = digest_path.read_text(encoding="ascii").strip()
            actual = file_digest(path)
        except (OSError, UnicodeDecodeError):
            self._discard(path, "no readable checksum")
            return None
        if expected != actual:
            self._discard(path, "checksum mismatch")
            return None
        return path

    def put_file(self, kind: str, key: str, source: Path) -> None:
        """Copy file ``source`` into the cache with its checksum."""
        if not self.enabled:
            return
        path = self._path(kind, key, Path(source).suffix)

        def copy(f) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)

        self._write(path, copy)
        self._write(path.with_name(path.name + ".sha256"), lambda f: f.write(file_digest(source).encode()))

    def _write(self, path: Path, write) -> None:
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, path)
        except OSError as e:
            log.warning("could not write the cache entry %s (%s); continuing without it", path, e.strerror or e)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
