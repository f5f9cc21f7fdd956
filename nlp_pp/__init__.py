"""nlp_pp: Korean text classification -- cleaning, MeCab, stopwords, jamo, vocabulary, FastText.

The preprocessing steps are importable one by one or chained with :func:`preprocess`::

    >>> import nlp_pp
    >>> nlp_pp.preprocess(["대.출 필요하세요? 010-1234-5678"])     # doctest: +SKIP
    [['대ᴥ출', '필요', '세요', 'PHONE']]

Modules: ``clean``, ``tokenize``, ``stopwords``, ``hangul``, ``preprocess``, ``data``, ``vocab``,
``batching``, ``embeddings``, ``vectors``, ``train``, ``metrics``, ``baseline``, ``models``,
``config``, ``experiment``, ``rundir``, ``selection``, ``classifier``, ``report``, ``unlabeled``
(FastText pretrained on large unlabelled files, streamed). Names from the
heavier modules (pandas, torch, gensim) are imported on first use.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .clean import CleanConfig, clean_text, clean_texts
from .errors import ConfigError, DataError, NlpPpError, RunError
from .hangul import compose, compose_tokens, decompose, decompose_tokens
from .preprocess import PreprocessConfig, preprocess
from .stopwords import load_stopwords, remove_stopwords
from .tokenize import MecabTokenizer, tokenize

__version__ = "0.2.0"

_LAZY = {
    "load_dataset": "data", "read_csv": "data", "split_dataset": "data", "LoadReport": "data",
    "Vocab": "vocab",
    "choose_context_length": "batching", "pad_sequences": "batching", "encode_corpus": "batching",
    "collate_batch": "batching", "make_dataloader": "batching", "BucketBatchSampler": "batching",
    "FastTextConfig": "embeddings", "train_fasttext": "embeddings",
    "load_pretrained_vectors": "embeddings", "embedding_matrix": "embeddings",
    "Trainer": "train", "TrainConfig": "train", "predict_proba": "train", "set_seed": "train",
    "classification_metrics": "metrics", "ExperimentConfig": "config", "run_experiment": "experiment",
    "load_classifier": "classifier", "Classifier": "classifier", "write_report": "report",
    "save_vectors": "vectors", "load_vectors": "vectors", "TfidfBaseline": "baseline",
    "iter_unlabeled_texts": "unlabeled", "build_corpus": "unlabeled", "pretrain": "unlabeled",
    "text_hash": "unlabeled",
}
_SUBPACKAGES = ("models",)

__all__ = [
    "CleanConfig", "clean_text", "clean_texts", "MecabTokenizer", "tokenize", "load_stopwords", "remove_stopwords",
    "decompose", "compose", "decompose_tokens", "compose_tokens", "PreprocessConfig", "preprocess",
    "NlpPpError", "DataError", "ConfigError", "RunError", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return import_module(f".{name}", __name__)
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nlp_pp' has no attribute {name!r}")
