"""Vocabulary: token <-> index with a rare-word threshold, ``<PAD>`` = 0 and ``<UNK>`` = 1."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..errors import ConfigError, RunError
from ..inputs import check_token_lists

PAD = "<PAD>"
UNK = "<UNK>"
PAD_IDX = 0
UNK_IDX = 1


class Vocab:
    """A token vocabulary built from the training split only.

    Examples
    --------
    >>> v = Vocab.build([["대출", "상담"], ["대출", "영화"]], min_count=2)
    >>> len(v), v.encode(["대출", "영화"])
    (3, [2, 1])
    """

    def __init__(self, itos: Sequence[str], min_count: int = 1, stats: dict | None = None):
        if list(itos[:2]) != [PAD, UNK]:
            raise ConfigError(f"a vocabulary must start with {PAD} and {UNK}")
        self.itos: list[str] = list(itos)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ConfigError("a vocabulary cannot hold the same token twice")
        self.min_count = min_count
        self.stats: dict = dict(stats or {})

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], min_count: int = 3, max_size: int | None = None
    ) -> Vocab:
        """Tokens seen at least ``min_count`` times (most frequent first, ties alphabetical).

        ``stats`` records the size, the number of distinct tokens dropped as rare and the share of
        token occurrences the vocabulary covers (``coverage_train``).
        """
        _check_min_count(min_count)
        if hasattr(token_lists, "counter"):  # token arrays (nlp_pp.vectors.tokenstore): counted in one pass
            return cls.from_counts(token_lists.counter(), min_count, max_size)
        return cls.from_counts(
            Counter(t for tokens in check_token_lists(token_lists) for t in tokens), min_count, max_size
        )

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], min_count: int = 3, max_size: int | None = None) -> Vocab:
        """:meth:`build` from token counts already made (a ``Counter`` or dict of token -> count)."""
        _check_min_count(min_count)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_count and t not in (PAD, UNK)),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            kept = kept[: max(0, max_size - 2)]
        total = sum(counts.values())
        covered = sum(counts[t] for t in kept)
        stats = {
            "size": len(kept) + 2,
            "min_count": min_count,
            "distinct_tokens": len(counts),
            "rare_dropped": len(counts) - len(kept),
            "coverage_train": covered / total if total else 0.0,
        }
        return cls([PAD, UNK, *kept], min_count=min_count, stats=stats)

    def extended(self, words: Iterable[str], limit: int | None = None) -> Vocab:
        """This vocabulary plus ``words`` it lacks (e.g. the words of pretrained vectors), appended in
        order; at most ``limit`` of them (the first ones: give the vectors' words most frequent first,
        as gensim's ``index_to_key`` holds them).

        ``stats`` records ``from_vectors`` (added) and ``vectors_left_out`` (beyond ``limit``).
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ConfigError(f"limit must be an integer >= 0 or None (got {limit!r})")
        extra = [w for w in dict.fromkeys(words) if w not in self.stoi and w not in (PAD, UNK)]
        left_out = 0 if limit is None else max(0, len(extra) - limit)
        if left_out:
            extra = extra[:limit]
        stats = {
            **self.stats,
            "size": len(self) + len(extra),
            "from_vectors": len(extra),
            "vectors_left_out": left_out,
            "from_training": self.stats.get("from_training", len(self)),
        }
        return Vocab([*self.itos, *extra], min_count=self.min_count, stats=stats)

    @property
    def training_size(self) -> int:
        """How many entries (PAD and UNK included) come from the training split; the rest were added."""
        return int(self.stats.get("from_training", len(self)))

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Indices of ``tokens``; unknown tokens become ``UNK_IDX``."""
        get = self.stoi.get
        return [get(t, UNK_IDX) for t in tokens]

    def decode(self, indices: Iterable[int]) -> list[str]:
        """Tokens of ``indices`` (``PAD_IDX`` is skipped)."""
        return [self.itos[i] for i in indices if i != PAD_IDX]

    def coverage(self, token_lists: Iterable[Sequence[str]]) -> float:
        """Share of token occurrences in ``token_lists`` that the vocabulary knows."""
        if hasattr(token_lists, "counter"):  # token arrays (nlp_pp.vectors.tokenstore)
            counts = token_lists.counter()
            total = sum(counts.values())
            known = sum(c for t, c in counts.items() if t in self.stoi)
            return known / total if total else 0.0
        total = known = 0
        for tokens in token_lists:
            total += len(tokens)
            known += sum(1 for t in tokens if t in self.stoi)
        return known / total if total else 0.0

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (tokens in index order, min_count, stats)."""
        data = {
            "format": "nlp_pp.vocab/1",
            "min_count": self.min_count,
            "stats": self.stats,
            "itos": self.itos,
        }
        Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != "nlp_pp.vocab/1":
                found = data.get("format") if isinstance(data, dict) else type(data).__name__
                raise RunError(f"{path} is not an nlp_pp vocabulary (format {found!r})")
            return cls(data["itos"], data.get("min_count", 1), data.get("stats"))
        except FileNotFoundError:
            raise RunError(f"vocabulary file not found: {path}") from None
        except (IsADirectoryError, PermissionError) as e:
            raise RunError(f"cannot read vocabulary file {path} ({e.__class__.__name__})") from None
        except (
            json.JSONDecodeError,
            KeyError,
            TypeError,
            AttributeError,
            UnicodeDecodeError,
            ConfigError,
            RecursionError,  # nested thousands of levels deep
        ) as e:
            raise RunError(f"vocabulary file {path} is corrupt ({e.__class__.__name__})") from None


def _check_min_count(min_count: int) -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ConfigError(f"min_count must be a positive integer (got {min_count!r})")
