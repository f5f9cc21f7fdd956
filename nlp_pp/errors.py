"""Exceptions a user can act on.

Every error that comes from bad input or bad options is an :class:`NlpPpError`. Its message is one
line that says what is wrong and what to do; ``pipeline.py`` prints it and exits with code 2, so a
user never sees a traceback for a mistake in their own data.
"""

from __future__ import annotations


class NlpPpError(Exception):
    """Base class of every user-facing error (the CLI maps it to exit code 2)."""

    exit_code = 2


class DataError(NlpPpError, ValueError):
    """The input data cannot be used: missing file, bad encoding, missing column, too few rows..."""


class ConfigError(NlpPpError, ValueError):
    """An option or configuration value is invalid."""


class RunError(NlpPpError):
    """A saved run directory is missing, incomplete, corrupt or from an incompatible version."""


class PreprocessingMismatch(ConfigError):
    """Pretrained vectors were trained on tokens of other preprocessing options than a run's."""


def first_line(e: BaseException | str, *, limit: int = 200, with_type: bool = False) -> str:
    """The first non-empty line of an exception's message (or of a text), shortened to ``limit`` characters.

    An exception without a message gives its class name; ``with_type`` prefixes the class name
    (``"ValueError: bad value"``). Every "what went wrong" shown in a one-line error comes from here.

    >>> first_line(ValueError("bad value\\nTraceback ..."))
    'bad value'
    >>> first_line(KeyError(), with_type=True)
    'KeyError'
    """
    text = str(e).strip()
    line = " ".join(text.splitlines()[0].split()) if text else ""
    line = shorten(line, limit)
    if isinstance(e, BaseException) and (with_type or not line):
        return f"{e.__class__.__name__}: {line}" if line else e.__class__.__name__
    return line


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to at most ``limit`` characters, an ellipsis marking the cut.

    >>> shorten("abcdefghij", 8)
    'abcde...'
    """
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."
