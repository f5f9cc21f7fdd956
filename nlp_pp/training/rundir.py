"""The run directory: its life (create, resume, save results and checkpoints, finish) and its reading.

One module owns the layout, so the experiment that writes a run and ``predict`` / ``export`` that
read it cannot disagree::

    <out>/<name>.partial/        while the run works; created exclusively, so two runs never share one
        config.json              {"format": RUN_FORMAT, "experiment": ExperimentConfig.to_dict()}
        run.json                 what reading needs: labels, positive label, context length, preprocessing
        vocab.json               the vocabulary (nlp_pp.vectors.vocab)
        fasttext/vectors.npz     the FastText vectors (nlp_pp.vectors.storage: arrays only, no pickle)
        results/<key>.json       one finished model run each (key: ``lstm-fasttext-seed0``), baseline.json
        models/<key>.pt          its checkpoint (weights only), baseline.npz (the TF-IDF model as arrays)
    <out>/<name>/                the same, renamed once finished, plus metrics.json and the report

Everything a run directory holds is read without executing code: JSON, ``torch.load(weights_only=True)``
and ``numpy.load(allow_pickle=False)``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import RunError
from ..files import atomic_write, read_json, write_json
from ..results import (
    BASELINE,
    DISTILLED,
    ENSEMBLE,
    BaselineResult,
    DistilledResult,
    EnsembleResult,
    ModelResult,
    RunResult,
)

log = logging.getLogger(__name__)

RUN_FORMAT = "nlp_pp.run/1"
CHECKPOINT_FORMAT = "nlp_pp.checkpoint/1"
PARTIAL = ".partial"
BASELINE_FILE = "baseline.npz"  # models/baseline.npz
STOPWORDS_FILE = "stopwords.txt"  # a run's or an export's own copy of a --stopwords FILE list
_KEY_RE = re.compile(r"^[a-z0-9_]+-[a-z0-9_]+-seed\d+$")


def run_key(model: str, init: str, seed: int) -> str:
    """File stem of one model run: ``lstm-fasttext-seed0``."""
    return f"{model}-{init}-seed{seed}"


def result_class(key: str) -> type[RunResult] | type[BaselineResult] | type[EnsembleResult]:
    """The result type saved under ``key``: the baseline's, the ensemble's, the student's or a model run's."""
    return {BASELINE: BaselineResult, ENSEMBLE: EnsembleResult, DISTILLED: DistilledResult}.get(
        key, RunResult
    )


# --------------------------------------------------------------------------- a run at work


def default_name(data: str) -> str:
    """``<data file stem>-<date>-<time>``."""
    stem = re.sub(r"[^\w.-]+", "_", Path(str(data).split("?")[0]).stem)[:40] or "run"
    return f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _prepare_parent(out: Path) -> None:
    if out.is_symlink() and not out.exists():
        raise RunError(f"--out {out} is a dangling symbolic link; remove it or choose another --out")
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out} is a file, not a directory; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"cannot create the output directory {out}: {e.strerror or e}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunError(f"cannot write in the output directory {out}; choose another --out")


class RunDir:
    """A run directory at work (``<name>.partial``), from creation or resumption to :meth:`finish`."""

    def __init__(self, work: Path, final: Path, created: bool):
        self.work, self.final, self.created = work, final, created

    # -- life ----------------------------------------------------------------------------------

    @classmethod
    def create(cls, out: str | Path, name: str, config: dict) -> RunDir:
        """Create ``out/name.partial`` exclusively (``name-2``, ``-3``... when taken) and write its config."""
        out = Path(out)
        _prepare_parent(out)
        for i in range(1, 10_000):
            stem = name if i == 1 else f"{name}-{i}"
            final, work = out / stem, out / f"{stem}{PARTIAL}"
            if os.path.lexists(final):
                continue
            try:
                work.mkdir()  # atomic: exactly one of two racing runs gets it
            except FileExistsError:
                continue
            except OSError as e:
                raise RunError(f"cannot create the run directory {work}: {e.strerror or e}") from None
            run = cls(work, final, created=True)
            try:
                (work / "models").mkdir()
                (work / "results").mkdir()
                write_json(work / "config.json", {"format": RUN_FORMAT, "experiment": config})
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
            return run
        raise RunError(f"too many runs named {name} in {out}; choose another --name")

    @classmethod
    def resume(cls, path: str | Path) -> tuple[RunDir, dict]:
        """Reopen the ``.partial`` directory of an interrupted run; returns it and its saved config dict."""
        work = Path(path)
        if not work.is_dir():
            raise RunError(f"cannot resume {work}: no such run directory")
        if (work / "metrics.json").exists():
            raise RunError(f"{work} is a finished run; nothing to resume")
        saved = read_json(work / "config.json")
        if (
            not isinstance(saved, dict)
            or saved.get("format") != RUN_FORMAT
            or not isinstance(saved.get("experiment"), dict)
        ):
            found = saved.get("format") if isinstance(saved, dict) else None
            raise RunError(f"{work} was written by an incompatible nlp_pp version ({found!r})")
        stem = work.name.removesuffix(PARTIAL)
        final = work.parent / stem
        i = 1
        while os.path.lexists(final):
            i += 1
            final = work.parent / f"{stem}-{i}"
        return cls(work, final, created=False), saved["experiment"]

    def discard_if_empty(self) -> bool:
        """Remove the work directory if this process created it and no result was kept; True if removed."""
        if self.created and self.work.is_dir() and not self.result_keys():
            shutil.rmtree(self.work, ignore_errors=True)
            return True
        return False

    def finish(self) -> Path:
        """Rename the finished work directory into place (never over an existing one)."""
        final = self.final
        i = 1
        while os.path.lexists(final):
            i += 1
            final = final.with_name(f"{self.final.name}-{i}")
        os.rename(self.work, final)
        self.final = final
        return final

    # -- contents ------------------------------------------------------------------------------

    def path(self, *parts: str) -> Path:
        return self.work.joinpath(*parts)

    def discard_model(self, key: str) -> None:
        """Delete one model run's checkpoint, predictions and result (a self-training round not kept)."""
        for sub, suffix in (("models", ".pt"), ("predictions", ".npz"), ("results", ".json")):
            (self.work / sub / f"{key}{suffix}").unlink(missing_ok=True)

    def result_keys(self) -> list[str]:
        return sorted(p.stem for p in (self.work / "results").glob("*.json")) if self.work.is_dir() else []

    def load_result(self, key: str) -> ModelResult | None:
        """The result saved under ``key`` (``None`` when there is none yet)."""
        path = self.work / "results" / f"{key}.json"
        return read_result(self.work, key) if path.exists() else None

    def save_result(self, result: ModelResult) -> None:
        """Save a finished model run, the baseline or the ensemble under its key."""
        write_json(self.work / "results" / f"{result.key}.json", result.to_dict())

    def save_predictions(self, key: str, val, test) -> None:
        """A model's validation and test logits (arrays only), for the ensemble and the paired tests."""
        import numpy as np

        (self.work / "predictions").mkdir(exist_ok=True)
        with atomic_write(self.work / "predictions" / f"{key}.npz", "wb") as f:
            np.savez(f, val=np.asarray(val, dtype=np.float32), test=np.asarray(test, dtype=np.float32))

    def load_predictions(self, key: str):
        """``(val, test)`` logits saved by :meth:`save_predictions`."""
        return read_predictions(self.work, key)

    def save_checkpoint(self, key: str, checkpoint: dict) -> Path:
        """Save a model checkpoint atomically (a full disk leaves no truncated file)."""
        import torch

        path = self.work / "models" / f"{key}.pt"
        with atomic_write(path, "wb") as f:
            torch.save({"format": CHECKPOINT_FORMAT, **checkpoint}, f)
        return path


HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_f1", "lr", "seconds"]


def write_history(path: Path, runs: list[RunResult]) -> None:
    """``history.csv``: one row per model run and epoch."""
    import csv

    with atomic_write(path) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model", "init", "seed", *HISTORY_COLUMNS])
        for r in runs:
            for h in r.history:
                row = [getattr(h, c) for c in HISTORY_COLUMNS]
                w.writerow([r.model, r.init, r.seed, *("" if v is None else v for v in row)])


# --------------------------------------------------------------------------- reading a finished run


@dataclass(frozen=True)
class RunInfo:
    """``run.json``: what reading a run needs besides the vocabulary and the weights."""

    labels: list[str]
    positive_label: str | None
    context_length: int
    truncating: str
    preprocess: dict

    @classmethod
    def read(cls, run: Path) -> RunInfo:
        data = read_json(run / "run.json")
        try:
            labels = [str(x) for x in data["labels"]]
            info = cls(
                labels,
                data.get("positive_label"),
                int(data["context_length"]),
                str(data.get("truncating", "post")),
                dict(data["preprocess"]),
            )
        except (KeyError, TypeError, ValueError):
            raise RunError(f"{run}/run.json is corrupt or from an incompatible version") from None
        if (
            len(labels) < 2
            or len(set(labels)) != len(labels)
            or info.context_length < 1
            or info.truncating not in ("pre", "post")
            or (info.positive_label is not None and info.positive_label not in labels)
        ):
            raise RunError(f"{run}/run.json is corrupt (labels, context length or truncation out of range)")
        return info


