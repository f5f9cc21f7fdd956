"""A small on-disk cache for slow, deterministic steps (MeCab tokens, trained FastText vectors).

Entries are keyed by a hash of everything that determines them (data hash, options, version), so
a changed option simply misses. Nothing in the cache can execute code when read: values are JSON,
files are the arrays-only vector format of :mod:`nlp_pp.vectors.storage`, directories hold plain data files
(a token corpus: text and a ``.npy`` of integers). Every entry carries the SHA-256 of its content
and is verified when read; a damaged entry (a flipped bit, a truncated write, a foreign file) is
logged, deleted and recomputed by the caller, never returned and never fatal. Writes go to a
temporary name first and are renamed into place.

Layout under ``root/<kind>/``: ``<key>.json`` (a value: one header line ``nlp_pp.cache/2 <length>
<sha256>`` then the JSON), ``<key><suffix>`` with ``<key><suffix>.sha256`` (a file), and
``<key>/`` (a directory of plain files plus ``manifest.json``, checksummed like a value, holding
the caller's value and every file's size and SHA-256; a directory holding anything else, or a
symbolic link, is damaged). A directory is built in a staging directory ``.staging-<random>/``
beside the entries and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from .errors import RunError, first_line
from .files import atomic_write

log = logging.getLogger(__name__)

FORMAT = b"nlp_pp.cache/2"
MANIFEST = "manifest.json"  # inside a directory entry
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")  # names a directory entry may hold
_STAGING_PREFIX = ".staging-"
_STALE_STAGING_SECONDS = 24 * 3600


class _Damaged(Exception):
    """Internal: why an entry cannot be used."""


def _pack(value: Any) -> bytes:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    header = b" ".join([FORMAT, str(len(body)).encode(), hashlib.sha256(body).hexdigest().encode()])
    return header + b"\n" + body


def _unpack(blob: bytes) -> Any:
    header, _, body = blob.partition(b"\n")
    parts = header.split(b" ")
    if len(parts) != 3 or parts[0] != FORMAT:
        raise _Damaged("unknown format")
    if parts[1] != str(len(body)).encode() or hashlib.sha256(body).hexdigest().encode() != parts[2]:
        raise _Damaged("checksum mismatch")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):  # only if the digest itself was forged
        raise _Damaged("not JSON") from None


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
    """JSON values, single files and directories of files under ``root/<kind>/<key>``; ``root=None`` disables
    it.

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
        try:
            return _unpack(blob)
        except _Damaged as e:
            self._discard(path, str(e))
            return None

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store JSON-serialisable ``value`` with its checksum (atomically)."""
        if not self.enabled:
            return
        blob = _pack(value)
        self._write(self._path(kind, key, ".json"), lambda f: f.write(blob))

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

    # -- directories --------------------------------------------------------------------------

    def staging_dir(self, kind: str) -> Path | None:
        """A new empty directory beside the entries of ``kind``, to build an entry in; ``None`` if unusable.

        Building there lets :meth:`put_dir` ``move`` the result into place with one rename. Staging
        directories left by interrupted runs are removed once they are a day old.
        """
        if not self.enabled:
            return None
        parent = self.root / kind
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._remove_stale_staging(parent)
            path = parent / f"{_STAGING_PREFIX}{secrets.token_hex(8)}"
            path.mkdir()
        except OSError as e:
            log.warning(
                "cannot create a staging directory in the cache %s (%s); continuing without the cache",
                parent,
                e.strerror or e,
            )
            return None
        return path

    def get_dir(self, kind: str, key: str) -> tuple[Path, Any] | None:
        """A cached directory and the value stored with it, if every file still matches its manifest.

        Returns ``None`` for a missing entry, and for a damaged one (an altered, missing or extra
        file, a symbolic link, a bad manifest), which is logged and deleted.
        """
        if not self.enabled:
            return None
        path = self._path(kind, key, "")
        try:
            st = os.lstat(path)
        except OSError:
            return None
        try:
            if not stat.S_ISDIR(st.st_mode):
                raise _Damaged("not a directory")
            value = self._verify_dir(path)
        except _Damaged as e:
            self._discard_dir(path, str(e))
            return None
        except OSError as e:
            self._discard_dir(path, f"unreadable: {e.strerror or e}")
            return None
        return path, value

    def _verify_dir(self, path: Path) -> Any:
        try:
            manifest = _unpack(self._read_regular(path / MANIFEST))
        except FileNotFoundError:
            raise _Damaged("no manifest") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise _Damaged("bad manifest")
        files = manifest["files"]
        present = set(os.listdir(path)) - {MANIFEST}
        if present != set(files):
            extra = sorted(present - set(files)) or sorted(set(files) - present)
            raise _Damaged(f"files differ from the manifest ({extra[0][:60]!r})")
        for name, info in files.items():
            if not (isinstance(name, str) and _FILE_NAME.match(name) and isinstance(info, dict)):
                raise _Damaged("bad manifest")
            file = path / name
            st = os.lstat(file)
            if not stat.S_ISREG(st.st_mode):
                raise _Damaged(f"{name} is not a regular file")
            if st.st_size != info.get("size") or file_digest(file) != info.get("sha256"):
                raise _Damaged(f"checksum mismatch in {name}")
        return manifest.get("value")

    @staticmethod
    def _read_regular(path: Path) -> bytes:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise _Damaged(f"{path.name} is not a regular file")
            return f.read(1 << 24)  # a manifest is small; a huge one fails its checksum

    def put_dir(
        self, kind: str, key: str, source: Path, value: Any = None, *, move: bool = False
    ) -> Path | None:
        """Store the files of directory ``source`` (no subdirectories) with ``value``; returns the entry's
        path.

        With ``move=True`` the directory itself is renamed into place when it is on the cache's file
        system (build it in :meth:`staging_dir`), so large files are not copied; ``source`` is then
        gone. Returns ``None`` when the cache is disabled or the entry cannot be written (logged;
        ``source`` is left as it was, apart from its manifest). An existing valid entry (a
        concurrent run stored the same key) is kept and returned.
        """
        if not self.enabled:
            return None
        source = Path(source)
        target = self._path(kind, key, "")
        staged = None
        try:
            files = {}
            for entry in sorted(os.scandir(source), key=lambda e: e.name):
                if entry.name == MANIFEST:
                    continue
                if not entry.is_file(follow_symlinks=False) or not _FILE_NAME.match(entry.name):
                    raise ValueError(
                        f"a cache directory holds plain files with simple names, not {entry.name!r}"
                    )
                files[entry.name] = {
                    "size": entry.stat(follow_symlinks=False).st_size,
                    "sha256": file_digest(Path(entry.path)),
                }
            (source / MANIFEST).write_bytes(_pack({"files": files, "value": value}))
            if move and self._same_device(source, target.parent):
                staged = source
            else:
                staged = self.staging_dir(kind)
                if staged is None:
                    return None
                for name in [*files, MANIFEST]:
                    shutil.copyfile(source / name, staged / name)
            try:
                os.rename(staged, target)
            except OSError:
                if not os.path.lexists(target):
                    raise
                if self.get_dir(kind, key) is not None:  # stored meanwhile by another run: keep theirs
                    shutil.rmtree(staged, ignore_errors=True)  # a copy, or the source given to be moved
                    return target
                os.rename(staged, target)  # get_dir discarded the damaged entry in the way
        except OSError as e:
            log.warning(
                "could not write the cache entry %s (%s); continuing without it", target, e.strerror or e
            )
            if staged is not None and staged != source:
                shutil.rmtree(staged, ignore_errors=True)
            return None
        return target

    def _same_device(self, a: Path, b: Path) -> bool:
        try:
            b.mkdir(parents=True, exist_ok=True)
            return os.stat(a).st_dev == os.stat(b).st_dev
        except OSError:
            return False

    def discard_dir(self, kind: str, key: str, why: str) -> None:
        """Remove the entry ``kind``/``key`` (its files do not hold what they should), logging ``why``."""
        if self.enabled:
            self._discard_dir(self._path(kind, key, ""), why)

    def _discard_dir(self, path: Path, why: str) -> None:
        log.warning("cache entry %s is damaged (%s); discarded, it will be recomputed", path, why)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError:
            pass

    @staticmethod
    def _remove_stale_staging(parent: Path) -> None:
        now = time.time()
        for entry in os.scandir(parent):
            if entry.name.startswith(_STAGING_PREFIX) and entry.is_dir(follow_symlinks=False):
                try:
                    if now - entry.stat(follow_symlinks=False).st_mtime > _STALE_STAGING_SECONDS:
                        shutil.rmtree(entry.path, ignore_errors=True)
                except OSError:
                    pass

    def _write(self, path: Path, write) -> None:
        """Write a cache entry atomically (:func:`nlp_pp.files.atomic_write`); a failure only warns."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, "wb", what="the cache entry") as f:
                write(f)
        except (OSError, RunError) as e:
            log.warning("could not write the cache entry %s (%s); continuing without it", path, first_line(e))
