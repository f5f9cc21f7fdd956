"""A small on-disk cache for slow, deterministic steps (MeCab tokens, trained FastText models).

Entries are keyed by a hash of everything that determines them (data hash, options, version), so
a changed option simply misses. Writes go to a temporary name first and are renamed into place.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any


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


class Cache:
    """Pickled values and whole directories under ``root/<kind>/<key>``; ``root=None`` disables it."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root is not None else None

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def _path(self, kind: str, key: str) -> Path:
        assert self.root is not None
        return self.root / kind / key

    def get(self, kind: str, key: str) -> Any | None:
        """The cached value, or ``None`` (also for an unreadable entry, which is then ignored)."""
        if not self.enabled:
            return None
        path = self._path(kind, key).with_suffix(".pkl")
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store ``value`` (atomically); failures to write are ignored: a cache is optional."""
        if not self.enabled:
            return
        path = self._path(kind, key).with_suffix(".pkl")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            pass

    def dir(self, kind: str, key: str) -> Path | None:
        """The cached directory, or ``None``."""
        if not self.enabled:
            return None
        path = self._path(kind, key)
        return path if (path / ".complete").exists() else None

    def put_dir(self, kind: str, key: str, source: Path) -> None:
        """Copy directory ``source`` into the cache (atomically)."""
        if not self.enabled:
            return
        final = self._path(kind, key)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=final.parent, suffix=".tmp"))
            shutil.copytree(source, tmp, dirs_exist_ok=True)
            (tmp / ".complete").touch()
            if final.exists():
                shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except OSError:
            pass
