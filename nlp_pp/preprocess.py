"""The whole preprocessing chain: clean -> MeCab -> stopwords -> jamo, in one call."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from .clean import CleanConfig
from .errors import ConfigError
from .hangul import decompose
from .parallel import map_chunks
from .stopwords import resolve_stopwords
from .tokenize import _tokenizer_for

PREPROCESS_VERSION = 2  # bump when the chain's output changes, to invalidate caches (2: symbol joining in clean.py)


@dataclass(frozen=True)
class PreprocessConfig:
    """Every option of :func:`preprocess` as plain data (saved with a run, part of cache keys).

    ``stopwords`` is ``"default"`` (the project's list), a file path, or ``None`` (no removal).
    ``jamo=False`` skips the jamo decomposition and returns MeCab morphs as they are.
    """

    placeholders: bool = True
    keep_jamo: bool = False
    lowercase: bool = True
    max_chars: int = 5000
    keep_pos: tuple[str, ...] | None = None
    drop_pos: tuple[str, ...] | None = None
    stopwords: str | None = "default"
    jamo: bool = True
    extra_stopwords: tuple[str, ...] = field(default_factory=tuple)
    keep_punct: bool = False

    def __post_init__(self) -> None:
        for name in ("keep_pos", "drop_pos", "extra_stopwords"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        if isinstance(self.stopwords, Path):
            object.__setattr__(self, "stopwords", str(self.stopwords))
        if not isinstance(self.max_chars, int) or self.max_chars < 1:
            raise ConfigError(f"max_chars must be a positive integer (got {self.max_chars!r})")
        if self.stopwords is not None and self.stopwords != "default" and not Path(self.stopwords).is_file():
            raise ConfigError(f"stopword file not found: {self.stopwords} (use 'default' or none)")

    def to_dict(self) -> dict:
        """JSON-ready dict (also what :meth:`from_dict` reads back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are a :class:`ConfigError`."""
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown preprocessing option(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    @property
    def cleaning(self) -> CleanConfig:
        """The cleaning step's options (callable: ``config.cleaning(text)``)."""
        return CleanConfig(placeholders=self.placeholders, keep_jamo=self.keep_jamo, lowercase=self.lowercase,
                           max_chars=self.max_chars, keep_punct=self.keep_punct)

    def fingerprint(self) -> str:
        """Short hash of the options and the stopword list's contents (for cache keys)."""
        words = sorted(resolve_stopwords(self.stopwords) | set(self.extra_stopwords))
        blob = json.dumps([PREPROCESS_VERSION, self.to_dict(), words], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _preprocess_chunk(texts: list[str], config: PreprocessConfig, stopwords: frozenset[str]) -> list[list[str]]:
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
    >>> from nlp_pp.hangul import compose
    >>> [compose(t) for t in preprocess(["대.출 필요하세요? 010-1234-5678"])[0]]
    ['대출', '필요', '세요', 'PHONE']
    """
    if config is not None and options:
        raise ConfigError("give either a PreprocessConfig or keyword options, not both")
    unknown = set(options) - set(PreprocessConfig.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"unknown preprocessing option(s): {', '.join(sorted(unknown))}; "
                          f"valid: {', '.join(PreprocessConfig.__dataclass_fields__)}")
    cfg = config or PreprocessConfig(**options)
    stop = resolve_stopwords(cfg.stopwords) | frozenset(cfg.extra_stopwords)
    texts = ["" if t is None else str(t) for t in texts]
    func = partial(_preprocess_chunk, config=cfg, stopwords=stop)
    return map_chunks(func, texts, n_jobs=n_jobs, progress=progress, desc="preprocess")
