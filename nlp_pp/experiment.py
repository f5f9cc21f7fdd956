"""The comparison: every model x embedding init x seed on one split, a baseline, metrics and a report.

A run lives in ``<out>/<name>.partial/`` while it works. Each finished model run is saved there at
once (checkpoint + result JSON), so an interrupted run keeps its work and can be resumed; only a
complete run is renamed to ``<out>/<name>/``. An existing directory is never overwritten.

The model classes are passed in as a *zoo* (the top-level ``models`` package, or anything with
``MODEL_NAMES``, ``ModelConfig``, ``build_model`` and ``load_checkpoint``), which keeps ``nlp_pp``
free of a dependency on a package called ``models``.
"""
from __future__ import annotations

import csv
import json
import os
import platform
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np
import torch

from .batching import choose_context_length, encode_corpus, make_dataloader
from .cache import Cache, cache_key, default_cache_dir
from .clean import PLACEHOLDERS
from .config import ExperimentConfig
from .data import LoadReport, check_labels, load_dataset, split_dataset
from .embeddings import FastTextConfig, embedding_matrix, load_pretrained_vectors, nearest_neighbours, train_fasttext
from .errors import DataError, RunError
from .hangul import compose
from .metrics import classification_metrics, misclassified
from .preprocess import PreprocessConfig, preprocess
from .train import Trainer, TrainConfig, predict_proba, resolve_device, set_seed
from .vocab import Vocab

RUN_FORMAT = "nlp_pp.run/1"
CHECKPOINT_FORMAT = "nlp_pp.checkpoint/1"
SPAM_LABEL = "스팸문자"
PACKAGES = ("nlp_pp", "torch", "numpy", "pandas", "scikit-learn", "gensim", "python-mecab-ko", "jamo",
            "matplotlib", "tqdm")

Log = Callable[[str], None]


class RunInterrupted(RunError):
    """Ctrl-C during a run: finished model runs were kept (exit code 130)."""

    exit_code = 130


