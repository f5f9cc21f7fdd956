"""The whole preprocessing chain: clean -> MeCab -> stopwords -> jamo, in one call."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from ..errors import ConfigError
from ..inputs import check_texts
from ..options import (
    AnyOf,
    Boolean,
    ListOf,
    OneOf,
    Optional,
    Text,
    borrow,
    option,
    parse_values,
    sub_config,
    validate,
)
from .clean import CleanConfig
from .hangul import decompose
from .parallel import map_chunks
from .stopwords import resolve_stopwords
from .tokenize import _tokenizer_for

PREPROCESS_VERSION = (
    2  # bump when the chain's output changes, to invalidate caches (2: symbol joining in clean.py)
)

_STOPWORDS = Optional(AnyOf(OneOf("default"), Text("a stopword file path")))


@dataclass(frozen=True)
class PreprocessConfig:
    """Every option of :func:`preprocess` as plain data (saved with a run, part of cache keys).

    The cleaning options are :class:`~nlp_pp.text.clean.CleanConfig`'s (:attr:`cleaning` rebuilds it).
    The defaults are the chain the benchmarks measured; the designed chain of the original notebook
    (stopwords removed, bare jamo and punctuation dropped) is
    ``PreprocessConfig(stopwords="default", keep_jamo=False, keep_punct=False)``.
    """

    placeholders: bool = borrow(CleanConfig, "placeholders")
    keep_jamo: bool = borrow(CleanConfig, "keep_jamo")
    lowercase: bool = borrow(CleanConfig, "lowercase")
    max_chars: int = borrow(CleanConfig, "max_chars")
    keep_punct: bool = borrow(CleanConfig, "keep_punct")
    keep_pos: tuple[str, ...] | None = option(
        None,
        Optional(ListOf(Text("a MeCab tag prefix"))),
        "keep only morphs whose MeCab tag starts with one of these, e.g. NN,VV,VA",
    )
    drop_pos: tuple[str, ...] | None = option(
        None,
        Optional(ListOf(Text("a MeCab tag prefix"))),
        "drop morphs whose MeCab tag starts with one of these, e.g. J,E",
    )
    stopwords: str | None = option(
        None,
        _STOPWORDS,
        "stopword list: 'default' is the project's list "
        "(stopwords/korean.txt), or a file; none keeps them (BENCHMARKS.md, accuracy)",
        metavar="default|none|PATH",
    )
    jamo: bool = option(
        True,
        Boolean(),
        "decompose tokens into jamo before the vocabulary and FastText "
        "(FastText's character n-grams then see sub-syllable structure)",
    )
    extra_stopwords: tuple[str, ...] = option(
        (), ListOf(Text("a token"), min_len=0), "more tokens to remove, on top of the list", cli=False
    )

    # Options added after runs were first saved, with the value older runs used without saying so.
    LEGACY = {"keep_punct": False, "keep_jamo": False, "stopwords": "default"}

    def __post_init__(self) -> None:
        if isinstance(self.stopwords, Path):
            object.__setattr__(self, "stopwords", str(self.stopwords))
        validate(self)
        if self.stopwords not in (None, "default") and not Path(self.stopwords).is_file():
            raise ConfigError(f"stopword file not found: {self.stopwords} (use 'default' or none)")

    def to_dict(self) -> dict:
        """JSON-ready dict (also what :meth:`from_dict` reads back)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessConfig:
        """Build from a dict of options (strings are parsed as on the command line); unknown keys are
        errors."""
        return cls(**parse_values(cls, d))

    @classmethod
    def from_saved(cls, d: dict) -> PreprocessConfig:
        """Read a dict saved by an earlier version: an option it lacks takes the value it had then."""
        return cls.from_dict({**cls.LEGACY, **d})

    @property
    def cleaning(self) -> CleanConfig:
        """The cleaning step's options (callable: ``config.cleaning(text)``)."""
        return sub_config(self, CleanConfig)

    def fingerprint(self) -> str:
        """Short hash of the options and the stopword list's contents (for cache keys)."""
        words = sorted(resolve_stopwords(self.stopwords) | set(self.extra_stopwords))
        blob = json.dumps([PREPROCESS_VERSION, self.to_dict(), words], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _preprocess_chunk(
    texts: list[str], config: PreprocessConfig, stopwords: frozenset[str]
) -> list[list[str]]:
    tok = _tokenizer_for(config.keep_pos, config.drop_pos)
    clean = config.cleaning
    out = []
    for text in texts:
        tokens = [t for t in tok(clean(text)) if t not in stopwords and not t.isspace()]
        out.append([decompose(t) for t in tokens] if config.jamo else tokens)
    return out


def preprocess(
    texts: Sequence[str] | Iterable[str],
    config: PreprocessConfig | None = None,
    *,
    n_jobs: int | None = 1,
    progress: bool = False,
    **options,
) -> list[list[str]]:
    """Clean, tokenize with MeCab, remove stopwords and decompose into jamo, with the defaults.

    Options are :class:`PreprocessConfig` fields, given as a config or as keywords. ``n_jobs``
    > 1 (or -1 for every core) splits the texts over processes; order is kept.

    Examples
    --------
    >>> from nlp_pp.text.hangul import compose
    >>> [compose(t) for t in preprocess(["대.출 필요하세요? 010-1234-5678 ㅋㅋ"])[0]]
    ['대출', '필요', '하', '세요', '?', 'PHONE', 'ㅋㅋ']
    >>> [compose(t) for t in preprocess(["대.출 필요하세요?"], stopwords="default", keep_punct=False)[0]]
    ['대출', '필요', '세요']
    """
    if config is not None and options:
        raise ConfigError("give either a PreprocessConfig or keyword options, not both")
    cfg = config or PreprocessConfig(**parse_values(PreprocessConfig, options))
    texts = check_texts(texts)
    return map_chunks(chunk_worker(cfg), texts, n_jobs=n_jobs, progress=progress, desc="preprocess")


def chunk_worker(config: PreprocessConfig) -> Callable[[list[str]], list[list[str]]]:
    """The picklable function :func:`preprocess` applies to each chunk of texts (list -> token lists).

    Also what :func:`nlp_pp.vectors.corpus.build_corpus` runs on the chunks it streams, so both give
    the same tokens for the same texts and config.
    """
    stop = resolve_stopwords(config.stopwords) | frozenset(config.extra_stopwords)
    return partial(_preprocess_chunk, config=config, stopwords=stop)
