"""An experiment's data: load, split (or read the test file), preprocess (cached), describe it; its word
vectors."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import Cache, cache_key
from ..config import ExperimentConfig
from ..errors import ConfigError, DataError, PreprocessingMismatch
from ..results import Dataset, FastTextFacts, Lengths, LoadFacts, Split, SplitOverlap
from ..text.clean import PLACEHOLDERS
from ..text.hangul import compose
from ..text.hashing import hash_texts, overlap
from ..text.load import LoadReport, check_labels, load_dataset, split_dataset
from ..text.textarray import TextArray
from ..vectors.batching import choose_context_length
from ..vectors.corpus import build_corpus
from ..vectors.fasttext import embedding_matrix, load_pretrained_vectors, nearest_neighbours, train_fasttext
from ..vectors.pretrain import check_dimension, check_pretrained
from ..vectors.storage import load_vectors, save_vectors
from ..vectors.tokenstore import TokenRows, cached_token_arrays
from ..vectors.vocab import Vocab
from .rundir import RunDir
from .stages import release_freed_memory, stage

log = logging.getLogger(__name__)

SPAM_LABEL = "스팸문자"
SPLITS = ("train", "val", "test")


@dataclass
class Prepared:
    """The data of one experiment after loading, splitting and preprocessing."""

    labels: list[str]
    positive: int | None  # index of the positive label of a binary task
    texts: dict[str, TextArray]  # raw texts of each split, held compactly (str when read)
    tokens: dict[str, TokenRows]  # token lists of each split, held as arrays (decoded when iterated)
    y: dict[str, np.ndarray]
    dataset: Dataset  # the facts metrics.json records
    sha256: str
    test_sha256: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def context_length(self) -> int:
        return self.dataset.lengths.context_length

    def release_token_pages(self) -> None:
        """Take the token arrays' mapped pages out of resident memory (after a stage that read them
        all; :meth:`nlp_pp.vectors.tokenstore.TokenArrays.release_pages`)."""
        for store in {id(rows.store): rows.store for rows in self.tokens.values()}.values():
            store.release_pages()


def positive_index(labels: list[str], positive_label: str | None) -> int | None:
    """Index of the positive label: ``positive_label``, else 스팸문자, else the second label; None with > 2
    labels."""
    if positive_label is not None:
        if positive_label not in labels:
            raise DataError(f"positive label '{positive_label}' is not among the labels: {', '.join(labels)}")
        if len(labels) != 2:
            raise DataError(
                f"--positive-label '{positive_label}' needs exactly two labels, but the data has "
                f"{len(labels)}: {', '.join(labels[:10])}{' ...' if len(labels) > 10 else ''}"
            )
        return labels.index(positive_label)
    if len(labels) != 2:
        return None
    return labels.index(SPAM_LABEL) if SPAM_LABEL in labels else 1


def _split(
    cfg: ExperimentConfig, df: pd.DataFrame, report: LoadReport
) -> tuple[list[str], dict[str, pd.DataFrame], LoadReport | None]:
    """Labels and the train/val/test frames (the test frame from --test-data when given)."""
    if cfg.test_data:
        test_df, test_report = load_dataset(
            cfg.test_data, cfg.text_col, cfg.label_col, encoding=cfg.encoding, timeout=cfg.download_timeout
        )
        labels = check_labels(df, report.describe(), min_per_class=2)
        unknown = sorted(set(test_df["label"]) - set(labels))
        if unknown:
            raise DataError(
                f"--test-data has label(s) not in the training data: {', '.join(unknown[:10])}; "
                f"training labels are: {', '.join(labels)}"
            )
        train_df, val_df, _ = split_dataset(df, val_size=cfg.val_size, test_size=0.0, seed=cfg.split_seed)
        return labels, {"train": train_df, "val": val_df, "test": test_df}, test_report
    labels = check_labels(df, report.describe())
    train_df, val_df, test_df = split_dataset(
        df, val_size=cfg.val_size, test_size=cfg.test_size, seed=cfg.split_seed
    )
    return labels, {"train": train_df, "val": val_df, "test": test_df}, None


def prepare_data(cfg: ExperimentConfig, cache: Cache, *, test_tokens: bool = True) -> Prepared:
    """Load, split (or read the test file), preprocess and describe the data of ``cfg``.

    ``test_tokens=False`` leaves a ``--test-data`` file's texts unpreprocessed (``tokens["test"]`` is
    empty): what a tuning trial needs, which never scores the test split."""
    t0 = time.perf_counter()
    with stage("load"):
        df, report = load_dataset(
            cfg.data,
            cfg.text_col,
            cfg.label_col,
            encoding=cfg.encoding,
            max_rows=cfg.max_rows,
            seed=cfg.split_seed,
            timeout=cfg.download_timeout,
        )
        df["_row"] = np.arange(len(df))  # each split's rows in the token arrays
        labels, frames, test_report = _split(cfg, df, report)
    if len(frames["test"]) == 0:
        raise DataError("the test split is empty; give --test-data or a --test-size above 0")
    positive = positive_index(labels, cfg.positive_label)
    timings = {"load": time.perf_counter() - t0}

    t0 = time.perf_counter()
    with stage("preprocess"):
        key = [report.sha256, cfg.text_col, cfg.label_col, report.encoding, cfg.max_rows, cfg.split_seed]
        store = cached_token_arrays(df["text"].tolist(), cfg.preprocess, cache, key, cfg.n_jobs, cfg.cluster)
        tokens = {s: store.rows(frames[s]["_row"].to_numpy()) for s in ("train", "val")}
        if test_report is not None and not test_tokens:
            tokens["test"] = store.rows(np.zeros(0, dtype=np.int64))  # a tuning trial never scores it
        elif test_report is not None:
            test_store = cached_token_arrays(
                frames["test"]["text"].tolist(),
                cfg.preprocess,
                cache,
                [test_report.sha256, cfg.text_col, cfg.label_col, test_report.encoding],
                cfg.n_jobs,
                cfg.cluster,
            )
            tokens["test"] = test_store.rows(np.arange(len(test_store)))
        else:
            tokens["test"] = store.rows(frames["test"]["_row"].to_numpy())
    timings["preprocess"] = time.perf_counter() - t0
    train_lengths = tokens["train"].lengths()
    if not train_lengths.any():
        raise DataError(
            "every training text is empty after cleaning and stopword removal; "
            "check --text-col, or keep more with --keep-jamo / --stopwords none"
        )

    index = {lab: i for i, lab in enumerate(labels)}
    y = {s: frames[s]["label"].map(index).to_numpy(dtype=np.int64) for s in SPLITS}
    texts = {s: TextArray.from_texts(frames[s]["text"]) for s in SPLITS}  # compact: the frames go
    dataset = Dataset(
        **{f.name: getattr(report, f.name) for f in fields(LoadFacts)},
        dropped_empty=int((store.lengths() == 0).sum()),
        labels=labels,
        positive_label=labels[positive] if positive is not None else None,
        class_counts={k: int(v) for k, v in df["label"].value_counts().sort_index().items()},
        split=Split(
            train=len(frames["train"]),
            val=len(frames["val"]),
            test=len(frames["test"]),
            test_source=f"file:{cfg.test_data}" if cfg.test_data else "split",
            val_size=cfg.val_size,
            test_size=0.0 if cfg.test_data else cfg.test_size,
            seed=cfg.split_seed,
        ),
        lengths=describe_lengths(train_lengths, cfg.length_percentile),
        test_file=None
        if test_report is None
        else LoadFacts(**{f.name: getattr(test_report, f.name) for f in fields(LoadFacts)}),
        test_overlap=None if test_report is None else test_overlap(texts["test"], df["text"].tolist(), cfg),
    )
    del df, frames
    release_freed_memory()  # the frames' strings are gone: their pages go back to the system
    return Prepared(
        labels,
        positive,
        texts,
        tokens,
        y,
        dataset,
        report.sha256,
        test_report.sha256 if test_report else None,
        timings,
    )


def test_overlap(test_texts: list[str], data_texts: list[str], cfg: ExperimentConfig) -> SplitOverlap:
    """How many ``--test-data`` texts also occur in the ``--data`` file (compared by text hash).

    Such texts are in the training or validation split too, so the test scores overstate how the
    models do on new messages: warned about, and recorded in ``metrics.json`` and the report.
    """
    found = overlap(np.unique(hash_texts(data_texts)), set(hash_texts(test_texts).tolist()))
    if found:
        log.warning(
            "%d of the %d --test-data texts also occur in --data %s: the test scores are optimistic; "
            "remove them from one of the files",
            found,
            len(test_texts),
            cfg.data,
        )
    return SplitOverlap(texts=len(test_texts), in_training_file=found)


def describe_lengths(lengths: list[int], percentile: float) -> Lengths:
    """Token-count statistics of the training split and the context length chosen from them."""
    arr = np.asarray(lengths)
    context = choose_context_length(arr, percentile)
    edges = np.unique(np.linspace(0, max(1, int(arr.max())), 31).round().astype(int))
    counts, edges = np.histogram(arr, bins=edges)
    return Lengths(
        mean=float(arr.mean()),
        median=float(np.median(arr)),
        p95=float(np.percentile(arr, 95)),
        max=int(arr.max()),
        percentile=percentile,
        context_length=context,
        truncated_train=int((arr > context).sum()),
        histogram={"edges": edges.tolist(), "counts": counts.tolist()},
    )


# --------------------------------------------------------------------------- word vectors


def fasttext_vectors(cfg: ExperimentConfig, prep: Prepared, run: RunDir, cache: Cache):
    """Trained (or pretrained) word vectors, and what they were trained on, for the report."""
    if cfg.pretrained_vectors:
        return pretrained_vectors(cfg, prep)
    ftc = cfg.fasttext_config()
    path = run.path("fasttext", "vectors.npz")
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        corpus = (
            build_corpus(cfg.unlabeled, cfg.text_col, cfg.preprocess, cache=cache, n_jobs=cfg.n_jobs)
            if cfg.unlabeled
            else None
        )
        key = cache_key(
            "fasttext",
            prep.sha256,
            prep.test_sha256,
            cfg.preprocess.fingerprint(),
            cfg.max_rows,
            cfg.val_size,
            cfg.test_size,
            cfg.split_seed,
            cfg.text_col,
            cfg.label_col,
            ftc.to_dict(),
            corpus.files if corpus is not None else None,
        )
        cached = cache.get_file("fasttext", key, ".npz")
        if cached is not None:
            log.info("FastText: trained vectors from cache")
            shutil.copyfile(cached, path)
        else:
            corpus_info, texts = {}, prep.tokens["train"]
            if corpus is not None:
                texts, corpus_info = unlabeled_view(corpus, prep)
            log.info(
                "FastText: training on %d labelled texts%s",
                len(prep.tokens["train"]),
                f" and {corpus_info['unlabeled_texts']} unlabelled texts" if corpus_info else "",
            )
            model = train_fasttext(texts, ftc)
            save_vectors(model.wv, path, {"words_trained": model.nlp_pp_words_trained, **corpus_info})
            cache.put_file("fasttext", key, path)
    vectors, saved = load_vectors(path)
    return vectors, {
        "source": "trained",
        **ftc.to_dict(),
        **{
            k: v
            for k, v in saved.items()
            if k
            in ("words_trained", "unlabeled_texts", "unlabeled_files", "dropped_val_test", "dropped_train")
        },
    }


def vectors_matrix(
    cfg: ExperimentConfig, prep: Prepared, vocab: Vocab, vectors, info: dict
) -> tuple[np.ndarray, FastTextFacts]:
    """The embedding matrix of ``vocab`` from ``vectors``, and the report's facts about them."""
    matrix, stats = embedding_matrix(vocab, vectors, seed=cfg.split_seed)
    frequent = [w for w in vocab.itos[2:] if w not in PLACEHOLDERS and len(compose(w)) >= 2][:8]
    neighbours = {
        compose(w): [[compose(n), s] for n, s in ns]
        for w, ns in nearest_neighbours(vectors, frequent, topn=5).items()
    }
    counts = prep.tokens["train"].counter()
    total = sum(counts.values())
    known = sum(c for t, c in counts.items() if t in vectors.key_to_index)
    info = {
        **info,
        "dim": vectors.vector_size,
        "vectors_trained": len(vectors.key_to_index),
        "labelled_texts": len(prep.tokens["train"]),
        "coverage_train_tokens": known / total if total else 0.0,
        "coverage": stats["coverage"],
        "in_vectors": stats["in_vectors"],
        "from_ngrams": stats["from_ngrams"],
        "neighbours": neighbours,
    }
    return matrix, FastTextFacts(**info)


