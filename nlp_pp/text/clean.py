"""Regex cleaning of Korean messages.

Order of operations in :func:`clean_text`:

1. truncate to ``max_chars`` (a 1 MB message must not blow memory downstream);
2. Unicode NFKC normalisation: full-width and circled digits become ASCII (``０１０`` -> ``010``,
   ``①`` -> ``1``), and a consonant followed by a vowel typed as separate jamo *inside a word*
   composes into a syllable (``ㄷㅐ출`` -> ``대출``), which undoes a common spam obfuscation; runs of
   bare jamo standing alone (``ㅋㅋㅠㅠ``) are left as typed, never merged into ``큐``;
3. lower-case Latin letters;
4. optionally (``placeholders=True``, the default) replace URLs, phone numbers and money amounts by
   the tokens ``URL``, ``PHONE`` and ``MONEY`` -- among the strongest spam signals, and destroyed by
   the character filter otherwise;
5. remove symbols that split a word into one-letter pieces (``대.출``, ``카*지*노`` -> ``대출``,
   ``카지노``; ``c@sino`` -> ``csino``); between two longer words (``영화..최고``, ``재밌다.추천``)
   a symbol only separates them, and ``,``, ``!`` and ``?`` always separate;
6. keep only Hangul syllables, Latin letters, digits and whitespace (bare jamo such as ``ㅋㅋ`` or
   ``ㅠㅠ`` too when ``keep_jamo=True``); everything else becomes a space, except that with
   ``keep_punct=True`` runs of expressive punctuation become one token each: ``...`` -> ``…``,
   ``???`` -> ``?``, ``!!`` -> ``!``, ``~~`` -> ``~``, ``^^`` -> ``^^``, ``;;;`` -> ``;;`` (tone
   carried by punctuation; measured in BENCHMARKS.md, accuracy);
7. collapse whitespace.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jamo

from ..options import Boolean, Interval, option, validate

URL_TOKEN = "URL"
PHONE_TOKEN = "PHONE"
MONEY_TOKEN = "MONEY"
PLACEHOLDERS = (URL_TOKEN, PHONE_TOKEN, MONEY_TOKEN)

# Bare jamo: conjoining (U+1100-11FF, what NFKC turns ㅋ into), compatibility (U+3130-318F),
# and the extended blocks.
_JAMO = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff"

_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|kr|co|me|ly|io|shop|xyz|info|biz|site|link|gl|to|cc)"
    r"(?:/\S*)?",
)
# 010-1234-5678, 01012345678, 010.1234.5678, 02-123-4567, 1588-1234, 080-123-4567, +82 10 ...
_PHONE_RE = re.compile(
    r"(?<!\d)(?:\+82[\s.-]?0?|0)\d{1,2}[\s.-]?\d{3,4}[\s.-]?\d{4}(?!\d)"
    r"|(?<!\d)1[5-9]\d{2}[\s.-]?\d{4}(?!\d)"
)
# 50만원, 3,000,000원, 300만, ₩50,000, $20, 2천만원, 1억, 5천원, 10만 원
_MONEY_RE = re.compile(
    r"[₩$￦]\s?\d[\d,]*(?:\.\d+)?"
    r"|\d[\d,]*(?:\.\d+)?\s?(?:억|천만|백만|십만|만|천)\s?원?"
    r"|\d[\d,]*(?:\.\d+)?\s?원"
)
_OBF_SYMBOLS = r"(?:[^\w\s,!?]|_){1,3}"  # 1-3 symbols other than , ! ?
_OBF_CHAIN_RE = re.compile(f"[가-힣a-z]+(?:{_OBF_SYMBOLS}[가-힣a-z]+)+")
_OBF_SPLIT_RE = re.compile(f"({_OBF_SYMBOLS})")
_KEEP = "가-힣a-zA-Z0-9\\s"
_DROP_RE = re.compile(f"[^{_KEEP}]+")
_DROP_KEEP_JAMO_RE = re.compile(f"[^{_KEEP}\u1100-\u11ff\u3130-\u318f]+")  # modern jamo only
_SPACES_RE = re.compile(r"\s+")
# expressive punctuation kept by keep_punct=True, each run -> one canonical token (NFKC has already
# turned … into ...); a single . or ; (sentence punctuation, emoticon noise) is dropped
_PUNCT_RE = re.compile(r"\.{2,}|\?+|!+|~+|\^{2,}|;{2,}")
_PUNCT_TOKENS = {".": "…", "?": "?", "!": "!", "~": "~", "^": "^^", ";": ";;"}
_BARE_JAMO_RE = re.compile(f"[{_JAMO}]+")
_COMPAT_RUN_RE = re.compile("[\u3131-\u318e]+")
_ATTACHED_LEFT_RE = re.compile(r"[가-힣][^\w\s]{0,3}$")
_ATTACHED_RIGHT_RE = re.compile(r"[^\w\s]{0,3}[가-힣]")
_CONJOINING_RE = re.compile("[\u1100-\u11ff]")


@dataclass(frozen=True)
class CleanConfig:
    """Options of :func:`clean_text` (plain data, saved with a run); calling it cleans one text.

    The defaults are the ones the benchmarks measured (BENCHMARKS.md): bare jamo and expressive
    punctuation are kept as tokens because tone lives in them (``ㅋㅋ``, ``ㅠㅠ``, ``!!``, ``...``).
    """

    placeholders: bool = option(
        True,
        Boolean(),
        "replace URLs, phone numbers and money amounts by "
        "URL/PHONE/MONEY (strong spam signals the character filter would destroy)",
    )
    keep_jamo: bool = option(
        True,
        Boolean(),
        "keep runs of bare jamo such as ㅋㅋ and ㅠㅠ (they carry tone; BENCHMARKS.md, accuracy)",
    )
    lowercase: bool = option(True, Boolean(), "lower-case Latin letters")
    max_chars: int = option(
        5000,
        Interval(int, 1, 100_000),
        "cut each text to this many characters first, so one 1 MB message cannot exhaust memory",
    )
    keep_punct: bool = option(
        True,
        Boolean(),
        "keep expressive punctuation as tokens: ... ? ! ~ ^^ ;; (they carry tone; BENCHMARKS.md, accuracy)",
    )

    def __post_init__(self) -> None:
        validate(self)

    def __call__(self, text: str) -> str:
        """Clean one text with these options (see the module docstring for the steps)."""
        return _clean(text, self)


@lru_cache(maxsize=64)
def _config(**options: Any) -> CleanConfig:
    return CleanConfig(**options)


def clean_text(text: str, **options: Any) -> str:
    """Clean one message; ``options`` are :class:`CleanConfig` fields (see the module docstring).

    Examples
    --------
    >>> clean_text("[광고] 대.출 가능!! 010-1234-5678 ㅋㅋ http://bit.ly/x 50만원")
    '광고 대출 가능 ! PHONE ㅋㅋ URL MONEY'
    >>> clean_text("[광고] 대.출 가능!! ㅋㅋ", keep_jamo=False, keep_punct=False)
    '광고 대출 가능'
    >>> clean_text("영화..최고!!! 재밌어요~~ ^^")
    '영화 … 최고 ! 재밌어요 ~ ^^'
    """
    return _config(**options)(text)


def _clean(text: str, cfg: CleanConfig) -> str:
    if not isinstance(text, str):
        raise TypeError(f"clean_text expects a str, got {type(text).__name__}")
    max_chars = cfg.max_chars
    if len(text) > max_chars:
        text = text[:max_chars]
    text = _nfkc(text)
    if cfg.lowercase:
        text = text.lower()
    if cfg.placeholders:
        text = _URL_RE.sub(f" {URL_TOKEN} ", text)
        text = _PHONE_RE.sub(f" {PHONE_TOKEN} ", text)
        text = _MONEY_RE.sub(f" {MONEY_TOKEN} ", text)
    text = _OBF_CHAIN_RE.sub(_join_obfuscated, text)
    drop = _drop_keep_punct if cfg.keep_punct else " "
    if cfg.keep_jamo:
        text = _DROP_KEEP_JAMO_RE.sub(drop, text)
        if _CONJOINING_RE.search(text):  # NFKC turned ㅋ into conjoining ᄏ: show it as typed
            text = "".join(_compat_jamo(c) for c in text)
    else:
        text = _BARE_JAMO_RE.sub(" ", _DROP_RE.sub(drop, text))
    text = _SPACES_RE.sub(" ", text).strip()
    return text[:max_chars].rstrip()  # NFKC and placeholders can lengthen text


def _join_obfuscated(match: re.Match) -> str:
    """Join across a symbol when a side is one letter.

    ``대.출.상담`` -> ``대출상담``, ``영화..최고`` -> ``영화 .. 최고``.

    A symbol that is not joined over stays, spaced, for step 6 to drop or keep as punctuation.
    """
    parts = _OBF_SPLIT_RE.split(match.group())  # word, symbol, word, ... (the pattern captures)
    pieces, symbols = parts[::2], parts[1::2]
    out = [pieces[0]]
    for prev, symbol, word in zip(pieces, symbols, pieces[1:]):
        out += (word,) if len(prev) == 1 or len(word) == 1 else (" ", symbol, " ", word)
    return "".join(out)


def _drop_keep_punct(match: re.Match) -> str:
    """A run of dropped characters -> its expressive punctuation as spaced tokens (``...!!`` -> `` … ! ``)."""
    tokens = [_PUNCT_TOKENS[m.group()[0]] for m in _PUNCT_RE.finditer(match.group())]
    return f" {' '.join(tokens)} " if tokens else " "


def _nfkc(text: str) -> str:
    """NFKC, except for runs of compatibility jamo that touch no Hangul syllable (``ㅋㅋㅠㅠ``)."""
    if not _COMPAT_RUN_RE.search(text):
        return unicodedata.normalize("NFKC", text)
    out, last = [], 0
    for m in _COMPAT_RUN_RE.finditer(text):
        start, end = m.span()
        if _ATTACHED_LEFT_RE.search(text, max(0, start - 4), start) or _ATTACHED_RIGHT_RE.match(text, end):
            continue  # part of a word (perhaps through a symbol, ㄷㅐ.출): let NFKC compose it into 대출
        out += [unicodedata.normalize("NFKC", text[last:start]), m.group()]
        last = end
    out.append(unicodedata.normalize("NFKC", text[last:]))
    return "".join(out)


@lru_cache(maxsize=512)
def _compat_jamo(ch: str) -> str:
    """Conjoining jamo -> the compatibility jamo people type (ᄏ -> ㅋ); other characters unchanged."""
    if not "\u1100" <= ch <= "\u11ff":
        return ch
    try:
        return "".join(jamo.jamo_to_hcj(ch))
    except Exception:  # archaic jamo without a compatibility form
        return ch


def clean_texts(texts: list[str], config: CleanConfig | None = None) -> list[str]:
    """Apply one :class:`CleanConfig` (default: the defaults) to many texts."""
    clean = config or CleanConfig()
    return [clean(t) for t in texts]
