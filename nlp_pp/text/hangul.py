"""Hangul jamo decomposition and composition (with the ``jamo`` package).

Each Hangul syllable becomes exactly three conjoining jamo -- initial, medial, and final consonant or
the filler :data:`EMPTY_FINAL` when the syllable has none -- so FastText's character n-grams see
sub-syllable structure (``대출`` -> ``대ᴥ출``) and the decomposition is reversible. Characters that
are not Hangul syllables are left as they are. To make :func:`compose` the exact inverse of
:func:`decompose` for *every* string, input characters that could be mistaken for decomposition
output (conjoining jamo, the filler, the escape) are prefixed with :data:`ESCAPE`; ordinary text
never contains them after :func:`nlp_pp.text.clean.clean_text`.
"""

from __future__ import annotations

from functools import lru_cache

import jamo

EMPTY_FINAL = "ᴥ"  # U+1D25, stands for "no final consonant"
ESCAPE = "\ue000"  # private use: marks a literal jamo/filler in the input

_LEADS = frozenset(chr(c) for c in range(0x1100, 0x1113))
_VOWELS = frozenset(chr(c) for c in range(0x1161, 0x1176))
_TAILS = frozenset(chr(c) for c in range(0x11A8, 0x11C3))
_SPECIAL = frozenset(chr(c) for c in range(0x1100, 0x1200)) | {EMPTY_FINAL, ESCAPE}


def _is_syllable(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3"


@lru_cache(maxsize=500_000)
def decompose(token: str) -> str:
    """Decompose every Hangul syllable of ``token`` into three jamo; other characters are kept.

    Results are cached: tokens repeat heavily in real text, so most calls are dictionary look-ups.

    Examples
    --------
    >>> decompose("대출")
    '대ᴥ출'
    >>> decompose("URL")
    'URL'
    """
    out: list[str] = []
    for ch in token:
        if _is_syllable(ch):
            parts = jamo.h2j(ch)
            out.append(parts if len(parts) == 3 else parts + EMPTY_FINAL)
        elif ch in _SPECIAL:
            out.append(ESCAPE + ch)
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=500_000)
def compose(token: str) -> str:
    """Inverse of :func:`decompose`: ``compose(decompose(s)) == s`` for every string ``s``.

    Examples
    --------
    >>> compose("대ᴥ출")
    '대출'
    """
    out: list[str] = []
    i, n = 0, len(token)
    while i < n:
        ch = token[i]
        if ch == ESCAPE and i + 1 < n:
            out.append(token[i + 1])
            i += 2
            continue
        if (
            i + 2 < n
            and ch in _LEADS
            and token[i + 1] in _VOWELS
            and (token[i + 2] in _TAILS or token[i + 2] == EMPTY_FINAL)
        ):
            tail = token[i + 2]
            out.append(jamo.j2h(ch, token[i + 1], 0 if tail == EMPTY_FINAL else tail))
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def decompose_tokens(tokens: list[str]) -> list[str]:
    """Apply :func:`decompose` to each token of a list."""
    return [decompose(t) for t in tokens]


def compose_tokens(tokens: list[str]) -> list[str]:
    """Apply :func:`compose` to each token of a list."""
    return [compose(t) for t in tokens]