def saved_preprocessing(preprocess, directory: Path) -> dict:
    """``preprocess.to_dict()`` for run.json or a manifest, a stopword *file* copied into ``directory``.

    The copy travels with the directory, so predictions do not change when the original file is
    edited or deleted, and loading never reads a file outside the directory.
    """
    from ..text.stopwords import resolve_stopwords

    saved = preprocess.to_dict()
    if preprocess.stopwords not in (None, "default"):
        words = sorted(resolve_stopwords(preprocess.stopwords))
        (directory / STOPWORDS_FILE).write_text("".join(w + "\n" for w in words), encoding="utf-8")
        saved["stopwords"] = STOPWORDS_FILE
    return saved


def read_preprocessing(saved: dict, directory: Path, where: str):
    """The :class:`~nlp_pp.text.preprocess.PreprocessConfig` of run.json or a manifest: a stopword list
    is ``default``, none, or the directory's own copy; any other path is refused."""
    from ..text.preprocess import PreprocessConfig

    stop = saved.get("stopwords") if isinstance(saved, dict) else None
    if stop not in (None, "default", STOPWORDS_FILE):
        raise RunError(
            f"{where} names a stopword list outside its directory ({stop!r}); only {STOPWORDS_FILE} inside "
            "it is read (runs made before nlp_pp 0.3 with --stopwords FILE: copy the list there as "
            f"{STOPWORDS_FILE} and set preprocess.stopwords to it, or train again)"
        )
    if stop == STOPWORDS_FILE:
        path = directory / STOPWORDS_FILE
        if not path.is_file() or path.is_symlink():
            raise RunError(f"{where} needs {path}, which is missing: the directory is incomplete")
        saved = {**saved, "stopwords": str(path)}
    try:
        return PreprocessConfig.from_saved(saved)
    except Exception:
        raise RunError(f"{where} has preprocessing options this version cannot read") from None


def open_run(path: str | Path) -> Path:
    """A run directory that exists and has ``run.json``; a clear :class:`RunError` otherwise."""
    run = Path(path)
    if not run.is_dir():
        raise RunError(f"run directory not found: {run}; give a directory under runs/ made by pipeline.py")
    if not (run / "run.json").is_file():
        raise RunError(f"{run} is not an nlp_pp run directory (run.json is missing)")
    return run


def model_file(run: Path, key: str) -> Path:
    """The checkpoint of model run ``key`` inside ``run`` (keys are plain names: no paths allowed)."""
    if not (_KEY_RE.match(key) or key == DISTILLED):
        raise RunError(f"model name {key!r} is not a saved model name such as lstm-fasttext-seed0")
    path = run / "models" / f"{key}.pt"
    if not path.is_file():
        have = ", ".join(saved_models(run)) or "none"
        raise RunError(f"no saved model {key} in {run}; saved models: {have}")
    return path


def saved_models(run: Path) -> list[str]:
    """Keys of the model checkpoints saved in ``run``."""
    return sorted(
        p.stem for p in (run / "models").glob("*.pt") if _KEY_RE.match(p.stem) or p.stem == DISTILLED
    )


def read_result(run: Path, key: str) -> ModelResult:
    """The typed result ``results/<key>.json`` of a run (checked: a wrong value is a RunError)."""
    path = run / "results" / f"{key}.json"
    return result_class(key).from_dict(read_json(path), where=str(path))


def read_predictions(run: Path, key: str):
    """``(val, test)`` logits of model ``key`` (``numpy.load`` without pickle)."""
    import numpy as np

    path = run / "predictions" / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            val, test = z["val"], z["test"]
    except FileNotFoundError:
        raise RunError(
            f"the predictions of {key} are missing in {run}: not a complete run directory"
        ) from None
    except Exception as e:  # zip, format or key errors of a damaged file
        raise RunError(f"cannot read {path} ({e.__class__.__name__}): corrupt") from None
    if val.ndim != 2 or test.ndim != 2 or val.shape[1] != test.shape[1]:
        raise RunError(f"{path} is corrupt (unexpected array shapes)")
    return val, test


def read_checkpoint(path: Path, check: Callable[[dict], None] | None = None) -> dict:
    """Load a checkpoint with ``weights_only=True`` (no code runs) and check its format."""
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle / zip errors of a damaged or crafted file
        raise RunError(
            f"cannot read model file {path} ({e.__class__.__name__}): corrupt or incompatible"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise RunError(
            f"model file {path} has format {found!r}, this nlp_pp reads {CHECKPOINT_FORMAT!r}; "
            "retrain with this version"
        )
    if check is not None:
        check(ckpt)
    return ckpt