def unlabeled_view(corpus, prep: Prepared):
    """The training split's tokens, then the unlabelled texts that are not labelled texts of any split.

    Validation and test texts found in the unlabelled files are dropped (they must not shape the
    vectors) and counted; training texts are dropped too, because they are already in the stream.
    """
    val_test = np.concatenate([hash_texts(prep.texts["val"]), hash_texts(prep.texts["test"])])
    train = hash_texts(prep.texts["train"])
    hashes = np.asarray(corpus.hashes())
    dropped_val_test = int(np.isin(hashes, val_test).sum())
    dropped_train = int(np.isin(hashes, train).sum()) - int(
        np.isin(hashes, np.intersect1d(train, val_test)).sum()
    )
    view = corpus.iterate(exclude=np.concatenate([val_test, train]), extra=prep.tokens["train"])
    if dropped_val_test:
        log.warning(
            "%d texts of the validation and test splits were found in the unlabelled files and left "
            "out of FastText",
            dropped_val_test,
        )
    info = {
        "unlabeled_texts": view.kept,
        "unlabeled_files": [f["path"] for f in corpus.files],
        "dropped_val_test": dropped_val_test,
        "dropped_train": dropped_train,
    }
    return view, info


def pretrained_vectors(cfg: ExperimentConfig, prep: Prepared):
    """``--pretrained-vectors``: a file from ``pipeline.py pretrain`` (checked against this run), or
    .vec/.bin."""
    path = Path(cfg.pretrained_vectors)
    if path.suffix in (".vec", ".bin", ".txt"):
        vectors = load_pretrained_vectors(path)
        try:
            check_dimension(vectors.vector_size, cfg.emb_dim)
        except ConfigError as e:
            raise ConfigError(f"--pretrained-vectors {path}: {e}") from None
        return vectors, {"source": str(path)}
    vectors, meta, arrays = load_vectors(path, arrays=True)
    try:
        check_pretrained(meta, cfg.preprocess, cfg.emb_dim)
    except PreprocessingMismatch as e:
        if not cfg.allow_preprocessing_mismatch:
            raise PreprocessingMismatch(
                f"--pretrained-vectors {path}: {e} (or pass --allow-preprocessing-mismatch)"
            ) from None
        log.warning("--pretrained-vectors %s: %s; used anyway (--allow-preprocessing-mismatch)", path, e)
    except ConfigError as e:
        raise ConfigError(f"--pretrained-vectors {path}: {e}") from None
    seen = arrays.get("text_hashes", np.zeros(0, dtype=np.uint64))
    val, test = (overlap(seen, set(hash_texts(prep.texts[s]).tolist())) for s in ("val", "test"))
    if val or test:
        log.warning(
            "the pretrained vectors were trained on %d validation and %d test texts of this run: the "
            "test scores of the FastText rows may be optimistic",
            val,
            test,
        )
    corpus = meta.get("corpus") if isinstance(meta.get("corpus"), dict) else {}
    return vectors, {
        "source": str(path),
        "pretrained_texts": corpus.get("texts_trained"),
        "pretrained_tokens": corpus.get("tokens"),
        "seen_val_texts": val,
        "seen_test_texts": test,
    }
