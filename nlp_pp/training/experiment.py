"""The comparison: every model x embedding init x seed on one split, a baseline, metrics and a report.

Orchestration only: the data comes from :mod:`nlp_pp.training.dataset`, the run directory's layout and life
from :mod:`nlp_pp.training.rundir`, each option's meaning from :mod:`nlp_pp.config`. Each finished model run
is saved at once, so an interrupted run keeps its work and can be resumed; only a complete run is
renamed into place. Progress is logged through :mod:`logging` (``nlp_pp.training.experiment``).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from ..cache import Cache, default_cache_dir
from ..config import ExperimentConfig
from ..decisions.explain import explain_test_set
from ..decisions.scoring import (
    Scores,
    Task,
    paired_comparisons,
    reliability,
)
from ..decisions.selection import BASELINE_INIT, SINGLE_INITS, best_model, best_run, rank_configurations
from ..deploy.load import load_classifier
from ..errors import ConfigError, DataError, RunError
from ..files import read_json, write_json
from ..resources import package_versions
from ..results import (
    BASELINE,
    DISTILLED,
    ENSEMBLE,
    BaselineResult,
    DistilledResult,
    EnsembleResult,
    Metrics,
    RunResult,
    ThreadSettings,
    VocabFacts,
)
from ..vectors.batching import encode_corpus
from ..vectors.vocab import Vocab
from . import distributed
from .dataset import fasttext_vectors, prepare_data, vectors_matrix
from .fitting import (
    Comparison,
    fit_baseline,
    fit_ensemble_run,
    train_one,
)
from .rundir import RunDir, run_key, saved_preprocessing, write_history
from .stages import release_freed_memory, stage
from .threads import apply_threads
from .trainer import resolve_device

log = logging.getLogger(__name__)


class RunInterrupted(RunError):
    """Ctrl-C during a run: finished model runs were kept (exit code 130)."""

    exit_code = 130


# --------------------------------------------------------------------------- the whole comparison


def check_input_files(cfg: ExperimentConfig) -> None:
    """Every local file the options name exists and is a regular file: checked before any work starts."""
    from ..text.source import check_file, is_url

    named = [
        ("--data", cfg.data, "CSV"),
        ("--test-data", cfg.test_data, "CSV"),
        ("--pretrained-vectors", cfg.pretrained_vectors, "vectors"),
        *(("--unlabeled", u, "text") for u in cfg.unlabeled),
        *(("--self-training-texts", u, "text") for u in cfg.self_training_texts),
    ]
    for flag, source, kind in named:
        if source is not None and not is_url(str(source)):
            try:
                check_file(source, kind)
            except DataError as e:
                raise DataError(f"{flag}: {e}") from None


def run_experiment(cfg: ExperimentConfig | None, *, resume: str | Path | None = None) -> Path | None:
    """Run the whole comparison and return the finished run directory.

    Under ``torchrun`` every rank trains (:mod:`nlp_pp.training.distributed`); only rank 0 writes the run
    directory and returns it, the other ranks return ``None``.

    With ``resume``, continue the ``.partial`` directory of an interrupted run with its saved
    config (``cfg`` is then ignored).
    """
    if resume is not None:
        run, saved = RunDir.resume(resume)
        cfg = ExperimentConfig.from_dict(saved, saved=True)
    device = resolve_device(cfg.device)  # checked before anything is created
    world = distributed.init_world(device)  # under torchrun: this rank's place (else a single process)
    threads_before = torch.get_num_threads()
    try:
        device = distributed.rank_device(device, world)
        if cfg.amp and device.type != "cuda":
            raise ConfigError(
                f"--amp needs a CUDA device (mixed precision pays on GPUs); this run is on {device}"
            )
        if world.active and (cfg.self_training_rounds or cfg.distill):
            raise ConfigError(
                "--self-training-rounds and --distill run in one process only (they are not sharded over "
                "torchrun ranks yet); run them without torchrun"
            )
        check_input_files(cfg)
        cache = Cache((cfg.cache_dir or default_cache_dir()) if cfg.cache else None)
        threads = apply_threads(cfg.threads)  # a bad $NLP_PP_THREADS is refused before anything is created
        if not world.main:  # ranks > 0 write nothing that lasts (nlp_pp.training.distributed)
            return distributed.run_other_rank(
                cfg, lambda r: _run_in(cfg.resolved(), r, device, cache, threads)
            )
        if resume is None:
            from .rundir import default_name

            run = RunDir.create(cfg.out, cfg.name or default_name(cfg.data), cfg.to_dict())
        return _run_in(cfg.resolved(), run, device, cache, threads)
    finally:
        torch.set_num_threads(threads_before)  # the caller's setting again (a notebook's, a test's)
        distributed.close_world()


def _run_in(
    cfg: ExperimentConfig, run: RunDir, device: torch.device, cache: Cache, threads: ThreadSettings
) -> Path:
    """:func:`_run` in ``run``; an interrupted or failed run keeps its finished model runs, or nothing."""
    try:
        return _run(cfg, run, device, cache, threads)
    except KeyboardInterrupt:
        if run.discard_if_empty():
            raise RunInterrupted("interrupted before any model run finished; nothing was kept") from None
        done = len([k for k in run.result_keys() if k not in (BASELINE, ENSEMBLE)])
        raise RunInterrupted(
            f"interrupted: {done} finished model run(s) kept in {run.work}; continue with "
            f"python pipeline.py --resume {run.work}"
        ) from None
    except BaseException:
        run.discard_if_empty()
        raise


def _run(
    cfg: ExperimentConfig, run: RunDir, device: torch.device, cache: Cache, threads: ThreadSettings
) -> Path:
    world = distributed.current()
    with distributed.main_first(world):  # rank 0 fills the cache, the others read it
        prep = prepare_data(cfg, cache)
    class_weight = cfg.class_weights(prep.labels, prep.y["train"])  # unknown labels: an error before training
    timings = dict(prep.timings)
    info_path = run.path("run.json")
    if info_path.exists():
        info = read_json(info_path)
        if info.get("sha256") != prep.sha256:
            raise RunError(
                f"the data file changed since {run.work} was started (hash differs); start a new run instead"
            )
    else:
        write_json(
            info_path,
            {
                "sha256": prep.sha256,
                "test_sha256": prep.test_sha256,
                "labels": prep.labels,
                "positive_label": prep.dataset.positive_label,
                "context_length": prep.context_length,
                "truncating": cfg.truncating,
                "preprocess": saved_preprocessing(cfg.preprocess, run.work),
            },
        )

    task = Task(prep.y["val"], prep.y["test"], prep.labels, prep.positive, cfg.threshold_policy)
    # the training split's batches as encoding will make them: refused before anything is kept
    encoded_lengths = np.minimum(prep.tokens["train"].lengths(), prep.context_length)
    distributed.check_batches(encoded_lengths, cfg.batch_size, world)

    vectors, ft_raw, ft_info = None, None, None
    if "fasttext" in cfg.inits:
        t0 = time.perf_counter()
        with stage("fasttext"), distributed.main_first(world):
            vectors, ft_raw = fasttext_vectors(cfg, prep, run, cache)
        release_freed_memory()  # the token lists FastText decoded, pass after pass
        timings["fasttext"] = time.perf_counter() - t0

    baseline = None
    if cfg.baseline and world.main:
        t0 = time.perf_counter()
        baseline = run.load_result(BASELINE)
        if baseline is None:
            # before the vocabulary and the encoded ids exist: the fit's transient n-gram
            # dictionaries are the run's peak, so it comes where the run holds least
            with stage("baseline"):
                baseline = fit_baseline(cfg, prep, run, task, class_weight)
            release_freed_memory()  # the n-gram vocabularies counted while fitting
            run.save_result(baseline)
        log.info(
            "baseline %s: validation macro-F1 %.4f, test accuracy %.4f",
            BASELINE,
            baseline.val.macro_f1,
            baseline.test.accuracy,
        )
        timings["baseline"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with stage("vocabulary"):
        vocab = Vocab.build(prep.tokens["train"], min_count=cfg.min_count)
        if cfg.extend_vocabulary():  # index_to_key is in frequency order: the limit keeps the most frequent
            vocab = vocab.extended(vectors.index_to_key, limit=cfg.vocab_from_vectors_max)
            log.info(
                "vocabulary: %d words of the vectors added, %d left out (--vocab-from-vectors-max %d)",
                vocab.stats["from_vectors"],
                vocab.stats["vectors_left_out"],
                cfg.vocab_from_vectors_max,
            )
        vocab.save(run.path("vocab.json"))
        vocab.stats["coverage_test"] = vocab.coverage(prep.tokens["test"])
        dataset = replace(prep.dataset, vocab=VocabFacts(**vocab.stats))
    with stage("encoding"):
        seqs = {
            s: encode_corpus(prep.tokens[s], vocab, prep.context_length, cfg.truncating)
            for s in ("train", "val", "test")
        }
        prep.release_token_pages()  # encoded: training reads the encoded arrays, not these
        release_freed_memory()  # the token counts of every type
    timings["vocab"] = time.perf_counter() - t0
    log.info(
        "data: %d rows, labels %s, split %d/%d/%d, vocabulary %d, context length %d",
        dataset.rows,
        prep.labels,
        dataset.split.train,
        dataset.split.val,
        dataset.split.test,
        len(vocab),
        prep.context_length,
    )
    matrix = None
    if vectors is not None:
        matrix, ft_info = vectors_matrix(cfg, prep, vocab, vectors, ft_raw)
        ft_raw = None  # the gensim model (its n-gram table): the matrix is all training needs

    comparison = Comparison(cfg, prep, vocab, seqs, matrix, device, run, task, class_weight)

    t0 = time.perf_counter()
    runs: list[RunResult] = []
    for seed in cfg.seeds:
        for model in cfg.models:
            for init in cfg.inits:
                key = run_key(model, init, seed)
                result = run.load_result(key) if world.main else None
                kept = distributed.broadcast(result is not None, world)  # under torchrun: rank 0's word
                if kept:
                    log.info("%s: kept from the earlier attempt", key)
                else:
                    result = train_one(comparison, model, init, seed)
                    if result is None:  # a rank > 0 under torchrun: rank 0 keeps the result
                        continue
                    run.save_result(result)
                    log.info(
                        "%s: validation macro-F1 %.4f, test accuracy %.4f (best epoch %d, %.1fs)",
                        key,
                        result.val.macro_f1,
                        result.test.accuracy,
                        result.best_epoch,
                        result.train_seconds,
                    )
                if result is not None:
                    runs.append(result)
    timings["train"] = time.perf_counter() - t0
    if not world.main:
        return run.work

    self_training = None
    if cfg.self_training_rounds and runs:
        from .selftrain import self_train

        t0 = time.perf_counter()
        students, self_training = self_train(comparison, runs, baseline, train_one, load_classifier)
        for s in students:
            run.save_result(s)
        runs = runs + students
        timings["self_training"] = time.perf_counter() - t0

    ensemble = None
    if cfg.ensemble:
        t0 = time.perf_counter()
        with stage("decisions"):
            ensemble = fit_ensemble_run(comparison, runs + ([baseline] if baseline else []))
        if ensemble is not None:
            run.save_result(ensemble)
            log.info(
                "ensemble of %s: cross-fitted validation macro-F1 %.4f, test accuracy %.4f",
                ", ".join(ensemble.members),
                ensemble.val.macro_f1,
                ensemble.test.accuracy,
            )
        timings["ensemble"] = time.perf_counter() - t0

    distilled = None
    if cfg.distill:
        distilled = _distilled(comparison, ensemble, timings)

    t0 = time.perf_counter()
    with stage("decisions"):
        comparisons = paired_comparisons(
            task, comparison_pairs(run, runs, baseline, ensemble, distilled), seed=cfg.split_seed
        )
    timings["comparisons"] = time.perf_counter() - t0
    explanations = None
    if runs:
        t0 = time.perf_counter()
        top = rank_configurations(runs)[0]
        best = best_run([r for r in runs if r.configuration == (top.model, top.init)])
        with stage("decisions"):
            clf = load_classifier(run.work, model=best.key, device=str(device))
            explanations = explain_test_set(clf, prep.texts["test"], prep.y["test"], seed=cfg.split_seed)
        timings["explanations"] = time.perf_counter() - t0

    metrics = Metrics(
        name=run.final.name,
        created=datetime.now().isoformat(timespec="seconds"),
        dataset=dataset,
        fasttext=ft_info,
        runs=runs,
        baseline=baseline,
        ensemble=ensemble,
        distilled=distilled,
        comparisons=comparisons,
        explanations=explanations,
        config=cfg.to_dict(),
        versions=package_versions(),
        device=str(device),
        threads=threads,
        world_size=world.size,
        timings=timings,
        self_training=self_training,
    )
    if runs or baseline or ensemble or distilled:
        key = best_model(metrics)
        temperature = metrics.result(key).calibration.temperature
        with stage("decisions"):
            scores = Scores(key, *run.load_predictions(key))
            metrics = replace(metrics, reliability=reliability(scores, task, temperature))
    with stage("report"):
        return _finish(run, metrics)


def _distilled(c: Comparison, ensemble: EnsembleResult | None, timings: dict) -> DistilledResult | None:
    """The distilled student (``--distill``): kept from an earlier attempt, or trained now."""
    from .distill import distill_run

    if ensemble is None:
        log.warning("--distill: no ensemble (it needs two models or a model and the baseline); no student")
        return None
    t0 = time.perf_counter()
    distilled = c.run.load_result(DISTILLED)
    if distilled is None:
        distilled = distill_run(c, ensemble)
        c.run.save_result(distilled)
    log.info(
        "distilled %s student (%d labelled + %d unlabelled texts): validation macro-F1 %.4f, test "
        "accuracy %.4f",
        distilled.model,
        distilled.labelled_texts,
        distilled.unlabeled_texts,
        distilled.val.macro_f1,
        distilled.test.accuracy,
    )
    timings["distill"] = time.perf_counter() - t0
    return distilled


def comparison_pairs(
    run: RunDir,
    runs: list[RunResult],
    baseline: BaselineResult | None,
    ensemble: EnsembleResult | None,
    distilled: DistilledResult | None = None,
) -> list[tuple[str, str, str, np.ndarray, np.ndarray]]:
    """What the report tests: FastText vs random per model, and the best configuration (on validation)
    vs the runner-up and vs the baseline -- each as test decisions, one row per seed."""

    def decisions(keys: list[str]) -> np.ndarray:
        return np.stack([run.load_predictions(k)[1].argmax(1) for k in keys])

    seeds: dict[tuple[str, str], dict[int, str]] = {}
    for r in runs:
        seeds.setdefault(r.configuration, {})[r.seed] = r.key
    named = {f"{m} + {i}": sorted(by_seed.items()) for (m, i), by_seed in seeds.items()}
    if baseline is not None:
        named[BASELINE] = [(0, BASELINE)]
    if ensemble is not None:
        named[ENSEMBLE] = [(0, ENSEMBLE)]
    if distilled is not None:
        named[distilled.name] = [(0, DISTILLED)]
    pairs = []
    for (m, i), by_seed in seeds.items():
        if i == "fasttext" and (m, "random") in seeds:
            common = sorted(set(by_seed) & set(seeds[(m, "random")]))
            if common:
                pairs.append(
                    (
                        "fasttext vs random",
                        f"{m} + fasttext",
                        f"{m} + random",
                        decisions([by_seed[s] for s in common]),
                        decisions([seeds[(m, "random")][s] for s in common]),
                    )
                )
    names = [s.label for s in rank_configurations(runs, baseline, ensemble, distilled)]
    others = [("best vs runner-up", names[1])] if len(names) > 1 else []
    if baseline is not None and names and names[0] != BASELINE and (not others or others[0][1] != BASELINE):
        others.append(("best vs baseline", BASELINE))
    for kind, other in others:
        pairs.append(
            (
                kind,
                names[0],
                other,
                decisions([k for _, k in named[names[0]]]),
                decisions([k for _, k in named[other]]),
            )
        )
    return pairs


def _finish(run: RunDir, metrics: Metrics) -> Path:
    """Write history.csv, the report and metrics.json, then move the run into place."""
    from ..report import write_report

    write_history(run.path("history.csv"), metrics.runs)
    t0 = time.perf_counter()
    staging = run.path("report.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_report(metrics, staging)
        for item in staging.iterdir():
            target = run.path(item.name)
            if target.is_dir():
                shutil.rmtree(target)
            item.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    metrics.timings["report"] = time.perf_counter() - t0
    write_json(run.path("metrics.json"), metrics.to_dict())
    final = run.finish()
    log.info("done: %s", final / "report.html")
    return final


def load_metrics(run_dir: str | Path) -> Metrics:
    """The ``metrics.json`` of a finished run, parsed and checked."""
    path = Path(run_dir) / "metrics.json"
    return Metrics.from_dict(read_json(path), where=str(path))


def summary_lines(metrics: Metrics) -> list[str]:
    """A short plain-text ranking of a finished run (for the terminal), best on validation first."""
    from ..report import summarize

    table = summarize(metrics)
    lines = [
        f"{'configuration':<26}{'seeds':>6}{'val macro-F1':>14}{'test accuracy':>18}{'test macro-F1':>18}"
    ]
    for _, r in table.iterrows():
        label = (
            f"{r['model']} (baseline)"
            if r["init"] == BASELINE_INIT
            else r["model"]
            if r["init"] in SINGLE_INITS
            else f"{r['model']} + {r['init']}"
        )
        n = int(r["n_seeds"])
        acc, f1 = (
            f"{r[f'{m}_mean']:.4f}" + (f" ± {r[f'{m}_std']:.4f}" if n > 1 else "")
            for m in ("accuracy", "macro_f1")
        )
        lines.append(f"{label:<26}{n:>6}{r['val_macro_f1_mean']:>14.4f}{acc:>18}{f1:>18}")
    lines.append("ranked by validation macro-F1; test scores are reported, never used to choose")
    return lines
