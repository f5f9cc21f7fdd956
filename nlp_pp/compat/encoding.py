"""The notebook's vocabulary, encoding and training-input steps over nlp_pp."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..errors import ConfigError, DataError
from ..vectors.vocab import PAD, PAD_IDX, UNK, Vocab

if TYPE_CHECKING:
    from torch.utils.data import DataLoader


from .text import token_lists

log = logging.getLogger("nlp_pp.compat")

TRAIN_NAMES = ("훈련", "train")  # set_dataloader's 4th argument that turns shuffling on


# --- vocabulary and encoding -----------------------------------------------------------------------


class _RareCounts(NamedTuple):
    total: int
    rare: int


class RareVocab(_RareCounts):
    """What :func:`set_rare_vocab` returns: the tuple ``(total, rare)`` with two more attributes.

    ``vocab``: the words kept (seen at least ``rare_th`` times), most frequent first, ties
    alphabetical -- what :func:`set_word_to_idx` takes. ``stats``: the numbers the notebook
    printed, as a dict.
    """

    vocab: list[str]
    stats: dict


def set_rare_vocab(
    word_counts: Mapping[str, int] | Iterable[Sequence[str]] | Iterable[str],
    rare_th: int,
    report: bool = False,
) -> RareVocab:
    """Count the distinct words and the rare ones (seen fewer than ``rare_th`` times).

    Built with :meth:`nlp_pp.Vocab.from_counts` (``min_count=rare_th``).

    Parameters
    ----------
    word_counts : Counter/dict of word -> count, or the training split's token lists
        Count the **training split only**: ``Counter(t for s in x_train for t in s)``, or pass
        ``x_train`` itself (a list of token lists; a flat list of words is counted too).
    rare_th : int
        A word seen fewer than ``rare_th`` times is rare; the others are kept.
    report : bool, default False
        Log the notebook's four numbers at INFO (they are in ``.stats`` either way).

    Returns
    -------
    RareVocab
        Unpacks as ``total, rare = set_rare_vocab(...)`` like the notebook's tuple of the
        number of distinct words and of rare ones; ``.vocab`` holds the kept words, most frequent
        first (``total - rare`` of them), ready for :func:`set_word_to_idx`, and ``.stats`` also
        ``rare_share`` (of the distinct words) and ``rare_freq_share`` (of all occurrences).

    Raises
    ------
    ConfigError
        If ``rare_th`` is not a positive integer.

    Differences from NLP_pp.py
    --------------------------
    The notebook counted the words of the training *and validation* splits, so words seen only
    in validation got an index of their own instead of ``<UNK>`` and the validation scores were
    measured with a vocabulary that had seen them. Build ``word_counts`` from the training split
    only. The result also carries the kept words (``.vocab``), and an empty count gives zeros
    instead of a ZeroDivisionError.
    """
    if isinstance(rare_th, bool) or not isinstance(rare_th, int) or rare_th < 1:
        raise ConfigError(
            f"rare_th must be a positive integer: words seen fewer times are rare (got {rare_th!r})"
        )
    if isinstance(word_counts, Mapping):
        counts = word_counts
        bad = [
            (w, c)
            for w, c in counts.items()
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0
        ]
        if bad:
            raise ConfigError(
                f"word_counts must map words to counts >= 0 (integers); {bad[0][0]!r} has {bad[0][1]!r}"
            )
    else:
        items = list(word_counts)
        flat = all(isinstance(t, str) for t in items)
        counts = Counter(items) if flat else Counter(t for tokens in items for t in tokens)
    vocab = Vocab.from_counts(counts, min_count=rare_th)
    total, rare = vocab.stats["distinct_tokens"], vocab.stats["rare_dropped"]
    stats = {
        "total": total,
        "rare": rare,
        "rare_th": rare_th,
        "rare_share": rare / total if total else 0.0,
        "rare_freq_share": 1.0 - vocab.stats["coverage_train"] if total else 0.0,
    }
    if report:
        log.info(
            "set_rare_vocab: %d distinct words, %d rare (seen < %d times): %.2f %% of the words, "
            "%.2f %% of all occurrences",
            total,
            rare,
            rare_th,
            100 * stats["rare_share"],
            100 * stats["rare_freq_share"],
        )
    result = RareVocab(total, rare)
    result.vocab = vocab.itos[2:]
    result.stats = stats
    return result


def set_word_to_idx(
    spec_token: Sequence[str], vocab: Iterable[str] | RareVocab, report: bool = False
) -> tuple[dict[str, int], dict[int, str]]:
    """``word -> index`` and ``index -> word`` for the special tokens followed by ``vocab``.

    Built with :class:`nlp_pp.Vocab`, the vocabulary the library's encoders and models use.

    Parameters
    ----------
    spec_token : list of str
        ``['<PAD>', '<UNK>']`` (further special tokens may follow them).
    vocab : iterable of str, or the result of :func:`set_rare_vocab`
        The kept words, each once; a :class:`RareVocab` stands for its ``.vocab``.
    report : bool, default False
        Log the sizes at INFO.

    Returns
    -------
    (word_to_idx, idx_to_word) : (dict of str -> int, dict of int -> str)
        ``<PAD>`` is 0, ``<UNK>`` 1, then the words in the order given.

    Raises
    ------
    ConfigError
        If ``spec_token`` does not start with ``<PAD>``, ``<UNK>`` (the library's models pad with
        index 0), a word is not a string, or a word appears twice.

    Differences from NLP_pp.py
    --------------------------
    A word given twice is an error: the notebook's dictionary kept its last index and left a
    gap, so ``idx_to_word`` had fewer entries than the embedding matrix had rows.
    """
    words = vocab.vocab if isinstance(vocab, RareVocab) else list(vocab)
    specials = list(spec_token)
    if specials[:2] != [PAD, UNK]:
        raise ConfigError(
            f"spec_token must start with '{PAD}', '{UNK}' (index 0 pads, 1 stands for unknown words); "
            f"got {specials}"
        )
    bad = [w for w in words if not isinstance(w, str)]
    if bad:
        raise ConfigError(
            f"vocab must hold words (strings); got {bad[:3]!r}: pass set_rare_vocab(...).vocab, "
            "not the (total, rare) counts"
        )
    twice = [w for w, c in Counter(specials + words).items() if c > 1]
    if twice:
        raise ConfigError(f"word(s) given twice in spec_token + vocab: {twice[:5]}; pass each word once")
    v = Vocab(specials + words)
    if report:
        log.info(
            "set_word_to_idx: %d words + %d special tokens (%s) -> %d indices",
            len(words),
            len(specials),
            ", ".join(specials),
            len(v),
        )
    return dict(v.stoi), dict(enumerate(v.itos))


def _as_vocab(word_to_idx: Mapping[str, int] | Vocab) -> Vocab:
    """The :class:`Vocab` of a ``word_to_idx`` dict made by :func:`set_word_to_idx`."""
    if isinstance(word_to_idx, Vocab):
        return word_to_idx
    if not isinstance(word_to_idx, Mapping):
        raise ConfigError(
            f"word_to_idx must be the dict from set_word_to_idx (got {type(word_to_idx).__name__})"
        )
    if word_to_idx.get(PAD) != PAD_IDX or word_to_idx.get(UNK) != 1:
        raise ConfigError(
            f"word_to_idx must map '{PAD}' to 0 and '{UNK}' to 1; build it with "
            f"set_word_to_idx(['{PAD}', '{UNK}'], vocab)"
        )
    itos = sorted(word_to_idx, key=word_to_idx.__getitem__)
    if [word_to_idx[w] for w in itos] != list(range(len(itos))):
        raise ConfigError(
            "word_to_idx must number its words 0, 1, 2, ... without gaps; build it with set_word_to_idx"
        )
    return Vocab(itos)


def text_to_sequences(
    tokenized_data: Iterable[Sequence[str]], word_to_idx: Mapping[str, int]
) -> list[list[int]]:
    """The index of each token (:meth:`nlp_pp.Vocab.encode`); unknown words become ``<UNK>`` (1).

    Parameters
    ----------
    tokenized_data : iterable of list of str
        Token lists (jamo-decomposed, like the vocabulary).
    word_to_idx : dict of str -> int
        From :func:`set_word_to_idx`.

    Returns
    -------
    list of list of int
        One unpadded index list per text.

    Raises
    ------
    ConfigError
        If ``word_to_idx`` lacks ``<PAD>`` = 0 / ``<UNK>`` = 1 or has gaps.

    Differences from NLP_pp.py
    --------------------------
    Without ``<UNK>`` in ``word_to_idx`` the notebook printed a hint and returned the *tokens*
    unchanged, which failed later in padding; this raises at once.
    """
    vocab = _as_vocab(word_to_idx)
    return [vocab.encode(list(tokens)) for tokens in tokenized_data]


def set_sent_pad(encode_x: Sequence[Sequence[int]], context_length: int, report: bool = False) -> float:
    """Share of the sentences whose length is at most ``context_length``.

    Parameters
    ----------
    encode_x : list of list of int
        The training split's encoded sentences (:func:`text_to_sequences`).
    context_length : int
        The padding length being considered.
    report : bool, default False
        Also log the longest and the mean length, and the 95th-percentile length
        :func:`nlp_pp.choose_context_length` would choose.

    Returns
    -------
    float
        In ``[0, 1]``; also logged at INFO, as the notebook printed it.

    Raises
    ------
    ConfigError
        If ``context_length`` is not a positive integer.
    DataError
        If ``encode_x`` is empty.

    Differences from NLP_pp.py
    --------------------------
    The share is returned (the notebook only printed it), and ``report=True`` logs the numbers
    instead of drawing a histogram: ``plt.hist([len(s) for s in encode_x], bins=50)`` draws it.
    """
    from ..vectors.batching import choose_context_length

    if isinstance(context_length, bool) or not isinstance(context_length, int) or context_length < 1:
        raise ConfigError(f"context_length must be a positive integer (got {context_length!r})")
    lengths = np.fromiter((len(s) for s in encode_x), dtype=np.int64)
    if lengths.size == 0:
        raise DataError("encode_x is empty: give the encoded training sentences (text_to_sequences)")
    share = float(np.mean(lengths <= context_length))
    if report:
        log.info(
            "set_sent_pad: longest %d, mean %.2f; 95th percentile %d (nlp_pp.choose_context_length)",
            int(lengths.max()),
            float(lengths.mean()),
            choose_context_length(lengths.tolist(), 95),
        )
    log.info("set_sent_pad: %.2f %% of the sentences have length <= %d", 100 * share, context_length)
    return share


def pad_seq_x(
    x_data: Sequence[Sequence[int]], max_len: int, *, padding: str = "pre", truncating: str = "post"
) -> np.ndarray:
    """An ``(n, max_len)`` int64 array of the sequences, padded with ``<PAD>`` = 0.

    Calls :func:`nlp_pp.pad_sequences`.

    Parameters
    ----------
    x_data : list of list of int
        Encoded sentences (:func:`text_to_sequences`).
    max_len : int
        The context length; longer sentences are cut.
    padding : {"pre", "post"}, default "pre"
        Where the zeros go: before the message (default) or after it (the notebook's layout).
    truncating : {"post", "pre"}, default "post"
        Which end of a long sentence is cut: the end (default, as in the notebook) or the start.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(x_data), max_len)``, dtype int64.

    Raises
    ------
    ConfigError
        If ``max_len`` is not a positive integer or ``padding``/``truncating`` is unknown.

    Differences from NLP_pp.py
    --------------------------
    The zeros go *before* the message. The notebook put them after it: a plain RNN reading a
    short message followed by hundreds of padding steps (330 in the design) ends in a state
    that has all but forgotten the message, which is why its RNN scored below 80 % on spam.
    Pre-padding keeps the message next to the final state for a model that reads the whole
    row; :func:`set_dataloader` goes further and gives the library's models the true lengths, so
    padding never reaches them whichever side it is on. ``padding="post"`` reproduces the
    notebook's array.
    """
    from ..vectors.batching import pad_sequences

    if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 1:
        raise ConfigError(f"max_len must be a positive integer (got {max_len!r})")
    rows = token_lists(x_data, "x_data")
    for row in rows:
        for i in row:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < 2**63:
                raise ConfigError(
                    f"x_data must hold token ids (integers >= 0 from text_to_sequences); found {i!r}"
                )
    return pad_sequences(rows, int(max_len), padding=padding, truncating=truncating)


# --- training inputs -------------------------------------------------------------------------------


def set_dataloader(
    x_data: Any, y_label: Any, bs: int, content: str | None = None, report: bool = False, *, seed: int = 0
) -> DataLoader:
    """A torch DataLoader of ``(tokens, lengths, labels)`` batches for the library's models.

    The padding (index 0) is taken out of each row again and the batches are built by
    :func:`nlp_pp.make_dataloader`: each batch is padded only to its longest message and carries
    the true lengths, which ``model(tokens, lengths)`` and :class:`nlp_pp.Trainer` /
    ``nlp_pp.training.trainer.run_epoch`` use to pack the sequences.

    Parameters
    ----------
    x_data : 2-D array (n, context_length) or list of lists of int
        Padded rows from :func:`pad_seq_x` (pre- or post-padded) or unpadded index lists.
    y_label : sequence of int
        Class ids ``0..K-1``, one per row (e.g. ``df['class'].map({'일상대화': 0, '스팸문자': 1})``).
    bs : int
        Batch size.
    content : str, optional
        ``'훈련'`` (training; ``'train'`` also works): batches of similar lengths in a new random
        order every epoch. Anything else (``'검증'``, ``'테스트'``, None): the rows in the order
        given, not shuffled, so predictions line up with ``y_label``.
    report : bool, default False
        Log the sizes at INFO.
    seed : int, default 0
        Seed of the training shuffle (keyword only).

    Returns
    -------
    torch.utils.data.DataLoader
        Yields ``tokens`` [B, T] int64 (post-padded to the batch's longest message), ``lengths``
        [B] int64 and ``labels`` [B] int64.

    Raises
    ------
    DataError
        If the labels are not integers.
    ConfigError
        If ``bs`` is not a positive integer or the numbers of rows and labels differ.

    Differences from NLP_pp.py
    --------------------------
    The notebook's loader yielded ``(x, y)`` with every row ``context_length`` long, so a
    recurrent model read all the padding: a training loop reads
    ``for x, lengths, y in loader: logits = model(x, lengths)``, and
    ``Trainer(model).fit(train_loader, val_loader)`` runs it. Training batches group similar
    lengths, so an epoch is several times faster at the same accuracy.
    """
    from ..vectors.batching import make_dataloader

    if isinstance(bs, bool) or not isinstance(bs, (int, np.integer)) or bs < 1:
        raise ConfigError(f"bs (the batch size) must be a positive integer (got {bs!r})")
    rows = [np.asarray(r, dtype=np.int64).reshape(-1) for r in x_data]
    sequences = [r[r != PAD_IDX] for r in rows]
    labels = np.asarray(y_label)
    if labels.dtype.kind not in "iub":
        integral = labels.dtype.kind == "f" and bool(
            np.all(np.isfinite(labels) & (labels == np.round(labels)))
        )
        if not integral:
            raise DataError(
                f"y_label must hold integer class ids 0..K-1 (got dtype {labels.dtype}); map the class "
                "names first, e.g. df['class'].map({'일상대화': 0, '스팸문자': 1})"
            )
    labels = labels.astype(np.int64)
    train = isinstance(content, str) and content.strip() in TRAIN_NAMES
    loader = make_dataloader(sequences, labels, int(bs), shuffle=train, bucket=train, seed=seed)
    if report:
        width = max((len(r) for r in rows), default=0)
        log.info(
            "set_dataloader %s: X [%d, %d], y [%d], %d batches of up to %d%s",
            content,
            len(rows),
            width,
            len(labels),
            len(loader),
            bs,
            " (shuffled, similar lengths)" if train else " (in order)",
        )
    return loader


def build_my_embed(word_to_idx: Mapping[str, int], wv: Any) -> np.ndarray:
    """The embedding matrix: row ``i`` is the vector of the word with index ``i``.

    Calls :func:`nlp_pp.embedding_matrix`.

    Parameters
    ----------
    word_to_idx : dict of str -> int
        From :func:`set_word_to_idx`.
    wv : gensim KeyedVectors, or a gensim FastText/Word2Vec model
        ``FT_model.wv`` (or ``FT_model`` itself, which lets the training be checked), e.g. from
        :func:`nlp_pp.train_fasttext`.

    Returns
    -------
    numpy.ndarray
        ``(len(word_to_idx), vector_size)`` float32, ``<PAD>`` row zero; ready for
        ``models.build_model(config, matrix)``. The share of words with a vector is logged at INFO.

    Raises
    ------
    ConfigError
        If a full model is given that was never trained.

    Differences from NLP_pp.py
    --------------------------
    FastText vectors also cover words FastText never saw as whole words, through their
    character n-grams; rows without any vector (``<UNK>``, words a plain ``.vec`` file lacks)
    get small random values. The design trained FastText with gensim's ``workers=-1``: gensim
    starts ``range(workers)`` threads, so -1 starts none, trains nothing, and the "FastText"
    embeddings were gensim's random initialisation. Train with
    ``nlp_pp.train_fasttext(x_train, dim=..., workers=1)`` (it refuses a negative ``workers`` and checks
    that words were trained). Given ``FT_model`` itself rather than ``FT_model.wv``, an untrained
    model (its output weights still all zero) is refused; ``.wv`` alone carries no trace of
    whether training happened.
    """
    from gensim.models import KeyedVectors

    from ..vectors.fasttext import embedding_matrix

    vectors = getattr(wv, "wv", wv)
    if not isinstance(vectors, KeyedVectors):
        raise ConfigError(
            f"wv must be gensim word vectors (FT_model.wv) or a trained FastText model (got "
            f"{type(wv).__name__})"
        )
    if not isinstance(word_to_idx, Mapping):
        raise ConfigError(
            f"word_to_idx must be the dict from set_word_to_idx (got {type(word_to_idx).__name__})"
        )
    if vectors is not wv:
        outputs = [getattr(wv, name, None) for name in ("syn1neg", "syn1")]
        outputs = [o for o in outputs if isinstance(o, np.ndarray) and o.size]
        if outputs and not any(np.any(o) for o in outputs):
            raise ConfigError(
                "this FastText model was never trained (its output weights are all zero; gensim's "
                "workers=-1 starts no training thread): train it with "
                "nlp_pp.train_fasttext(..., workers=1)"
            )
    matrix, stats = embedding_matrix(_as_vocab(word_to_idx), vectors)
    log.info(
        "build_my_embed: %s x %s matrix, %.1f %% of the words have a vector (%d exact, %d from n-grams)",
        *matrix.shape,
        100 * stats["coverage"],
        stats["in_vectors"],
        stats["from_ngrams"],
    )
    return matrix
