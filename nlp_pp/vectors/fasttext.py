"""FastText word vectors (gensim) trained on the training split, and the embedding matrix.

On ``workers``: the blog this design comes from passed ``workers=-1``. gensim starts
``range(workers)`` worker threads, so -1 starts **none**: ``train`` returns ``(0, 0)``, logs only
"supplied example count (0) did not equal expected count" warnings, and the vectors stay at their
random initialisation. Here ``workers=0`` means every available core, anything below 0 is
refused, and :func:`train_fasttext` raises if gensim reports that no word was trained.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..models.config import ModelConfig
from ..options import Interval, Optional, borrow, invalid, option, validate
from ..text.parallel import available_cores
from .vocab import PAD_IDX, Vocab

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FastTextConfig:
    """gensim FastText options; each field's default, constraint and reason are declared here."""

    dim: int = borrow(ModelConfig, "emb_dim", help="vector dimension (the models' embedding width)")
    window: int = option(5, Interval(int, 1), "FastText context window")
    min_count: int = option(3, Interval(int, 1), "rare-word threshold for the vocabulary and FastText")
    min_n: int = option(3, Interval(int, 1), "shortest character n-gram (jamo characters)")
    max_n: int = option(6, Interval(int, 1), "longest character n-gram")
    epochs: int = option(10, Interval(int, 1), "FastText training epochs")
    sg: int = option(1, Interval(int, 0, 1), "1: skip-gram, 0: CBOW", cli=False)
    workers: int = option(
        1,
        Interval(int, 0),
        "FastText threads; 1 is reproducible, 0 = every core "
        "(faster, not bit-for-bit reproducible; gensim trains nothing with -1)",
    )
    seed: int = option(0, Interval(int, 0), "FastText seed", cli=False)
    bucket: int | None = option(
        None,
        Optional(Interval(int, 1)),
        "n-gram hash buckets; none: 16 per vocabulary word, within [20k, 2M] (pretrain: a fixed 500k)",
        cli=False,
    )

    def __post_init__(self) -> None:
        validate(self)
        if self.min_n > self.max_n:
            raise invalid(self, "min_n", f"at most max_n={self.max_n}", self.min_n)

    def to_dict(self) -> dict:
        return asdict(self)


def train_fasttext(
    token_lists: Iterable[Sequence[str]],
    config: FastTextConfig | None = None,
    *,
    max_vocab_size: int | None = None,
    **options,
):
    """Train gensim FastText on ``token_lists`` and return the model.

    Parameters
    ----------
    token_lists : iterable of token sequences
        The training texts' tokens: a list in memory (the training split), or a **re-iterable**
        that streams them from disk (:meth:`nlp_pp.vectors.corpus.TokenCorpus.iterate`). It is iterated
        once to build the vocabulary and once per epoch, never copied into memory; empty token
        lists are skipped. A one-shot iterator (a generator) cannot be iterated again, so it is
        read into a list first.
    config : FastTextConfig, optional
        The options; or give them as keywords (``dim=...``), not both.
    max_vocab_size : int, optional
        Bound on the distinct words held while the vocabulary is scanned (gensim's
        ``max_vocab_size``: beyond it the rarest are pruned, so counts of rare words become
        approximate). ``None`` counts every word exactly -- right for a training split; for a
        corpus of millions of texts it bounds the scan's memory (about 1 GB per 10M words).

    Returns
    -------
    gensim.models.FastText
        The trained model, with ``nlp_pp_words_trained`` (words gensim trained on, all epochs),
        ``corpus_count`` (non-empty texts) and ``corpus_total_words``.

    Raises
    ------
    DataError
        There is nothing to train on, or no word occurs ``min_count`` times.
    RuntimeError
        gensim trained no word (so a silent no-op such as ``workers=-1`` can never pass unnoticed).

    Notes
    -----
    One scan builds the vocabulary and sizes the n-gram buckets: gensim's ``build_vocab`` is run
    in its three public steps (``scan_vocab``, ``prepare_vocab``, ``prepare_weights``), and
    between the second and the third the bucket count is set from the number of words kept
    (:func:`bucket_count`, the rule of :func:`auto_bucket`), so no extra pass over the corpus
    is needed. For the same token lists, seed and ``workers=1`` the model is exactly the one
    ``FastText(..., bucket=auto_bucket(...)).build_vocab(...)`` followed by ``train`` gives.
    Memory is that of the vocabulary (its counts while scanning, then one vector row per word
    kept and ``bucket`` rows of n-gram vectors), not of the corpus.
    """
    from gensim.models import FastText

    cfg = config or FastTextConfig(**options)
    if max_vocab_size is not None and (
        isinstance(max_vocab_size, bool) or not isinstance(max_vocab_size, int) or max_vocab_size < 1
    ):
        raise ConfigError(f"max_vocab_size must be a positive integer or None (got {max_vocab_size!r})")
    sentences = NonEmpty(token_lists)
    workers = cfg.workers or available_cores()
    model = FastText(
        vector_size=cfg.dim,
        window=cfg.window,
        min_count=cfg.min_count,
        min_n=cfg.min_n,
        max_n=cfg.max_n,
        sg=cfg.sg,
        workers=workers,
        seed=cfg.seed,
        bucket=cfg.bucket or _MIN_BUCKET,
        max_vocab_size=max_vocab_size,
    )
    gensim_log = logging.getLogger("gensim")
    level = gensim_log.level
    gensim_log.setLevel(logging.WARNING)
    try:
        total_words, corpus_count = model.scan_vocab(corpus_iterable=sentences)
        if corpus_count == 0:
            raise DataError(
                "no tokens to train FastText on: every training text is empty after preprocessing"
            )
        model.corpus_count, model.corpus_total_words = corpus_count, total_words
        model.prepare_vocab()
        if len(model.wv) == 0:
            raise DataError(
                f"no token occurs {cfg.min_count} times in the training texts; "
                "lower the rare-word threshold (--min-count) or add data"
            )
        model.wv.bucket = cfg.bucket or bucket_count(len(model.wv))
        model.prepare_weights()
        trained, _ = model.train(corpus_iterable=sentences, total_examples=corpus_count, epochs=cfg.epochs)
    finally:
        gensim_log.setLevel(level)
    if trained <= 0:
        raise RuntimeError("gensim FastText trained no word; check the worker count and the corpus")
    model.nlp_pp_words_trained = int(trained)
    return model


