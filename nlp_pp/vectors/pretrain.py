"""FastText pretrained on unlabelled files, and the check that pretrained vectors fit a run."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from ..cache import Cache
from ..errors import ConfigError, DataError, PreprocessingMismatch
from ..text.preprocess import PreprocessConfig
from .corpus import build_corpus
from .fasttext import FastTextConfig, train_fasttext
from .storage import save_vectors

log = logging.getLogger(__name__)


PRETRAINED_FORMAT = "nlp_pp.pretrained/1"
DEFAULT_MAX_VOCAB_SIZE = 10_000_000  # distinct words held while scanning a corpus (gensim: ~1 GB per 10M)
# n-gram buckets of pretrained vectors unless FastTextConfig.bucket says otherwise: a fixed table, so
# pretraining's memory does not follow the corpus's vocabulary (16 buckets per word, the rule for a
# run's own FastText, gave +14 % peak memory for 2x the NSMC texts: 18k -> 26k words, 288k -> 416k
# buckets). 500k x dim x 4 bytes = 200 MB at dim 100; more buckets than that rule gives below 31k words.
PRETRAIN_BUCKET = 500_000


def pretrain(
    paths: Sequence[str | os.PathLike] | str | os.PathLike,
    out: str | os.PathLike,
    *,
    text_col: str = "content",
    preprocess: PreprocessConfig,
    fasttext: FastTextConfig,
    cache: Cache,
    n_jobs: int | None = -1,
    exclude: Iterable[int] | np.ndarray = frozenset(),
    encoding: str | None = None,
    max_vocab_size: int | None = DEFAULT_MAX_VOCAB_SIZE,
    progress: bool = True,
) -> dict:
    """Train FastText on unlabelled files and save the vectors, with what they were trained on, to ``out``.

    Parameters
    ----------
    paths : path or sequence of paths
        The unlabelled files (:func:`iter_unlabeled_texts`).
    out : str or os.PathLike
        The vectors file (:func:`nlp_pp.vectors.storage.save_vectors`; its directory must exist).
    text_col : str
        The text column of CSV files.
    preprocess : PreprocessConfig
        The chain; a run using the vectors must use the same (:func:`check_pretrained`).
    fasttext : FastTextConfig
        FastText options (``dim`` must equal the run's embedding dimension). ``bucket=None`` gives
        :data:`PRETRAIN_BUCKET` n-gram buckets, whatever the corpus's size.
    cache : Cache
        Keeps the preprocessed corpus (:func:`build_corpus`).
    n_jobs : int, optional
        Preprocessing processes (-1: every core). FastText threads are ``fasttext.workers``.
    exclude : set of int or uint64 array
        :func:`text_hash` values of texts not to train on (e.g. a run's validation and test texts).
    encoding : str, optional
        Force an encoding for every file.
    max_vocab_size : int, optional
        Distinct words held while scanning the vocabulary (:func:`nlp_pp.vectors.fasttext.train_fasttext`);
        ``None``: unbounded, exact counts.
    progress : bool
        Show the preprocessing progress bar.

    Returns
    -------
    dict
        The corpus statistics also saved in the file's meta (``meta["corpus"]``): ``files`` (path,
        sha256, kind, encoding, texts), ``text_col``, ``texts``, ``tokens``, ``empty``, ``excluded``
        (lines dropped by ``exclude``), ``texts_trained``, ``sentences`` and ``total_words`` (what
        FastText scanned), ``vocabulary``, ``bucket``, ``words_trained`` and ``text_hashes``
        (distinct hashes saved).

    Notes
    -----
    The file's meta has ``format`` (``"nlp_pp.pretrained/1"``), ``preprocess`` (the options),
    ``preprocess_fingerprint``, ``fasttext`` (the options and ``max_vocab_size``) and ``corpus``;
    the sorted distinct hashes of the texts trained on are the extra array ``text_hashes``
    (``load_vectors(out, arrays=True)``), not JSON.
    """
    if not isinstance(preprocess, PreprocessConfig):
        raise TypeError(f"preprocess must be a PreprocessConfig, not {type(preprocess).__name__}")
    if not isinstance(fasttext, FastTextConfig):
        raise TypeError(f"fasttext must be a FastTextConfig, not {type(fasttext).__name__}")
    if fasttext.bucket is None:
        fasttext = replace(fasttext, bucket=PRETRAIN_BUCKET)
    corpus = build_corpus(
        paths, text_col, preprocess, cache=cache, n_jobs=n_jobs, progress=progress, encoding=encoding
    )
    view = corpus.iterate(exclude=exclude)
    if view.dropped:
        log.info(
            "pretraining: %d texts of the excluded set found in the unlabelled files were left out",
            view.dropped,
        )
    if view.kept == 0:
        raise DataError(f"no unlabelled text is left to pretrain on: all {corpus.texts} texts were excluded")
    log.info("pretraining FastText on %d texts", view.kept)
    model = train_fasttext(view, fasttext, max_vocab_size=max_vocab_size)
    trained_hashes = view.kept_hashes()
    stats = {
        "files": corpus.files,
        "text_col": text_col,
        "texts": corpus.texts,
        "tokens": corpus.tokens,
        "empty": corpus.empty,
        "excluded": view.dropped,
        "texts_trained": view.kept,
        "sentences": int(model.corpus_count),
        "total_words": int(model.corpus_total_words),
        "vocabulary": len(model.wv),
        "bucket": int(model.wv.bucket),
        "words_trained": model.nlp_pp_words_trained,
        "text_hashes": int(trained_hashes.size),
    }
    meta = {
        "format": PRETRAINED_FORMAT,
        "preprocess": preprocess.to_dict(),
        "preprocess_fingerprint": preprocess.fingerprint(),
        "fasttext": {**fasttext.to_dict(), "max_vocab_size": max_vocab_size},
        "corpus": stats,
    }
    save_vectors(model.wv, out, meta, arrays={"text_hashes": trained_hashes})
    log.info("pretrained vectors saved to %s (%d words, dim %d)", out, len(model.wv), model.wv.vector_size)
    return stats


def check_pretrained(meta: dict, preprocess: PreprocessConfig, dim: int) -> None:
    """Raise :class:`ConfigError` unless vectors saved by :func:`pretrain` fit a run's preprocessing and
    dimension.

    Parameters
    ----------
    meta : dict
        The vectors' meta (``load_vectors(path)[1]``).
    preprocess : PreprocessConfig
        The run's preprocessing: its tokens must be those the vectors were trained on.
    dim : int
        The run's embedding dimension.

    Raises
    ------
    ConfigError
        One line: the file is not from :func:`pretrain`, the preprocessing differs (naming the
        options, saved value -> this run's), or the dimension differs.
    """
    if not isinstance(meta, dict) or meta.get("format") != PRETRAINED_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ConfigError(
            f"these vectors were not written by nlp_pp's pretrain (format {found!r}, expected "
            f"{PRETRAINED_FORMAT!r}); pretrain them again"
        )
    saved_fp = meta.get("preprocess_fingerprint")
    if saved_fp != preprocess.fingerprint():
        saved = meta.get("preprocess") if isinstance(meta.get("preprocess"), dict) else {}
        current = preprocess.to_dict()
        diffs = [
            f"{k} {saved.get(k, '(unset)')!r} -> {current.get(k, '(unset)')!r}"
            for k in sorted(set(saved) | set(current))
            if saved.get(k) != current.get(k)
        ]
        what = (
            "; ".join(diffs)
            if diffs
            else "same options, but the stopword list's contents or the preprocessing version differ"
        )
        raise PreprocessingMismatch(
            f"the pretrained vectors were trained with other preprocessing (pretrained -> this run: "
            f"{what}); use the same options or pretrain again"
        )
    fasttext = meta.get("fasttext") if isinstance(meta.get("fasttext"), dict) else {}
    check_dimension(fasttext.get("dim"), dim)


def check_dimension(found: object, dim: int) -> None:
    """The one check that pretrained vectors (``found`` wide) fit a run's embedding width ``dim``."""
    if found != dim:
        raise ConfigError(
            f"the pretrained vectors have dimension {found}, this run uses {dim}; "
            f"pass --emb-dim {found} or pretrain again with dim {dim}"
        )
