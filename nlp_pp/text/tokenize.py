"""MeCab morphological analysis through the ``mecab`` module (its dictionary ships as a package).

The module comes from python-mecab-ko on CPython <= 3.12 and from its rebuild python-mecab-ko-py313
on 3.13 and newer (the same code, libmecab and mecab-ko-dic; identical tokens on the 200k NSMC
texts, BENCHMARKS.md "mecab-digest").

:class:`MecabTokenizer` reads MeCab's lattice as one string instead of building a ``Morpheme``
object per morph as ``MeCab.morphs`` does; the tokens are the same (tested against the public API)
and the call is faster (BENCHMARKS.md, "Preprocessing"). The lattice path uses the
binding's internals (``mecab.utils.create_lattice``, ``MeCab._tagger``): when they are missing, or
when the path disagrees with the public API on a probe sentence at start-up, the tokenizer uses the
public API (``MeCab.pos`` / ``MeCab.morphs``) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from ..inputs import check_texts
from .parallel import map_chunks

# Checked through both paths when a tokenizer starts: Hangul with and without spaces, an inflected
# verb (compound tag), jamo, digits, Latin letters, punctuation, a symbol and a Hanja.
_PROBE = "아버지가방에들어가신다. 대출 상담 받으세요 ㅋㅋ 010-1234 abc!! 😀 東京"


class MecabTokenizer:
    """Split Korean text into MeCab morphs, optionally keeping or dropping POS tags by prefix.

    Parameters
    ----------
    keep_pos : tag prefixes to keep (``("NN", "VV", "VA")``); ``None`` keeps every morph.
    drop_pos : tag prefixes to drop (``("J", "E")`` drops particles and endings).

    Examples
    --------
    >>> MecabTokenizer()("대출 상담 받으세요")
    ['대출', '상담', '받', '으세요']
    >>> MecabTokenizer(keep_pos=("NN",))("대출 상담 받으세요")
    ['대출', '상담']
    """

    def __init__(self, keep_pos: Sequence[str] | None = None, drop_pos: Sequence[str] | None = None):
        from mecab import MeCab  # imported here: workers and notebooks pay for it only when used

        self._mecab = MeCab()
        self.keep_pos = tuple(keep_pos) if keep_pos else None
        self.drop_pos = tuple(drop_pos) if drop_pos else None
        try:
            from mecab.utils import create_lattice

            self._tagger = self._mecab._tagger
            self._create_lattice = create_lattice
        except (ImportError, AttributeError):  # another layout of the binding: use the public API
            self._tagger = None
        if self._tagger is not None and not self._fast_path_agrees():
            self._tagger = None

    def _fast_path_agrees(self) -> bool:
        """Whether the lattice path gives the public API's ``(morph, tag)`` pairs on :data:`_PROBE`."""
        try:
            lines = self._lines(_PROBE)
            fast = None if lines is None else self._pairs(lines)
        except Exception:
            return False
        return fast == [tuple(p) for p in self._mecab.pos(_PROBE)]

    @staticmethod
    def _pairs(lines: list[str]) -> list[tuple[str, str]]:
        """``(surface, tag)`` of each ``surface\tTAG,...`` line."""
        pairs = [line.partition("\t") for line in lines]
        return [(surface, feature.partition(",")[0]) for surface, _, feature in pairs]

    def _lines(self, text: str) -> list[str] | None:
        """MeCab's output, one ``surface\tfeatures`` line per morph (``None``: use the public API).

        Reading the lattice as one string is faster than building a node object per morph
        (BENCHMARKS.md, "Preprocessing"); a morph's surface never holds whitespace.
        """
        if self._tagger is None:
            return None
        lattice = self._create_lattice(text)
        if not self._tagger.parse(lattice):
            return None
        return lattice.to_string().split("\n")[:-2]  # the last two are "EOS" and ""

    def pos(self, text: str) -> list[tuple[str, str]]:
        """``(morph, tag)`` pairs of ``text`` (tags are mecab-ko-dic's: NNG, VV, JKO, ...)."""
        if not text:
            return []
        lines = self._lines(text)
        if lines is None:
            return self._mecab.pos(text)
        return self._pairs(lines)

    def __call__(self, text: str) -> list[str]:
        """Morphs of ``text`` after the POS filter."""
        if not text:
            return []
        if self.keep_pos is None and self.drop_pos is None:
            lines = self._lines(text)
            if lines is None:
                return self._mecab.morphs(text)
            return [line.partition("\t")[0] for line in lines]
        return [
            m
            for m, tag in self.pos(text)
            if (self.keep_pos is None or tag.startswith(self.keep_pos))
            and not (self.drop_pos and tag.startswith(self.drop_pos))
        ]


_WORKER_TOKENIZERS: dict[tuple, MecabTokenizer] = {}


def _tokenizer_for(keep_pos: tuple | None, drop_pos: tuple | None) -> MecabTokenizer:
    """One tokenizer per process and POS setting (MeCab's dictionary is loaded once)."""
    key = (keep_pos, drop_pos)
    if key not in _WORKER_TOKENIZERS:
        _WORKER_TOKENIZERS[key] = MecabTokenizer(keep_pos, drop_pos)
    return _WORKER_TOKENIZERS[key]


def _tokenize_chunk(texts: list[str], keep_pos: tuple | None, drop_pos: tuple | None) -> list[list[str]]:
    tok = _tokenizer_for(keep_pos, drop_pos)
    return [tok(t) for t in texts]


def tokenize(
    texts: Sequence[str],
    *,
    keep_pos: Sequence[str] | None = None,
    drop_pos: Sequence[str] | None = None,
    n_jobs: int | None = 1,
    progress: bool = False,
) -> list[list[str]]:
    """MeCab morphs of each text, in input order; ``n_jobs`` > 1 (or -1: all cores) uses processes.

    >>> tokenize(["영화 재밌어요", "대출 상담"])
    [['영화', '재밌', '어요'], ['대출', '상담']]
    """
    func = partial(
        _tokenize_chunk,
        keep_pos=tuple(keep_pos) if keep_pos else None,
        drop_pos=tuple(drop_pos) if drop_pos else None,
    )
    return map_chunks(func, check_texts(texts), n_jobs=n_jobs, progress=progress, desc="MeCab")
