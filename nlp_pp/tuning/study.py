"""``pipeline.py tune``: a budgeted Optuna search over a run's options, judged on the validation split only.

Each trial trains one configuration (one model family, one embedding initialisation, the first
seed) and scores its validation macro-F1 (argmax decisions, as a run's ``val.macro_f1``). The trainer
reports every epoch's validation macro-F1 to the trial, and a median pruner stops a trial that is
below the median of earlier trials at the same epoch (from the second epoch on). The sampler is TPE
(seeded with ``--split-seed``). The first trial is the options as given -- the hand-chosen defaults
unless the command line changed them -- so the report can say what the search bought over them.

The test split is never scored during the search: no trial computes a test prediction. When the
search ends, the best trial's options are written to ``best.toml`` and run once as an ordinary
comparison (all ``--seeds``, the baseline and the ensemble as configured) in ``best/``: that run is
the only one that reads the test labels.

Preprocessing and FastText are computed once per distinct setting: the cache
(:mod:`nlp_pp.cache`) keys them, and the study keeps the last few in memory besides.

The tuning directory::

    <out>/<name>/
        tune.json        the options, the search space and the budget (what --resume reads)
        study.journal    Optuna's journal storage: every trial, kept through Ctrl-C
        trials.csv       one row per trial: state, validation macro-F1, epochs, seconds, parameters
        best.toml        the best trial's options: python pipeline.py --config best.toml reproduces it
        report.md/.html  the tuning report (plots/ beside it)
        best/            the best configuration's run (the test split evaluated once)
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..errors import ConfigError, RunError
from ..files import atomic_write, read_json, write_json
from .report import trial_rows
from .space import BOUND_BY_VECTORS, INIT, MODEL, SearchSpace, build_space

log = logging.getLogger(__name__)

FORMAT = "nlp_pp.tune/1"
TUNE_FILE = "tune.json"
JOURNAL = "study.journal"
STUDY = "nlp_pp"
DEFAULT_TRIALS = 20
TUNE_HINT = "pip install 'nlp_pp[tune]'"
MEMO = 4  # preprocessed datasets and FastText vectors kept in memory
WARMUP_EPOCHS = 2  # a trial is never pruned before its second epoch
STARTUP_TRIALS = 3  # nor before this many trials finished


def require_optuna():
    """Import Optuna or raise a one-line :class:`ConfigError` naming the extra."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(f"tune needs Optuna, which is not installed: {TUNE_HINT}") from None
    return optuna


class TuneInterrupted(RunError):
    """Ctrl-C during a search: finished trials were kept (exit code 130)."""

    exit_code = 130


class BudgetTooSmall(ConfigError):
    """The time budget ended before one trial finished."""


# --------------------------------------------------------------------------- trials


# a trial trains one configuration: no baseline, no ensemble, no distilled student, no pseudo-label rounds
ONE_CONFIGURATION: dict[str, Any] = dict(
    baseline=False, ensemble=False, distill=False, self_training_rounds=0
)


def trial_config(base: ExperimentConfig, values: dict[str, Any], **fixed: Any) -> ExperimentConfig:
    """``base`` with a trial's values (``model``, ``init`` and options); ``fixed`` overrides both."""
    d = base.to_dict()
    pre = dict(d.pop("preprocess"))
    d.update({k: v for k, v in values.items() if k not in (MODEL, INIT)})
    d["models"] = [values[MODEL]]
    d["inits"] = [values[INIT]]
    if values[INIT] != "fasttext" and d.get("vocab_from_vectors"):
        d["vocab_from_vectors"] = None  # the vectors' words mean nothing without FastText vectors
    d.update(fixed)
    d["preprocess"] = pre  # preprocessing values given at the top level win (from_dict merges them)
    return ExperimentConfig.from_dict(d)