class NonEmpty:
    """A re-iterable view of ``token_lists`` without its empty items, each a ``list`` (what gensim wants).

    A one-shot iterator is read into memory (it could not be iterated twice otherwise).
    """

    def __init__(self, token_lists: Iterable[Sequence[str]]):
        if isinstance(token_lists, (str, bytes)):
            raise TypeError(
                f"token_lists must be a list of token lists, not one {type(token_lists).__name__}"
            )
        if iter(token_lists) is token_lists:
            log.debug("train_fasttext: a one-shot iterator was given; reading it into memory")
            token_lists = list(token_lists)
        self.token_lists = token_lists

    def __iter__(self) -> Iterator[list[str]]:
        for tokens in self.token_lists:
            if len(tokens) > 0:
                yield tokens if type(tokens) is list else list(tokens)


_MIN_BUCKET, _MAX_BUCKET, _BUCKETS_PER_WORD = 20_000, 2_000_000, 16


def bucket_count(words_kept: int) -> int:
    """Number of n-gram hash buckets for a vocabulary of ``words_kept`` words (see :func:`auto_bucket`)."""
    return int(min(_MAX_BUCKET, max(_MIN_BUCKET, _BUCKETS_PER_WORD * words_kept)))


def auto_bucket(sentences: Iterable[Sequence[str]], min_count: int) -> int:
    """Number of n-gram hash buckets: 16 per word kept, between 20,000 and gensim's default 2,000,000.

    gensim's default of 2M buckets costs ``2M x dim x 4`` bytes (800 MB at dim 100) in memory and
    in every saved model, far more than a corpus of tens of thousands of words has n-grams.
    :func:`train_fasttext` applies the same rule to the vocabulary gensim keeps, without this
    extra pass over the corpus.
    """
    from collections import Counter

    counts = Counter(t for s in sentences for t in s)
    return bucket_count(sum(1 for c in counts.values() if c >= min_count))


def load_pretrained_vectors(path: str | Path):
    """Load a user's pretrained vectors: ``.bin`` (Facebook fastText, with n-grams) or ``.vec``/text."""
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import load_facebook_vectors

    p = Path(path)
    if not p.is_file():
        raise DataError(f"pretrained vectors not found: {p}")
    if p.suffix != ".bin":
        _check_vec_header(p)
    try:
        if p.suffix == ".bin":
            kv = load_facebook_vectors(str(p))
        else:
            kv = KeyedVectors.load_word2vec_format(str(p), binary=False)
    except Exception as e:
        raise DataError(
            f"cannot read pretrained vectors {p} ({e.__class__.__name__}); "
            "give a fastText .bin or a word2vec-format .vec text file"
        ) from None
    for name in ("vectors", "vectors_vocab", "vectors_ngrams"):
        a = getattr(kv, name, None)
        if isinstance(a, np.ndarray) and a.size and not np.isfinite(a).all():
            raise DataError(
                f"pretrained vectors {p} hold NaN or infinite values ({name}); they would make every "
                "score NaN: give vectors with finite numbers"
            )
    return kv


