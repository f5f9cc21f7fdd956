"""Writing files safely, in one place: atomically, fsynced, with a full disk as one clear error.

Every file nlp_pp writes (run directories, word vectors, cache entries, exports) goes through
:func:`atomic_write` or :func:`atomic_directory`: the content is written beside its destination
under a temporary name, flushed to disk, then renamed into place, so a crash or a full disk never
leaves a half-written file where a reader would find it. Files get the usual permissions of the
user's umask (not ``mkstemp``'s 0600), so another account that should read an export can.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_json(d / "a.json", {"x": 1}); read_json(d / "a.json")
    {'x': 1}
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import RunError, first_line

_FULL = (errno.ENOSPC, errno.EDQUOT)


def write_error(e: BaseException, path: str | os.PathLike, what: str = "") -> BaseException:
    """The one-line :class:`RunError` of an ``OSError`` raised while writing ``path``; others unchanged.

    ``what`` names the content (``"word vectors"``); a full disk or quota says to free space, a
    read-only or forbidden place says to choose another. torch's zip writer reports a full disk as a
    ``RuntimeError``; it is recognised too.
    """
    err = e if isinstance(e, OSError) else getattr(e, "__cause__", None) or getattr(e, "__context__", None)
    where = f"while writing {what + ' to ' if what else ''}{path}"
    if (isinstance(err, OSError) and err.errno in _FULL) or (
        isinstance(e, RuntimeError) and "No space left" in str(e)
    ):
        return RunError(f"no space left on the device {where}; free some space and run again")
    if not isinstance(e, OSError):
        return e
    if e.errno in (errno.EACCES, errno.EPERM):
        return RunError(f"permission denied {where}; choose a writable directory")
    if e.errno == errno.EROFS:
        return RunError(f"read-only file system {where}; choose a writable directory")
    if e.errno == errno.ENOENT and Path(path).parent.is_dir():  # e.g. /proc: it exists, takes no new files
        return RunError(f"{Path(path).parent} does not take new files {where}; choose an ordinary directory")
    if e.errno == errno.ENOENT:
        return RunError(f"directory {Path(path).parent} does not exist {where}; create it first")
    if e.errno == errno.EISDIR:
        return RunError(f"{path} is a directory {where}; give a file name")
    return RunError(f"cannot write {what + ' to ' if what else ''}{path}: {first_line(e.strerror or e)}")


def fsync_dir(directory: str | os.PathLike) -> None:
    """Persist a rename in ``directory`` (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary_name(path: Path) -> Path:
    return path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, what: str = "") -> Iterator[IO]:
    """Write ``path`` through a temporary file beside it, fsynced and renamed into place when complete.

    A failure (a full disk included) leaves no half-written file and raises the one-line error of
    :func:`write_error`; the destination keeps its old content until the rename.
    """
    path = Path(path)
    tmp = None
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        while tmp is None:  # O_EXCL with a random name: the file gets the umask's permissions
            candidate = _temporary_name(path)
            try:
                fd = os.open(
                    candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
                )
            except FileExistsError:
                continue
            tmp = candidate
        with os.fdopen(
            fd, "wb" if "b" in mode else "w", **({} if "b" in mode else {"encoding": "utf-8"})
        ) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except BaseException as e:
        mapped = write_error(e, path, what)
        if mapped is e:
            raise
        raise mapped from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    fsync_dir(path.parent)


@contextmanager
def atomic_directory(path: str | os.PathLike, *, what: str = "") -> Iterator[Path]:
    """Fill a new directory under a temporary name beside ``path``; rename it to ``path`` when complete.

    ``path`` must not exist (nothing is ever overwritten). On any failure the temporary directory
    is removed, so ``path`` either appears whole or not at all.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while tmp is None:
            candidate = _temporary_name(path)
            try:
                candidate.mkdir()  # the umask's permissions, unlike mkdtemp's 0700
            except FileExistsError:
                continue
            tmp = candidate
        yield tmp
        os.rename(tmp, path)
        tmp = None
    except BaseException as e:
        mapped = write_error(e, path, what)
        if mapped is e:
            raise
        raise mapped from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    fsync_dir(path.parent)


def write_json(path: str | os.PathLike, data: Any, *, indent: int | None = 2) -> None:
    """Write strict JSON atomically (NaN and infinity are refused: other programs must read it)."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False)
    with atomic_write(path) as f:
        f.write(text)


def read_json(path: str | os.PathLike, what: str = "") -> Any:
    """Read a JSON file nlp_pp wrote; missing, unreadable, corrupt or absurdly nested -> one-line RunError.

    ``what`` is appended to the "corrupt" message (e.g. a hint what to do).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(
            f"{path.name} is missing in {path.parent}: not a complete nlp_pp run directory"
        ) from None
    except (IsADirectoryError, PermissionError) as e:
        raise RunError(f"cannot read {path} ({e.__class__.__name__})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunError(f"{path} is corrupt (not valid JSON){what}") from None
    except RecursionError:
        raise RunError(f"{path} is corrupt (nested too deeply){what}") from None
