"""Writing files safely, in one place: atomically, fsynced, with a full disk as one clear error; and
reading a user's option file (TOML/YAML) within fixed bounds.

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

from .errors import ConfigError, RunError, first_line

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


# --------------------------------------------------------------------------- option files


MAX_CONFIG_BYTES = 1 << 20
"""Largest config file read (a real one is a few hundred bytes)."""
MAX_CONFIG_VALUES = 10_000
"""Most values a parsed config may hold, counted as they would be walked: YAML aliases count each time
they are used, so a 368-byte "billion laughs" file is refused instead of taking minutes and gigabytes."""


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file of options into a dict."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"--config {p} is a directory; give a .toml or .yaml file")
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    if p.suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"config file {p} must end in .toml, .yaml or .yml")
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {p} is {size} bytes, more than a config file can need (1 MiB)")
        text = p.read_bytes().decode("utf-8-sig")  # a byte-order mark (Windows editors) is skipped
        if p.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except ConfigError:
        raise
    except UnicodeDecodeError:
        raise ConfigError(f"cannot parse config file {p}: it is not UTF-8 text") from None
    except RecursionError:
        raise ConfigError(f"cannot parse config file {p}: it is nested too deeply") from None
    except Exception as e:  # TOMLDecodeError, YAMLError
        raise ConfigError(f"cannot parse config file {p}: {first_line(e)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold key = value options at its top level")
    _check_size(data, p)
    return data


def _check_size(data: Any, p: Path) -> None:
    """Walk ``data`` (shared parts once per use) and refuse it past :data:`MAX_CONFIG_VALUES` values."""
    budget = MAX_CONFIG_VALUES
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        budget -= 1
        if budget < 0 or depth > 20:
            raise ConfigError(
                f"config file {p} holds more than {MAX_CONFIG_VALUES} values or nests deeper than 20 "
                "levels once read (YAML aliases repeat what they name); write the options out plainly"
            )
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for kv in value.items() for v in kv)
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1) for v in value)