@dataclass
class Prepared:
    """The data of one experiment after loading, splitting, preprocessing and encoding."""

    labels: list[str]
    positive: int | None
    texts: dict[str, list[str]]
    tokens: dict[str, list[list[str]]]
    y: dict[str, np.ndarray]
    dataset: dict[str, Any]
    sha256: str
    test_sha256: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def package_versions() -> dict[str, str]:
    """Python and the versions of the packages a run depends on."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_key(model: str, init: str, seed: int) -> str:
    """File stem of one model run: ``lstm-fasttext-seed0``."""
    return f"{model}-{init}-seed{seed}"


# --------------------------------------------------------------------------- data


def _tokens_cached(texts: list[str], cfg: ExperimentConfig, cache: Cache, key_parts: list, log: Log) -> list[list[str]]:
    key = cache_key("tokens", key_parts, cfg.preprocess.fingerprint())
    tokens = cache.get("tokens", key)
    if tokens is not None and len(tokens) == len(texts):
        log(f"preprocessing: {len(texts)} texts from cache")
        return tokens
    tokens = preprocess(texts, cfg.preprocess, n_jobs=cfg.n_jobs, progress=True)
    cache.put("tokens", key, tokens)
    return tokens


def _positive_index(labels: list[str], positive_label: str | None) -> int | None:
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


def prepare_data(cfg: ExperimentConfig, cache: Cache, log: Log = print) -> Prepared:
    """Load, split (or read the test file), preprocess and describe the data of ``cfg``."""
    t0 = time.perf_counter()
    df, report = load_dataset(cfg.data, cfg.text_col, cfg.label_col, encoding=cfg.encoding,
                              max_rows=cfg.max_rows, seed=cfg.split_seed)
    test_report: LoadReport | None = None
    if cfg.test_data:
        test_df, test_report = load_dataset(cfg.test_data, cfg.text_col, cfg.label_col, encoding=cfg.encoding)
        labels = check_labels(df, cfg.data, min_per_class=2)
        unknown = sorted(set(test_df["label"]) - set(labels))
        if unknown:
            raise DataError(f"--test-data has label(s) not in the training data: {', '.join(unknown[:10])}; "
                            f"training labels are: {', '.join(labels)}")
        train_df, val_df, _ = split_dataset(df, val_size=cfg.val_size, test_size=0.0, seed=cfg.split_seed)
    else:
        labels = check_labels(df, cfg.data)
        train_df, val_df, test_df = split_dataset(df, val_size=cfg.val_size, test_size=cfg.test_size,
                                                  seed=cfg.split_seed)
    if len(test_df) == 0:
        raise DataError("the test split is empty; give --test-data or a --test-size above 0")
    positive = _positive_index(labels, cfg.positive_label)
    timings = {"load": time.perf_counter() - t0}

    t0 = time.perf_counter()
    key = [report.sha256, cfg.text_col, cfg.label_col, report.encoding, cfg.max_rows, cfg.split_seed]
    all_tokens = _tokens_cached(df["text"].tolist(), cfg, cache, key, log)
    by_text = dict(zip(df["text"], all_tokens))
    frames = {"train": train_df, "val": val_df}
    tokens = {name: [by_text[t] for t in f["text"]] for name, f in frames.items()}
    if test_report is not None:
        tokens["test"] = _tokens_cached(test_df["text"].tolist(), cfg, cache,
                                        [test_report.sha256, cfg.text_col, cfg.label_col, test_report.encoding], log)
    else:
        tokens["test"] = [by_text[t] for t in test_df["text"]]
    frames["test"] = test_df
    timings["preprocess"] = time.perf_counter() - t0
    if not any(tokens["train"]):
        raise DataError("every training text is empty after cleaning and stopword removal; "
                        "check --text-col, or keep more with --keep-jamo / --stopwords none")

    index = {lab: i for i, lab in enumerate(labels)}
    y = {name: f["label"].map(index).to_numpy(dtype=np.int64) for name, f in frames.items()}
    lengths = np.array([len(t) for t in tokens["train"]])
    context = choose_context_length(lengths, cfg.length_percentile)
    edges = np.unique(np.linspace(0, max(1, int(lengths.max())), 31).round().astype(int))
    counts, edges = np.histogram(lengths, bins=edges)
    dataset = {
        **report.to_dict(),
        "dropped_empty": int(sum(1 for t in all_tokens if not t)),
        "labels": labels,
        "positive_label": labels[positive] if positive is not None else None,
        "class_counts": {k: int(v) for k, v in df["label"].value_counts().sort_index().items()},
        "split": {"train": len(train_df), "val": len(val_df), "test": len(test_df),
                  "test_source": f"file:{cfg.test_data}" if cfg.test_data else "split",
                  "val_size": cfg.val_size, "test_size": 0.0 if cfg.test_data else cfg.test_size,
                  "seed": cfg.split_seed},
        "lengths": {"mean": float(lengths.mean()), "median": float(np.median(lengths)),
                    "p95": float(np.percentile(lengths, 95)), "max": int(lengths.max()),
                    "percentile": cfg.length_percentile, "context_length": context,
                    "truncated_train": int((lengths > context).sum()),
                    "histogram": {"edges": edges.tolist(), "counts": counts.tolist()}},
    }
    if test_report is not None:
        dataset["test_file"] = test_report.to_dict()
    texts = {name: f["text"].tolist() for name, f in frames.items()}
    return Prepared(labels, positive, texts, tokens, y, dataset, report.sha256,
                    test_report.sha256 if test_report else None, timings)


# --------------------------------------------------------------------------- run directory


def _unique_dir(out: Path, name: str, own_partial: Path | None = None) -> Path:
    """``out/name``, or ``out/name-2``, ``-3``... so that neither it nor its ``.partial`` exists.

    ``own_partial`` is the work directory of a resumed run, which may of course exist.
    """
    for i in range(1, 10_000):
        cand = out / (name if i == 1 else f"{name}-{i}")
        partial = cand.with_name(cand.name + ".partial")
        if not cand.exists() and (not partial.exists() or partial == own_partial):
            return cand
    raise RunError(f"too many runs named {name} in {out}; choose another --name")


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path.name} is missing in {path.parent}: not a complete nlp_pp run directory") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunError(f"{path} is corrupt (not valid JSON)") from None


def _default_name(cfg: ExperimentConfig) -> str:
    stem = re.sub(r"[^\w.-]+", "_", Path(str(cfg.data).split("?")[0]).stem)[:40] or "run"
    return f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


# --------------------------------------------------------------------------- the comparison


def _fasttext(cfg: ExperimentConfig, prep: Prepared, vocab: Vocab, work: Path, cache: Cache, log: Log):
    """Trained (or pretrained) vectors, the embedding matrix and a summary for the report."""
    ft_dir = work / "fasttext"
    model_path = ft_dir / "fasttext.model"
    if cfg.pretrained_vectors:
        vectors = load_pretrained_vectors(cfg.pretrained_vectors)
        info: dict[str, Any] = {"source": str(cfg.pretrained_vectors)}
    else:
        from gensim.models import FastText

        ftc = FastTextConfig(dim=cfg.emb_dim, window=cfg.fasttext_window, min_count=cfg.min_count,
                             min_n=cfg.min_n, max_n=cfg.max_n, epochs=cfg.fasttext_epochs,
                             workers=cfg.fasttext_workers or None, seed=cfg.split_seed)
        key = cache_key("fasttext", prep.sha256, prep.test_sha256, cfg.preprocess.fingerprint(), cfg.max_rows,
                        cfg.val_size, cfg.test_size, cfg.split_seed, cfg.text_col, cfg.label_col, ftc.to_dict())
        if not model_path.exists():
            cached = cache.dir("fasttext", key)
            if cached is not None:
                log("FastText: trained model from cache")
                shutil.copytree(cached, ft_dir, dirs_exist_ok=True)
            else:
                log(f"FastText: training on {len(prep.tokens['train'])} texts")
                model = train_fasttext(prep.tokens["train"], ftc)
                ft_dir.mkdir(exist_ok=True)
                model.save(str(model_path))
                (ft_dir / "trained.json").write_text(json.dumps({"words_trained": model.nlp_pp_words_trained}))
                cache.put_dir("fasttext", key, ft_dir)
        vectors = FastText.load(str(model_path)).wv
        trained = json.loads((ft_dir / "trained.json").read_text()) if (ft_dir / "trained.json").exists() else {}
        info = {"source": "trained", **ftc.to_dict(), **trained}
    if vectors.vector_size != cfg.emb_dim:
        raise DataError(f"the pretrained vectors have dimension {vectors.vector_size}, not --emb-dim {cfg.emb_dim}; "
                        f"pass --emb-dim {vectors.vector_size}")
    matrix, stats = embedding_matrix(vocab, vectors, seed=cfg.split_seed)
    frequent = [w for w in vocab.itos[2:] if w not in PLACEHOLDERS and len(compose(w)) >= 2][:8]
    neighbours = {compose(w): [[compose(n), s] for n, s in ns]
                  for w, ns in nearest_neighbours(vectors, frequent, topn=5).items()}
    info.update({"dim": vectors.vector_size, "vectors_trained": len(vectors.key_to_index),
                 "coverage": stats["coverage"], "in_vectors": stats["in_vectors"],
                 "from_ngrams": stats["from_ngrams"], "neighbours": neighbours})
    return matrix, info


def _baseline(cfg: ExperimentConfig, prep: Prepared) -> dict:
    from .baseline import fit_predict_baseline

    clean = cfg.preprocess.cleaning
    t0 = time.perf_counter()
    probs = fit_predict_baseline([clean(t) for t in prep.texts["train"]], prep.y["train"],
                                 [clean(t) for t in prep.texts["test"]],
                                 seed=cfg.split_seed)
    test = classification_metrics(prep.y["test"], probs, prep.labels, prep.positive)
    return {"name": "tfidf_logreg", "train_seconds": time.perf_counter() - t0, "test": test,
            "misclassified": misclassified(prep.texts["test"], prep.y["test"], probs, prep.labels)}


def _train_one(cfg: ExperimentConfig, zoo: ModuleType, prep: Prepared, seqs: dict, vocab: Vocab,
               matrix: np.ndarray | None, model: str, init: str, seed: int, device: torch.device,
               work: Path) -> dict:
    set_seed(seed)
    mcfg = zoo.ModelConfig(name=model, vocab_size=len(vocab), num_classes=len(prep.labels), emb_dim=cfg.emb_dim,
                           hidden=cfg.hidden, layers=cfg.layers, bidirectional=cfg.bidirectional,
                           dropout=cfg.dropout, freeze_embedding=cfg.freeze_embedding,
                           kernel_sizes=cfg.kernel_sizes, filters=cfg.filters,
                           shared_embedding=cfg.shared_embedding,
                           **({"pooling": cfg.pooling} if model in zoo.RECURRENT_MODELS else {}))
    net = zoo.build_model(mcfg, matrix if init == "fasttext" else None)
    tcfg = TrainConfig(epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size, patience=cfg.patience, clip=cfg.clip,
                       lr_decay=cfg.lr_decay, monitor=cfg.monitor)
    train_loader = make_dataloader(seqs["train"], prep.y["train"], cfg.batch_size, shuffle=True, seed=seed)
    val_loader = make_dataloader(seqs["val"], prep.y["val"], cfg.batch_size * 4, shuffle=False)
    fit = Trainer(net, tcfg, device).fit(train_loader, val_loader, desc=run_key(model, init, seed))
    probs = {s: predict_proba(net, seqs[s], device, cfg.batch_size * 4) for s in ("val", "test")}
    val = classification_metrics(prep.y["val"], probs["val"], prep.labels, prep.positive)
    test = classification_metrics(prep.y["test"], probs["test"], prep.labels, prep.positive)
    ckpt = {"format": CHECKPOINT_FORMAT, "model": net.checkpoint(), "labels": prep.labels,
            "best_epoch": fit.best_epoch}
    torch.save(ckpt, work / "models" / f"{run_key(model, init, seed)}.pt")
    return {
        "model": model, "init": init, "seed": seed, "best_epoch": fit.best_epoch, "epochs_run": len(fit.history),
        "params": int(sum(p.numel() for p in net.parameters())),
        "train_seconds": fit.seconds,
        "val": {k: val[k] for k in ("accuracy", "loss", "macro_f1")},
        "test": test,
        "history": fit.history,
        "misclassified": misclassified(prep.texts["test"], prep.y["test"], probs["test"], prep.labels),
    }


def run_experiment(cfg: ExperimentConfig, zoo: ModuleType, *, resume: str | Path | None = None,
                   log: Log = print) -> Path:
    """Run the whole comparison and return the finished run directory.

    With ``resume``, continue the ``.partial`` directory of an interrupted run with its saved config.
    """
    if resume is not None:
        work = Path(resume)
        if not work.is_dir():
            raise RunError(f"cannot resume {work}: no such run directory")
        if (work / "metrics.json").exists():
            raise RunError(f"{work} is a finished run; nothing to resume")
        saved = _read_json(work / "config.json")
        if saved.get("format") != RUN_FORMAT:
            raise RunError(f"{work} was written by an incompatible nlp_pp version ({saved.get('format')!r})")
        experiment = dict(saved["experiment"])
        # a saved preprocessing dict is complete: an option it lacks did not exist when it was written,
        # so the run used the library default (not today's pipeline default)
        experiment["preprocess"] = {**PreprocessConfig().to_dict(), **(experiment.get("preprocess") or {})}
        cfg = ExperimentConfig.from_dict(experiment)
        name = work.name.removesuffix(".partial")
        final = _unique_dir(work.parent, name, own_partial=work)
    else:
        out = Path(cfg.out)
        final = _unique_dir(out, cfg.name or _default_name(cfg))
        work = final.with_name(final.name + ".partial")
    cfg.validate(tuple(zoo.MODEL_NAMES))
    device = resolve_device(cfg.device)
    cache = Cache((cfg.cache_dir or default_cache_dir()) if cfg.cache else None)
    created_here = resume is None
    try:
        if created_here:
            work.mkdir(parents=True)
            (work / "models").mkdir()
            (work / "results").mkdir()
            _write_json(work / "config.json", {"format": RUN_FORMAT, "experiment": cfg.to_dict()})
        return _run(cfg, zoo, work, final, device, cache, log)
    except KeyboardInterrupt:
        done = len(list((work / "results").glob("*.json"))) if work.exists() else 0
        if done == 0 and created_here:
            shutil.rmtree(work, ignore_errors=True)
            raise RunInterrupted("interrupted before any model run finished; nothing was kept") from None
        raise RunInterrupted(f"interrupted: {done} finished result(s) kept in {work}; continue with "
                             f"python pipeline.py --resume {work}") from None
    except BaseException:
        if created_here and work.exists() and not any((work / "results").glob("*.json")):
            shutil.rmtree(work, ignore_errors=True)
        raise


def _run(cfg: ExperimentConfig, zoo: ModuleType, work: Path, final: Path, device: torch.device, cache: Cache,
         log: Log) -> Path:
    prep = prepare_data(cfg, cache, log)
    timings = dict(prep.timings)
    run_info_path = work / "run.json"
    if run_info_path.exists():
        info = _read_json(run_info_path)
        if info.get("sha256") != prep.sha256:
            raise RunError(f"the data file changed since {work} was started (hash differs); start a new run instead")
    else:
        info = {"sha256": prep.sha256, "test_sha256": prep.test_sha256, "labels": prep.labels,
                "positive_label": prep.dataset["positive_label"],
                "context_length": prep.dataset["lengths"]["context_length"], "truncating": cfg.truncating,
                "preprocess": cfg.preprocess.to_dict()}
        _write_json(run_info_path, info)

    t0 = time.perf_counter()
    vocab = Vocab.build(prep.tokens["train"], min_count=cfg.min_count)
    vocab.save(work / "vocab.json")
    vocab.stats["coverage_test"] = vocab.coverage(prep.tokens["test"])
    prep.dataset["vocab"] = vocab.stats
    context = prep.dataset["lengths"]["context_length"]
    seqs = {s: encode_corpus(prep.tokens[s], vocab, context, cfg.truncating) for s in ("train", "val", "test")}
    timings["vocab"] = time.perf_counter() - t0
    log(f"data: {prep.dataset['rows']} rows, labels {prep.labels}, split {prep.dataset['split']['train']}/"
        f"{prep.dataset['split']['val']}/{prep.dataset['split']['test']}, vocabulary {len(vocab)}, "
        f"context length {context}")

    matrix, ft_info = None, None
    if "fasttext" in cfg.inits:
        t0 = time.perf_counter()
        matrix, ft_info = _fasttext(cfg, prep, vocab, work, cache, log)
        timings["fasttext"] = time.perf_counter() - t0

    baseline = None
    if cfg.baseline:
        t0 = time.perf_counter()
        path = work / "results" / "baseline.json"
        if path.exists():
            baseline = _read_json(path)
        else:
            baseline = _baseline(cfg, prep)
            _write_json(path, baseline)
        log(f"baseline tfidf_logreg: test accuracy {baseline['test']['accuracy']:.4f}")
        timings["baseline"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    runs = []
    for seed in cfg.seeds:
        for model in cfg.models:
            for init in cfg.inits:
                path = work / "results" / f"{run_key(model, init, seed)}.json"
                if path.exists():
                    runs.append(_read_json(path))
                    log(f"{run_key(model, init, seed)}: kept from the earlier attempt")
                    continue
                result = _train_one(cfg, zoo, prep, seqs, vocab, matrix, model, init, seed, device, work)
                _write_json(path, result)
                runs.append(result)
                log(f"{run_key(model, init, seed)}: test accuracy {result['test']['accuracy']:.4f}, "
                    f"macro-F1 {result['test']['macro_f1']:.4f} (best epoch {result['best_epoch']}, "
                    f"{result['train_seconds']:.1f}s)")
    timings["train"] = time.perf_counter() - t0

    metrics = {
        "schema_version": 1, "name": final.name, "created": datetime.now().isoformat(timespec="seconds"),
        "dataset": prep.dataset, "fasttext": ft_info, "runs": runs, "baseline": baseline,
        "config": cfg.to_dict(), "versions": package_versions(), "device": str(device),
        "threads": torch.get_num_threads(), "timings": timings,
    }
    if ft_info is None:
        del metrics["fasttext"]
    _finish(work, final, metrics, log)
    return final


def _finish(work: Path, final: Path, metrics: dict, log: Log) -> None:
    """Write history.csv, the report and metrics.json, then move the run into place."""
    from .report import write_report

    with open(work / "history.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        cols = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
        w.writerow(["model", "init", "seed", *cols])
        for r in metrics["runs"]:
            for h in r["history"]:
                w.writerow([r["model"], r["init"], r["seed"], *[h.get(c, "") for c in cols]])
    t0 = time.perf_counter()
    staging = work / "report.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_report(metrics, staging)
        for item in staging.iterdir():
            target = work / item.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    metrics["timings"]["report"] = time.perf_counter() - t0
    _write_json(work / "metrics.json", metrics)
    os.replace(work, final)
    log(f"done: {final / 'report.html'}")


def load_metrics(run_dir: str | Path) -> dict:
    """The ``metrics.json`` of a finished run."""
    return _read_json(Path(run_dir) / "metrics.json")


def summary_lines(metrics: dict) -> list[str]:
    """A short plain-text ranking of a finished run (for the terminal)."""
    from .report import summarize

    table = summarize(metrics)
    lines = [f"{'configuration':<24}{'seeds':>6}{'accuracy':>18}{'macro-F1':>18}"]
    for _, r in table.iterrows():
        label = f"{r['model']} + {r['init']}"
        acc = f"{r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}"
        f1 = f"{r['macro_f1_mean']:.4f} ± {r['macro_f1_std']:.4f}"
        lines.append(f"{label:<24}{int(r['n_seeds']):>6}{acc:>18}{f1:>18}")
    return lines


