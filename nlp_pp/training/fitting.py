"""One comparison's parts: what every run shares (:class:`Comparison`) and how one configuration, the
baseline and the ensemble are fitted, scored and saved.

:func:`fit_model` is the one training step: the comparison's runs (:func:`train_one`), self-training's
rounds, the distilled student and each tuning trial (:func:`validation_score`) all build and fit their
network through it. :mod:`nlp_pp.training.experiment` orchestrates the whole comparison.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from .. import models
from ..config import ExperimentConfig
from ..decisions.metrics import misclassified
from ..decisions.scoring import (
    Scores,
    Task,
    evaluate,
    fit_ensemble_scores,
    softmax,
)
from ..results import (
    BASELINE,
    ENSEMBLE,
    BaselineResult,
    EnsembleResult,
    Epoch,
    RunResult,
)
from ..vectors.batching import make_dataloader
from ..vectors.tokenstore import EncodedArrays
from ..vectors.vocab import Vocab
from . import distributed
from .dataset import Prepared
from .rundir import BASELINE_FILE, RunDir, run_key
from .stages import stage
from .trainer import Trainer, predict_logits, set_seed

log = logging.getLogger(__name__)


@dataclass
class Comparison:
    """What every model run of one comparison shares."""

    cfg: ExperimentConfig
    prep: Prepared
    vocab: Vocab
    seqs: dict[str, Sequence[Sequence[int]]]  # encoded arrays (or lists of indices)
    matrix: np.ndarray | None  # FastText embedding matrix, when "fasttext" is among the inits
    device: torch.device
    run: RunDir
    task: Task
    class_weight: tuple[float, ...] | None


# --------------------------------------------------------------------------- parts


def fit_baseline(
    cfg: ExperimentConfig, prep: Prepared, run: RunDir, task: Task, class_weight: tuple[float, ...] | None
) -> BaselineResult:
    """The TF-IDF + logistic-regression baseline on the cleaned texts: saved, scored and decided like a
    run. It reads the raw texts only, so a run fits it before the vocabulary and the encoded ids."""
    from .baseline import TfidfBaseline, baseline_rows

    clean = cfg.preprocess.cleaning
    t0 = time.perf_counter()
    weights = None if class_weight is None else dict(enumerate(class_weight))
    texts, y, fitted_on = prep.texts["train"], prep.y["train"], None
    pick = baseline_rows(np.arange(len(texts)), cfg.baseline_max_rows, cfg.split_seed)
    if len(pick) < len(texts):
        log.info("baseline: fitted on %d of the %d training texts (--baseline-max-rows)", len(pick), len(y))
        texts, y, fitted_on = [texts[i] for i in pick], y[pick], len(pick)
    model = TfidfBaseline.fit(
        [clean(t) for t in texts],
        y,
        num_classes=len(prep.labels),
        seed=cfg.split_seed,
        class_weight=weights,
    )
    model.save(run.path("models", BASELINE_FILE))
    probs = {s: model.predict_proba(prep.texts[s], clean) for s in ("val", "test")}
    scores = Scores.from_probs(BASELINE, probs["val"], probs["test"])
    run.save_predictions(BASELINE, scores.val, scores.test)
    return BaselineResult(
        name=BASELINE,
        train_seconds=time.perf_counter() - t0,
        fitted_on=fitted_on,
        **evaluate(scores, task).parts(),
        misclassified=misclassified(prep.texts["test"], prep.y["test"], probs["test"], prep.labels),
    )


def fit_model(
    c: Comparison,
    model: str,
    init: str,
    seed: int,
    *,
    on_epoch=None,
    train: tuple[Sequence[Sequence[int]], np.ndarray] | None = None,
    desc: str | None = None,
):
    """Build and train one network on the training split (or on ``train``: sequences and hard or soft
    labels), early-stopped on the validation split; returns ``(net, FitResult)``. Nothing is saved and
    the test split is not read (``on_epoch``: see :meth:`Trainer.fit`). Under torchrun each rank trains
    on its share of the batches.

    Words only the pretrained vectors know are ``<UNK>`` to a random-init model while it trains, as
    they are after (their rows are set to the trained ``<UNK>`` row).
    """
    cfg, prep = c.cfg, c.prep
    set_seed(seed)
    net = models.build_model(
        cfg.model_config(model, len(c.vocab), len(prep.labels), init),
        c.matrix if init == "fasttext" else None,
        tokens=c.vocab.itos,  # the families that read spelling build their tables from it
    )
    x_train, y_train = train if train is not None else (c.seqs["train"], prep.y["train"])
    x_val = c.seqs["val"]
    beyond = init == "random" and c.vocab.training_size < len(c.vocab)
    if beyond:
        x_train, x_val = (beyond_as_unknown(x, c.vocab.training_size) for x in (x_train, x_val))
    world = distributed.current()
    if world.active:  # this rank's share of the batches (torchrun)
        train_loader = distributed.train_loader(x_train, y_train, cfg.batch_size, seed=seed)
    else:
        train_loader = make_dataloader(x_train, y_train, cfg.batch_size, shuffle=True, seed=seed)
    val_loader = make_dataloader(x_val, prep.y["val"], cfg.batch_size * 4, shuffle=False)
    with stage("epoch"):
        fit = Trainer(net, cfg.train_config(c.class_weight, init), c.device).fit(
            train_loader, val_loader, desc=desc or run_key(model, init, seed), on_epoch=on_epoch
        )
    if beyond:
        untrained_as_unknown(net, c.vocab.training_size)
    return net, fit


def validation_score(c: Comparison, model: str, init: str, seed: int, *, on_epoch=None) -> tuple[float, int]:
    """Train one configuration and return its validation macro-F1 (argmax decisions, as a run's
    ``val.macro_f1``) and the epochs run: what a tuner optimises. No test prediction is made."""
    from ..decisions.metrics import classification_metrics

    net, fit = fit_model(c, model, init, seed, on_epoch=on_epoch)
    val = predict_logits(net, c.seqs["val"], c.device, c.cfg.batch_size * 4)
    scores = classification_metrics(c.prep.y["val"], softmax(val), c.prep.labels, c.prep.positive)
    return float(scores.macro_f1), len(fit.history)


def train_one(
    c: Comparison,
    model: str,
    init: str,
    seed: int,
    extra: tuple[Sequence[Sequence[int]], np.ndarray] | None = None,
    tag: str = "",
) -> RunResult | None:
    """Train one model run, save its checkpoint and predictions, and return its result (None on a
    torchrun rank other than 0, which only trains its share).

    ``extra``: more training rows (encoded sequences and labels: self-training's pseudo-labels);
    ``tag`` is then appended to the run's init (``fasttext_self1``) so it is a configuration of its own.
    """
    prep = c.prep
    train = None
    if extra is not None:
        train = (
            concat_sequences(c.seqs["train"], extra[0]),
            np.concatenate([prep.y["train"], np.asarray(extra[1])]),
        )
    key = run_key(model, init + tag, seed)
    net, fit = fit_model(c, model, init, seed, train=train, desc=key)
    if not distributed.current().main:
        return None  # rank 0 scores, saves and reports the run
    return scored_run(c, key, model, init + tag, seed, net, fit)


def scored_run(
    c: Comparison,
    key: str,
    model: str,
    init: str,
    seed: int,
    net,
    fit,
    result_class: type[RunResult] = RunResult,
    extra_seconds: float = 0.0,
    **more,
) -> RunResult:
    """Score a fitted network on the validation and test splits, save its predictions and checkpoint
    under ``key`` and return its result (a ``result_class`` with ``more`` fields; ``extra_seconds``
    is added to its training time)."""
    cfg, prep = c.cfg, c.prep
    with stage("predict"):
        scores = Scores(
            key, *(predict_logits(net, c.seqs[s], c.device, cfg.batch_size * 4) for s in ("val", "test"))
        )
    c.run.save_predictions(key, scores.val, scores.test)
    evaluation = evaluate(scores, c.task)
    c.run.save_checkpoint(
        key,
        {
            "model": net.checkpoint(),
            "labels": prep.labels,
            "best_epoch": fit.best_epoch,
            "temperature": evaluation.calibration.temperature,
            "threshold": None if evaluation.threshold is None else evaluation.threshold.to_dict(),
        },
    )
    return result_class(
        model=model,
        init=init,
        seed=seed,
        best_epoch=fit.best_epoch,
        epochs_run=len(fit.history),
        params=int(sum(p.numel() for p in net.parameters())),
        train_seconds=fit.seconds + extra_seconds,
        **evaluation.parts(),
        history=[Epoch(**h) for h in fit.history],
        misclassified=misclassified(prep.texts["test"], prep.y["test"], softmax(scores.test), prep.labels),
        **more,
    )


def beyond_as_unknown(seqs: Sequence[Sequence[int]], first: int) -> Sequence[Sequence[int]]:
    """``seqs`` with every id ``>= first`` (a word only the pretrained vectors know) replaced by ``<UNK>``
    (encoded arrays stay arrays)."""
    from ..vectors.vocab import UNK_IDX

    if isinstance(seqs, EncodedArrays):
        return seqs.clipped(first, UNK_IDX)
    return [[i if i < first else UNK_IDX for i in seq] for seq in seqs]


def concat_sequences(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]]) -> Sequence[Sequence[int]]:
    """The rows of ``a`` then ``b``: encoded arrays when either is one, else a list."""
    if isinstance(a, EncodedArrays) or isinstance(b, EncodedArrays):
        return EncodedArrays.concat([a, b])
    return list(a) + list(b)


def untrained_as_unknown(net, first: int) -> None:
    """Entries ``first..`` of a randomly initialised model (words only the pretrained vectors know, never
    seen in training) read as the trained ``<UNK>``: its embedding row, and its spelling for the families
    that read one (as in training, :func:`beyond_as_unknown`): without vectors, such a word is unknown."""
    from ..vectors.vocab import UNK_IDX

    net.as_unknown(first, UNK_IDX)


def fit_ensemble_run(c: Comparison, results: list[RunResult | BaselineResult]) -> EnsembleResult | None:
    """The soft-vote ensemble of every trained run and the baseline (None with fewer than two)."""
    if len(results) < 2:
        return None
    members = [Scores(r.key, *c.run.load_predictions(r.key)) for r in results]
    temperatures = [r.calibration.temperature for r in results]
    fit, scores = fit_ensemble_scores(
        members, temperatures, c.task, seed=c.cfg.split_seed, margin=c.cfg.ensemble_margin
    )
    c.run.save_predictions(ENSEMBLE, scores.val, scores.test)
    evaluation = evaluate(scores, c.task)
    # the ensemble's validation score is cross-fitted (the in-sample one would flatter it): the vote's
    # when it is kept, else that of picking the best single member, which it then is
    cf = fit.cross_fitted
    val = replace(
        evaluation.val,
        macro_f1=cf.ensemble if fit.beats_best_single else cf.best_single,  # None: too few to cross-fit
        macro_f1_in_sample=evaluation.val.macro_f1,
    )
    if not fit.beats_best_single:
        log.info(
            "ensemble: the vote does not beat the best single model on validation (cross-fitted macro-F1 "
            "%s vs %s, standard error %s): the ensemble is %s alone",
            *(f"{x:.4f}" if x is not None else "n/a" for x in (cf.ensemble, cf.best_single, cf.std_error)),
            fit.members[0],
        )
    return EnsembleResult(
        name=ENSEMBLE,
        members=fit.members,
        weights=fit.weights,
        candidates=fit.candidates,
        cross_fitted=fit.cross_fitted,
        beats_best_single=fit.beats_best_single,
        method=fit.method,
        **{**evaluation.parts(), "val": val},
        misclassified=misclassified(
            c.prep.texts["test"], c.prep.y["test"], softmax(scores.test), c.prep.labels
        ),
    )
