"""Korean stopwords: load a list, remove its tokens with set look-ups.

The project's list is ``stopwords/korean.txt`` (one token per line, ``#`` comments). In an
installed wheel the same file ships as ``nlp_pp/_stopwords/korean.txt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import DataError
from ..resources import resource

DEFAULT_LIST = "korean.txt"


def default_stopwords_path() -> Path:
    """Path of the project's Korean stopword list (checkout or installed wheel)."""
    return resource("stopwords", DEFAULT_LIST)


def load_stopwords(path: str | Path | None = None) -> frozenset[str]:
    """Read a stopword file (UTF-8, one token per line, ``#`` comments); ``None`` = the project's list.

    Examples
    --------
    >>> "를" in load_stopwords()
    True
    """
    p = Path(path) if path is not None else default_stopwords_path()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"stopword file not found: {p}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise DataError(
            f"cannot read stopword file {p}: {e.__class__.__name__}; give a UTF-8 text file"
        ) from None
    return parse_stopwords(text)


def parse_stopwords(text: str) -> frozenset[str]:
    """The stopwords of a list's text: one token per line, ``#`` starts a comment, blank lines skipped.

    >>> sorted(parse_stopwords("# particles\\n을\\n를  # object\\n\\n"))
    ['를', '을']
    """
    words = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(w for w in words if w)


def resolve_stopwords(stopwords: str | Path | Iterable[str] | None) -> frozenset[str]:
    """Turn the ``stopwords`` option into a set: ``"default"``, a file path, an iterable, or ``None``
    (none)."""
    if stopwords is None:
        return frozenset()
    if isinstance(stopwords, str) and stopwords == "default":
        return load_stopwords()
    if isinstance(stopwords, (str, Path)):
        return load_stopwords(stopwords)
    return frozenset(stopwords)


def remove_stopwords(tokens: list[str], stopwords: frozenset[str] | set[str]) -> list[str]:
    """Tokens that are not in ``stopwords``, in order.

    >>> remove_stopwords(["영화", "를", "봤"], {"를"})
    ['영화', '봤']
    """
    return [t for t in tokens if t not in stopwords]