def _check_vec_header(p: Path) -> None:
    """Refuse a word2vec text file whose header (``words dim``) promises more than the file can hold:
    gensim allocates ``words x dim`` floats from it before reading a line (10**8 words: ~900 MB)."""
    try:
        with open(p, "rb") as f:
            header = f.readline(200).split()
        words, dim = int(header[0]), int(header[1])
    except (OSError, ValueError, IndexError):
        raise DataError(
            f"cannot read pretrained vectors {p}: the first line must be '<words> <dimension>' "
            "(a word2vec-format .vec text file)"
        ) from None
    size = p.stat().st_size
    if words < 1 or dim < 1 or words * (2 * dim + 2) > size:  # each line: a word and dim numbers
        raise DataError(
            f"pretrained vectors {p}: the header promises {words} words of dimension {dim}, more than "
            f"its {size} bytes can hold; the file is truncated or not a .vec file"
        )


def embedding_matrix(vocab: Vocab, vectors, dim: int | None = None, seed: int = 0) -> tuple[np.ndarray, dict]:
    """A ``(len(vocab), dim)`` float32 matrix with the vector of each vocabulary word.

    ``<PAD>`` is the zero row. Every word ``vectors`` can embed gets its vector -- with FastText
    that includes words it never saw, through their character n-grams. The others (``<UNK>``, and
    words a plain ``.vec`` file lacks) get small random values. Returns ``(matrix, stats)`` with the
    share of the vocabulary covered.
    """
    dim = dim or vectors.vector_size
    if dim != vectors.vector_size:
        raise ConfigError(f"embedding dim {dim} does not match the vectors' dimension {vectors.vector_size}")
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, 0.1, size=(len(vocab), dim)).astype(np.float32)
    matrix[PAD_IDX] = 0.0
    has_ngrams = hasattr(vectors, "buckets_word") or getattr(vectors, "bucket", 0) > 0
    exact = from_ngrams = 0
    for i, word in enumerate(vocab.itos[2:], start=2):
        if word in vectors.key_to_index:
            matrix[i] = vectors[word]
            exact += 1
        elif has_ngrams:
            try:
                matrix[i] = vectors[word]  # FastText: assembled from character n-grams
                from_ngrams += 1
            except KeyError:  # no n-gram of this word is known
                pass
    words = max(1, len(vocab) - 2)
    stats = {"in_vectors": exact, "from_ngrams": from_ngrams, "coverage": (exact + from_ngrams) / words}
    return matrix, stats


def nearest_neighbours(vectors, words: Sequence[str], topn: int = 5) -> dict[str, list[tuple[str, float]]]:
    """Top ``topn`` cosine neighbours of each word the vectors know."""
    out = {}
    for w in words:
        try:
            out[w] = [(k, round(float(s), 4)) for k, s in vectors.most_similar(w, topn=topn)]
        except KeyError:
            continue
    return out


# --------------------------------------------------------------------------- gensim objects from arrays


def keyed_vectors_from(words: list[str], vectors: np.ndarray):
    """A gensim ``KeyedVectors`` over ``words`` and their rows of ``vectors`` (used as given, no copy)."""
    from gensim.models import KeyedVectors

    wv = KeyedVectors(vector_size=vectors.shape[1], count=0, dtype=vectors.dtype)
    fill_vectors(wv, words, vectors)
    return wv


def fasttext_vectors_from(
    words: list[str],
    vectors: np.ndarray,
    vocab_vectors: np.ndarray,
    ngram_vectors: np.ndarray,
    min_n: int,
    max_n: int,
    bucket: int,
):
    """A gensim ``FastTextKeyedVectors`` from its arrays: out-of-vocabulary words get n-gram vectors."""
    from gensim.models.fasttext import FastTextKeyedVectors

    wv = FastTextKeyedVectors(
        vector_size=vectors.shape[1], min_n=min_n, max_n=max_n, bucket=bucket, count=0, dtype=vectors.dtype
    )
    fill_vectors(wv, words, vectors)
    wv.vectors_vocab = vocab_vectors
    wv.vectors_ngrams = ngram_vectors
    # as gensim's own FastTextKeyedVectors.load (_load_specials) leaves them
    wv.vectors_vocab_lockf = np.ones(1, dtype=np.float32)
    wv.vectors_ngrams_lockf = np.ones(1, dtype=np.float32)
    wv.recalc_char_ngram_buckets()  # buckets_word: for adjust_vectors() and further training only
    return wv


def fill_vectors(wv, words: list[str], vectors: np.ndarray) -> None:
    """Set the vocabulary and vectors of an empty gensim ``KeyedVectors`` in place (no copies)."""
    wv.index_to_key = words
    wv.key_to_index = {w: i for i, w in enumerate(words)}
    wv.next_index = len(words)
    wv.vectors = vectors
    wv.norms = None
    wv.expandos = {}
