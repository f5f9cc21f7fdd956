"""An experiment's data: load, split (or read the test file), preprocess (cached) and describe it."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .batching import choose_context_length
from .cache import Cache, cache_key
from .config import ExperimentConfig
from .data import LoadReport, check_labels, load_dataset, split_dataset
from .errors import DataError
from .preprocess import PreprocessConfig, preprocess

log = logging.getLogger(__name__)

SPAM_LABEL = "스팸문자"
SPLITS = ("train", "val", "test")


@dataclass
class Prepared:
    """The data of one experiment after loading, splitting and preprocessing."""

    labels: list[str]
    positive: int | None  # index of the positive label of a binary task
    texts: dict[str, list[str]]  # per split
    tokens: dict[str, list[list[str]]]
    y: dict[str, np.ndarray]
    dataset: dict[str, Any]  # the facts metrics.json records
    sha256: str
    test_sha256: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def context_length(self) -> int:
        return int(self.dataset["lengths"]["context_length"])


def cached_tokens(texts: list[str], config: PreprocessConfig, cache: Cache, key_parts: list,
                  n_jobs: int = -1) -> list[list[str]]:
    """``preprocess(texts, config)``, read from ``cache`` when the same texts were preprocessed before."""
    key = cache_key("tokens", key_parts, config.fingerprint())
    tokens = cache.get("tokens", key)
    if isinstance(tokens, list) and len(tokens) == len(texts):
        log.info("preprocessing: %d texts from cache", len(texts))
        return tokens
    tokens = preprocess(texts, config, n_jobs=n_jobs, progress=True)
    cache.put("tokens", key, tokens)
    return tokens


def positive_index(labels: list[str], positive_label: str | None) -> int | None:
    """Index of the positive label: ``positive_label``, else 스팸문자, else the second label; None with > 2 labels."""
    if positive_label is not None:
        if positive_label not in labels:
            raise DataError(f"positive label '{positive_label}' is not among the labels: {', '.join(labels)}")
        if len(labels) != 2:
            raise DataError(f"--positive-label '{positive_label}' needs exactly two labels, but the data has "
                            f"{len(labels)}: {', '.join(labels[:10])}{' ...' if len(labels) > 10 else ''}")
        return labels.index(positive_label)
    if len(labels) != 2:
        return None
    return labels.index(SPAM_LABEL) if SPAM_LABEL in labels else 1


def _split(cfg: ExperimentConfig, df: pd.DataFrame, report: LoadReport) -> tuple[
        list[str], dict[str, pd.DataFrame], LoadReport | None]:
    """Labels and the train/val/test frames (the test frame from --test-data when given)."""
    if cfg.test_data:
        test_df, test_report = load_dataset(cfg.test_data, cfg.text_col, cfg.label_col, encoding=cfg.encoding,
                                            timeout=cfg.download_timeout)
        labels = check_labels(df, report.describe(), min_per_class=2)
        unknown = sorted(set(test_df["label"]) - set(labels))
        if unknown:
            raise DataError(f"--test-data has label(s) not in the training data: {', '.join(unknown[:10])}; "
                            f"training labels are: {', '.join(labels)}")
        train_df, val_df, _ = split_dataset(df, val_size=cfg.val_size, test_size=0.0, seed=cfg.split_seed)
        return labels, {"train": train_df, "val": val_df, "test": test_df}, test_report
    labels = check_labels(df, report.describe())
    train_df, val_df, test_df = split_dataset(df, val_size=cfg.val_size, test_size=cfg.test_size,
                                              seed=cfg.split_seed)
    return labels, {"train": train_df, "val": val_df, "test": test_df}, None


def prepare_data(cfg: ExperimentConfig, cache: Cache) -> Prepared:
    """Load, split (or read the test file), preprocess and describe the data of ``cfg``."""
    t0 = time.perf_counter()
    df, report = load_dataset(cfg.data, cfg.text_col, cfg.label_col, encoding=cfg.encoding,
                              max_rows=cfg.max_rows, seed=cfg.split_seed, timeout=cfg.download_timeout)
    labels, frames, test_report = _split(cfg, df, report)
    if len(frames["test"]) == 0:
        raise DataError("the test split is empty; give --test-data or a --test-size above 0")
    positive = positive_index(labels, cfg.positive_label)
    timings = {"load": time.perf_counter() - t0}

    t0 = time.perf_counter()
    key = [report.sha256, cfg.text_col, cfg.label_col, report.encoding, cfg.max_rows, cfg.split_seed]
    all_tokens = cached_tokens(df["text"].tolist(), cfg.preprocess, cache, key, cfg.n_jobs)
    by_text = dict(zip(df["text"], all_tokens))
    tokens = {s: [by_text[t] for t in frames[s]["text"]] for s in ("train", "val")}
    if test_report is not None:
        tokens["test"] = cached_tokens(frames["test"]["text"].tolist(), cfg.preprocess, cache,
                                       [test_report.sha256, cfg.text_col, cfg.label_col, test_report.encoding],
                                       cfg.n_jobs)
    else:
        tokens["test"] = [by_text[t] for t in frames["test"]["text"]]
    timings["preprocess"] = time.perf_counter() - t0
    if not any(tokens["train"]):
        raise DataError("every training text is empty after cleaning and stopword removal; "
                        "check --text-col, or keep more with --keep-jamo / --stopwords none")

    index = {lab: i for i, lab in enumerate(labels)}
    y = {s: frames[s]["label"].map(index).to_numpy(dtype=np.int64) for s in SPLITS}
    dataset = {
        **report.to_dict(),
        "dropped_empty": int(sum(1 for t in all_tokens if not t)),
        "labels": labels,
        "positive_label": labels[positive] if positive is not None else None,
        "class_counts": {k: int(v) for k, v in df["label"].value_counts().sort_index().items()},
        "split": {"train": len(frames["train"]), "val": len(frames["val"]), "test": len(frames["test"]),
                  "test_source": f"file:{cfg.test_data}" if cfg.test_data else "split",
                  "val_size": cfg.val_size, "test_size": 0.0 if cfg.test_data else cfg.test_size,
                  "seed": cfg.split_seed},
        "lengths": describe_lengths([len(t) for t in tokens["train"]], cfg.length_percentile),
    }
    if test_report is not None:
        dataset["test_file"] = test_report.to_dict()
    texts = {s: frames[s]["text"].tolist() for s in SPLITS}
    return Prepared(labels, positive, texts, tokens, y, dataset, report.sha256,
                    test_report.sha256 if test_report else None, timings)


def describe_lengths(lengths: list[int], percentile: float) -> dict:
    """Token-count statistics of the training split and the context length chosen from them."""
    arr = np.asarray(lengths)
    context = choose_context_length(arr, percentile)
    edges = np.unique(np.linspace(0, max(1, int(arr.max())), 31).round().astype(int))
    counts, edges = np.histogram(arr, bins=edges)
    return {"mean": float(arr.mean()), "median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)),
            "max": int(arr.max()), "percentile": percentile, "context_length": context,
            "truncated_train": int((arr > context).sum()),
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist()}}
