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

from .errors import ConfigError, DataError, NlpPpError, RunError
from .text.clean import CleanConfig, clean_text, clean_texts
from .text.hangul import compose, compose_tokens, decompose, decompose_tokens
from .text.preprocess import PreprocessConfig, preprocess
from .text.stopwords import load_stopwords, remove_stopwords
from .text.tokenize import MecabTokenizer, tokenize

__version__ = "0.2.0"

_LAZY = {
    "load_dataset": "text.load",
    "read_csv": "text.load",
    "split_dataset": "text.load",
    "LoadReport": "text.load",
    "Vocab": "vectors.vocab",
    "choose_context_length": "vectors.batching",
    "pad_sequences": "vectors.batching",
    "encode_corpus": "vectors.batching",
    "collate_batch": "vectors.batching",
    "make_dataloader": "vectors.batching",
    "BucketBatchSampler": "vectors.batching",
    "FastTextConfig": "vectors.fasttext",
    "train_fasttext": "vectors.fasttext",
    "load_pretrained_vectors": "vectors.fasttext",
    "embedding_matrix": "vectors.fasttext",
    "Trainer": "training.trainer",
    "TrainConfig": "training.trainer",
    "predict_proba": "training.trainer",
    "set_seed": "training.trainer",
    "classification_metrics": "decisions.metrics",
    "ExperimentConfig": "config",
    "run_experiment": "training.experiment",
    "load_classifier": "deploy.load",
    "Classifier": "deploy.classifier",
    "write_report": "report",
    "save_vectors": "vectors.storage",
    "load_vectors": "vectors.storage",
    "TfidfBaseline": "training.baseline",
    "iter_unlabeled_texts": "text.stream",
    "build_corpus": "vectors.corpus",
    "pretrain": "vectors.pretrain",
    "text_hash": "text.hashing",
}
_SUBPACKAGES = ("models",)

__all__ = [
    "CleanConfig",
    "clean_text",
    "clean_texts",
    "MecabTokenizer",
    "tokenize",
    "load_stopwords",
    "remove_stopwords",
    "decompose",
    "compose",
    "decompose_tokens",
    "compose_tokens",
    "PreprocessConfig",
    "preprocess",
    "NlpPpError",
    "DataError",
    "ConfigError",
    "RunError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return import_module(f".{name}", __name__)
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nlp_pp' has no attribute {name!r}")