def base_values(base: ExperimentConfig, space: SearchSpace, model: str, init: str) -> dict[str, Any]:
    """The values ``base`` gives the parameters that apply to ``model`` + ``init`` (the first trial)."""
    d = {**base.to_dict(), **base.preprocess.to_dict()}
    resolved = base.resolved()
    d["freeze_embedding"] = resolved.freeze_embedding
    d["vocab_from_vectors"] = resolved.vocab_from_vectors
    out: dict[str, Any] = {}
    for name, p in space.params.items():
        if not space.applies(name, model, init) or p.fixed:
            continue
        v = d.get(name)
        v = "none" if v is None else ",".join(map(str, v)) if isinstance(v, list) else v
        if p.kind == "choice":
            if v in p.choices:
                out[name] = v
        elif isinstance(v, (int, float)) and p.low <= v <= p.high:
            out[name] = v
    return out


class _Memo(OrderedDict):
    """A small least-recently-used map."""

    def get_or(self, key: str, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > MEMO:
            self.popitem(last=False)
        return value


class _Scratch:
    """Where a trial's FastText vectors are written before they are read (a run directory's stand-in)."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)


class Objective:
    """Builds each trial's data (memoised), trains it and returns its validation macro-F1."""

    def __init__(
        self, base: ExperimentConfig, space: SearchSpace, cache, device, work: Path, deadline: float
    ):
        self.base, self.space, self.cache, self.device = base, space, cache, device
        self.work, self.deadline = work, deadline
        self.prepared, self.vectors = _Memo(), _Memo()

    def comparison(self, cfg: ExperimentConfig):
        """The data of a trial: preprocessed splits, vectors, vocabulary and sequences (no test scores)."""
        from ..training.dataset import fasttext_vectors, prepare_data
        from ..training.fitting import Comparison
        from ..vectors.batching import encode_corpus
        from ..vectors.fasttext import embedding_matrix
        from ..vectors.vocab import Vocab

        prep = self.prepared.get_or(
            cfg.preprocess.fingerprint(), lambda: prepare_data(cfg, self.cache, test_tokens=False)
        )
        vectors = None
        if cfg.inits[0] == "fasttext":
            key = json.dumps(
                [cfg.preprocess.fingerprint(), cfg.fasttext_config().to_dict(), cfg.pretrained_vectors],
                sort_keys=True,
                default=str,
            )

            def train():
                with tempfile.TemporaryDirectory(dir=self.work) as tmp:
                    return fasttext_vectors(cfg, prep, _Scratch(Path(tmp)), self.cache)[0]

            vectors = self.vectors.get_or(key, train)
        vocab = Vocab.build(prep.tokens["train"], min_count=cfg.min_count)
        if vectors is not None and cfg.extend_vocabulary():
            vocab = vocab.extended(vectors.index_to_key, limit=cfg.vocab_from_vectors_max)
        seqs = {
            s: encode_corpus(prep.tokens[s], vocab, prep.context_length, cfg.truncating)
            for s in ("train", "val")
        }
        matrix = None if vectors is None else embedding_matrix(vocab, vectors, seed=cfg.split_seed)[0]
        class_weight = cfg.class_weights(prep.labels, prep.y["train"])
        return Comparison(cfg, prep, vocab, seqs, matrix, self.device, None, None, class_weight)

    def __call__(self, trial) -> float:
        import optuna

        from ..training.fitting import validation_score

        values = self.space.sample(trial, self.base.models, self.base.inits)
        trial.set_user_attr("values", values)
        cfg = trial_config(self.base, values, seeds=[self.base.seeds[0]], **ONE_CONFIGURATION)
        cfg = cfg.resolved()
        c = self.comparison(cfg)

        def on_epoch(row: dict) -> None:
            epoch, score = int(row["epoch"]), float(row["val_f1"])
            trial.report(score, epoch)
            trial.set_user_attr("epochs", epoch)
            if time.monotonic() > self.deadline:
                trial.set_user_attr("stopped", "budget")
                raise optuna.TrialPruned(f"the time budget ended after epoch {epoch}")
            if trial.should_prune():
                trial.set_user_attr("stopped", "pruned")
                raise optuna.TrialPruned(f"below the median of earlier trials at epoch {epoch}")

        t0 = time.perf_counter()
        score, epochs = validation_score(c, values[MODEL], values[INIT], cfg.seeds[0], on_epoch=on_epoch)
        trial.set_user_attr("epochs", epochs)
        trial.set_user_attr("train_seconds", time.perf_counter() - t0)
        return score


# --------------------------------------------------------------------------- the directory


@dataclass
class TuneDir:
    path: Path
    created: bool

    @classmethod
    def create(cls, out: str | Path, name: str) -> TuneDir:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise RunError(f"--out {out} is a file, not a directory; choose another --out")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot create the output directory {out}: {e.strerror or e}") from None
        for i in range(1, 10_000):
            path = out / (name if i == 1 else f"{name}-{i}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as e:
                raise RunError(f"cannot create the tuning directory {path}: {e.strerror or e}") from None
            return cls(path, True)
        raise RunError(f"too many tuning directories named {name} in {out}; choose another --name")

    @classmethod
    def open(cls, path: str | Path) -> tuple[TuneDir, dict]:
        p = Path(path)
        if not (p / TUNE_FILE).is_file():
            raise ConfigError(f"--resume {p}: not a tuning directory ({TUNE_FILE} is missing)")
        saved = read_json(p / TUNE_FILE)
        if (
            not isinstance(saved, dict)
            or saved.get("format") != FORMAT
            or not isinstance(saved.get("experiment"), dict)
        ):
            raise RunError(f"{p}/{TUNE_FILE} was written by an incompatible nlp_pp version")
        return cls(p, False), saved


def default_name(data: str) -> str:
    """``<data file stem>-tune-<date>-<time>``."""
    from ..training.rundir import default_name as run_name

    stem = run_name(data).rsplit("-", 2)[0]
    return f"{stem}-tune-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


# --------------------------------------------------------------------------- the search


def check_budget(trials: int | None, timeout: float | None) -> None:
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise ConfigError(f"--trials must be an integer >= 1 (got {trials!r})")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ConfigError(f"--timeout must be a number of seconds > 0 (got {timeout!r})")


def run_tune(
    cfg: ExperimentConfig | None,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    space: dict | None = None,
    space_source: str = "the search space",
    resume: str | Path | None = None,
    final: bool = True,
) -> Path:
    """Search, write ``best.toml`` and the report, run the best configuration once; return the directory.

    ``trials``: the study's total number of finished trials (default: :data:`DEFAULT_TRIALS` without a
    ``timeout``); ``timeout``: seconds for the search (data preparation included; a running trial
    stops at the end of the epoch that crosses it). With ``resume``, the study of that directory
    continues with its saved options (``trials`` and ``timeout`` may be given anew).
    """
    optuna = require_optuna()
    check_budget(trials, timeout)
    from ..cache import Cache, default_cache_dir
    from ..training.experiment import check_input_files
    from ..training.threads import apply_threads
    from ..training.trainer import resolve_device

    if resume is not None:
        tune, saved = TuneDir.open(resume)
        cfg = ExperimentConfig.from_dict(saved["experiment"], saved=True)
        space = saved.get("space_overrides") or {}
        space_source = saved.get("space_source", space_source)
        trials = trials if trials is not None else saved.get("trials")
        timeout = timeout if timeout is not None else saved.get("timeout")
        check_budget(trials, timeout)  # tune.json's values, checked as given ones are
    if trials is None and timeout is None:
        trials = DEFAULT_TRIALS
    search = build_space(space, space_source)
    if cfg.pretrained_vectors:  # a trial that changed what the vectors fix could not use them
        bound = sorted(set(BOUND_BY_VECTORS) & {str(k).replace("-", "_") for k in (space or {})})
        if bound:
            raise ConfigError(
                f"{space_source}: {', '.join(bound)} cannot be searched with --pretrained-vectors (the "
                "vectors fix their width, the preprocessing and the FastText options); leave "
                f"{'it' if len(bound) == 1 else 'them'} out of the search space"
            )
        search = search.without(BOUND_BY_VECTORS)
    device = resolve_device(cfg.device)
    check_input_files(cfg)
    cache = Cache((cfg.cache_dir or default_cache_dir()) if cfg.cache else None)
    import torch

    threads_before = torch.get_num_threads()
    apply_threads(cfg.threads)
    if resume is None:
        tune = TuneDir.create(cfg.out, cfg.name or default_name(cfg.data))
    saved = {
        "format": FORMAT,
        "experiment": cfg.to_dict(),
        "space": search.to_dict(),
        "space_overrides": space or {},
        "space_source": space_source,
        "models": list(cfg.models),
        "inits": list(cfg.inits),
        "trials": trials,
        "timeout": timeout,
    }
    write_json(tune.path / TUNE_FILE, saved)
    try:
        return _search(optuna, tune, cfg, search, trials, timeout, cache, device, final)
    except BaseException:
        if tune.created and not _kept(tune.path):
            shutil.rmtree(tune.path, ignore_errors=True)
        raise
    finally:
        torch.set_num_threads(threads_before)


def _storage(optuna, path: Path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(path)))


def counted(study) -> list:
    """Trials that count toward ``--trials``: complete, or pruned as hopeless (not stopped by the budget)."""
    from optuna.trial import TrialState

    return [
        t
        for t in study.trials
        if t.state == TrialState.COMPLETE
        or (t.state == TrialState.PRUNED and t.user_attrs.get("stopped") != "budget")
    ]


def _kept(path: Path) -> bool:
    """Whether the study in ``path`` holds a trial worth keeping."""
    if not (path / JOURNAL).is_file():
        return False
    import optuna

    try:
        study = optuna.load_study(study_name=STUDY, storage=_storage(optuna, path / JOURNAL))
    except Exception:
        return False
    return bool(counted(study))


def _search(optuna, tune: TuneDir, cfg, search, trials, timeout, cache, device, final: bool) -> Path:
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    start = time.monotonic()
    deadline = start + timeout if timeout is not None else math.inf
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=STUDY,
        storage=_storage(optuna, tune.path / JOURNAL),
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=cfg.split_seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=WARMUP_EPOCHS),
        load_if_exists=True,
    )
    if not study.trials:  # the options as given come first: what the search is measured against
        model, init = cfg.models[0], "fasttext" if "fasttext" in cfg.inits else cfg.inits[0]
        study.enqueue_trial(
            {
                **({MODEL: model} if len(cfg.models) > 1 else {}),
                **({INIT: init} if len(cfg.inits) > 1 else {}),
                **base_values(cfg, search, model, init),
            },
            user_attrs={"as_given": True},
        )
    done = len(counted(study))
    remaining = None if trials is None else trials - done
    if remaining is not None and remaining <= 0:
        log.info("tune: the study already has %d finished trials (--trials %d)", done, trials)
    else:
        log.info(
            "tune: %s trial(s)%s, %d finished before; %s",
            "up to " + str(remaining) if remaining is not None else "as many",
            f" within {timeout:g} s" if timeout is not None else "",
            done,
            tune.path,
        )
        objective = Objective(cfg, search, cache, device, tune.path, deadline)
        bar = tqdm(total=remaining, desc="tune", unit="trial", leave=True)

        def progress(study, trial) -> None:
            if trial.state == TrialState.COMPLETE or (
                trial.state == TrialState.PRUNED and trial.user_attrs.get("stopped") != "budget"
            ):
                bar.update(1)
            best = _best_value(study)
            if best is not None:
                bar.set_postfix(best=f"{best:.4f}")
            value = f"{trial.value:.4f}" if trial.value is not None else "-"
            log.info(
                "trial %d: %s, validation macro-F1 %s (%s epochs, %.0fs)%s",
                trial.number,
                trial.state.name.lower(),
                value,
                trial.user_attrs.get("epochs", "?"),
                trial.duration.total_seconds() if trial.duration else 0.0,
                f"; best so far {best:.4f}" if best is not None else "",
            )
            if time.monotonic() > deadline:
                study.stop()

        try:
            left = None if timeout is None else max(deadline - time.monotonic(), 0.001)
            study.optimize(
                objective, n_trials=remaining, timeout=left, callbacks=[progress], gc_after_trial=True
            )
        except KeyboardInterrupt:
            n = len(counted(study))
            if not n:
                raise TuneInterrupted("interrupted before any trial finished; nothing was kept") from None
            raise TuneInterrupted(
                f"interrupted: {n} finished trial(s) kept in {tune.path}; continue with "
                f"python pipeline.py tune --resume {tune.path}"
            ) from None
        finally:
            bar.close()
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if not complete:
        if timeout is not None and time.monotonic() >= deadline:
            raise BudgetTooSmall(
                f"--timeout {timeout:g} s ended before one trial finished ({time.monotonic() - start:.0f} s "
                "spent); give a larger --timeout, or fewer rows (--max-rows) or --epochs"
            )
        raise RunError("no trial finished; see the log above")
    best = max(complete, key=lambda t: (t.value, -t.number))
    values = dict(best.user_attrs["values"])
    best_cfg = trial_config(cfg, values)
    write_best_toml(tune.path / "best.toml", best_cfg)
    write_trials_csv(tune.path / "trials.csv", study)
    run_dir = None
    if final:
        from ..training.experiment import run_experiment

        log.info("tune: running the best configuration (trial %d) once, with the test split", best.number)
        run_dir = run_experiment(replace(best_cfg, out=str(tune.path), name="best"))
    from .report import write_tune_report

    write_tune_report(tune.path, study, cfg, search, best, run_dir, timeout=timeout)
    log.info(
        "tune: best trial %d, validation macro-F1 %.4f; %s", best.number, best.value, tune.path / "best.toml"
    )
    return tune.path


def _best_value(study) -> float | None:
    from optuna.trial import TrialState

    values = [t.value for t in study.trials if t.state == TrialState.COMPLETE and t.value is not None]
    return max(values) if values else None


# --------------------------------------------------------------------------- outputs


def toml_value(value: Any) -> str:
    """One TOML value for an option value (``None`` is written as the string ``"none"``)."""
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to a TOML file")


def write_best_toml(path: Path, cfg: ExperimentConfig) -> None:
    """The options of ``cfg`` that differ from the defaults (plus the model and its init), as TOML."""
    default = ExperimentConfig().to_dict()
    d = cfg.to_dict()
    pre, pre_default = d.pop("preprocess"), default.pop("preprocess")
    keep = {"models", "inits"}
    lines = [
        "# The best configuration of a `pipeline.py tune` search (chosen on the validation split).",
        "# Reproduce: python pipeline.py --config best.toml   (options given beside --config override it)",
    ]
    for k, v in d.items():
        if k in ("name",) or (v == default.get(k) and k not in keep):
            continue
        lines.append(f"{k} = {toml_value(v)}")
    extra = [f"{k} = {toml_value(v)}" for k, v in pre.items() if v != pre_default.get(k)]
    if extra:
        lines += ["", "[preprocess]", *extra]
    with atomic_write(path) as f:
        f.write("\n".join(lines) + "\n")


def write_trials_csv(path: Path, study) -> None:
    rows = trial_rows(study)
    names = sorted({k for r in rows for k in r["values"]})
    with atomic_write(path) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["number", "state", "val_macro_f1", "epochs", "seconds", "stopped", "as_given", *names])
        for r in rows:
            w.writerow(
                [
                    r["number"],
                    r["state"],
                    "" if r["value"] is None else f"{r['value']:.6f}",
                    r["epochs"] or "",
                    "" if r["seconds"] is None else f"{r['seconds']:.1f}",
                    r["stopped"],
                    r["as_given"],
                    *("" if r["values"].get(n) is None else r["values"][n] for n in names),
                ]
            )


__all__ = ["BudgetTooSmall", "TuneInterrupted", "require_optuna", "run_tune", "trial_config"]
