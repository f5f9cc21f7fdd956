"""Distillation: the ensemble's accuracy at one model's cost (``--distill``).

The teacher is the run's ensemble (:class:`~nlp_pp.results.EnsembleResult`): the weighted mean of its
members' calibrated probabilities, calibrated again with the ensemble's temperature -- exactly what
``predict --model ensemble`` gives. The student is one network (``--distill-model``, the run's sizes)
trained with a soft cross-entropy on

* the **unlabelled texts** (``--unlabeled``, streamed, at most ``--distill-max-unlabeled``, every
  text of the training, validation and test splits left out): the teacher's probabilities alone.
  The teacher never saw these texts, so its probabilities there are honest, out-of-sample ones --
  the "dark knowledge" distillation transfers;
* the **labelled training split**: ``alpha`` x the teacher's probabilities + ``(1 - alpha)`` x the true
  label. By default the teacher's probabilities here are *in-sample* for its members (they were
  trained on these texts), so they are overconfident and mostly repeat the label; mixing in the
  label keeps the student anchored to the truth, and the unlabelled texts carry the rest. With
  ``--distill-folds K`` they are *out-of-fold* instead (:func:`out_of_fold`: every member retrained
  on K-1 folds scores the K-th), honest at the price of K more trainings of each member: the choice
  when there is no unlabelled text.

Without unlabelled text the student learns from the training split only, and distillation is little
more than label smoothing by an overconfident teacher: the report says how many texts of each kind it
saw. It is early-stopped and calibrated on the validation split like any run, and its checkpoint is
saved as ``models/distilled.pt``: ``predict --model distilled`` and ``export --model distilled`` use it
like any model. Its validation score is ranked with the other rows' for the best model; the teacher it
learned from was itself chosen on validation (members, weights, temperature), so that score leans a
little to the optimistic side, as any configuration's chosen on validation does.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ..decisions.arrays import as_logits
from ..decisions.calibration import apply_temperature
from ..results import DISTILLED, DistilledResult, EnsembleResult
from ..text.preprocess import preprocess
from ..text.stream import iter_new_texts
from ..vectors.batching import encode_corpus
from ..vectors.tokenstore import EncodedArrays, take_rows
from .baseline import baseline_rows
from .trainer import predict_logits

log = logging.getLogger(__name__)

CHUNK = 5000  # unlabelled texts preprocessed and scored at a time


class Teacher:
    """The ensemble of a run as a function of (texts, token ids) -> calibrated probabilities."""

    def __init__(self, reader, ensemble: EnsembleResult):
        total = float(sum(ensemble.weights))
        self.parts = [(reader.part(m), w / total) for m, w in zip(ensemble.members, ensemble.weights)]
        self.temperature = ensemble.calibration.temperature

    def proba(self, texts: list[str], seqs: list[list[int]]) -> np.ndarray:
        total = 0.0
        for part, weight in self.parts:
            if part.neural is not None:
                logits = part.neural.logits_of_ids(seqs)
            else:
                logits = part.scorer(texts)
            total = total + weight * apply_temperature(logits, part.calibration.temperature)
        return apply_temperature(as_logits(np.asarray(total)), self.temperature).astype(np.float32)


def out_of_fold(c, ensemble: EnsembleResult, teacher: Teacher, folds: int) -> np.ndarray:
    """The ensemble's probabilities on the training split, each text scored by members that did not see it.

    The training split is cut into ``folds`` random folds; every member (each neural run with its
    model, init and seed, and the TF-IDF baseline) is trained again on the other folds and scores the
    held-out one. The members' temperatures and the ensemble's weights and temperature are the ones
    chosen on validation for the full members.
    """
    from ..results import BASELINE
    from .baseline import TfidfBaseline
    from .fitting import fit_model

    cfg, prep = c.cfg, c.prep
    texts, y, seqs = prep.texts["train"], prep.y["train"], c.seqs["train"]
    n, k = len(texts), len(prep.labels)
    fold = np.random.default_rng(cfg.split_seed).permutation(np.arange(n) % folds)
    clean = cfg.preprocess.cleaning
    total = np.zeros((n, k))
    for (part, weight), name in zip(teacher.parts, ensemble.members):
        logits = np.zeros((n, k), dtype=np.float32)
        for f in range(folds):
            train, held = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            if name == BASELINE:
                train = baseline_rows(
                    train, cfg.baseline_max_rows, cfg.split_seed
                )  # as the member was fitted
                model = TfidfBaseline.fit(
                    [clean(texts[i]) for i in train],
                    y[train],
                    num_classes=k,
                    seed=cfg.split_seed,
                    class_weight=None if c.class_weight is None else dict(enumerate(c.class_weight)),
                )
                logits[held] = as_logits(model.predict_proba([clean(texts[i]) for i in held]))
                continue
            run = c.run.load_result(name)
            net, _ = fit_model(
                c,
                run.model,
                run.init,
                run.seed,
                train=(take_rows(seqs, train), y[train]),
                desc=f"{name} fold {f + 1}/{folds}",
            )
            logits[held] = predict_logits(net, take_rows(seqs, held), c.device, cfg.batch_size * 4)
        total += weight * apply_temperature(logits, part.calibration.temperature)
        log.info("distillation: out-of-fold probabilities of %s (%d folds)", name, folds)
    return apply_temperature(as_logits(total), teacher.temperature).astype(np.float32)


def unlabeled_batches(c, limit: int):
    """``(texts, token ids)`` chunks of the ``--unlabeled`` files: no labelled text of any split, no
    repeats, no text without tokens, at most ``limit`` texts."""
    cfg, prep = c.cfg, c.prep
    labelled = prep.texts["train"] + prep.texts["val"] + prep.texts["test"]
    kept = 0
    for texts in iter_new_texts(cfg.unlabeled, cfg.text_col, labelled, chunk_size=CHUNK):
        tokens = preprocess(texts, cfg.preprocess, n_jobs=cfg.n_jobs)
        pairs = [(t, tok) for t, tok in zip(texts, tokens) if tok][: limit - kept]
        if pairs:
            texts, tokens = (list(x) for x in zip(*pairs))
            kept += len(texts)
            yield texts, encode_corpus(tokens, c.vocab, prep.context_length, cfg.truncating)
        if kept >= limit:
            return


def distill_run(c, ensemble: EnsembleResult) -> DistilledResult:
    """Train, save and score the student of ``ensemble`` (see the module's docstring)."""
    from ..deploy.classifier import RunReader
    from .fitting import fit_model, scored_run

    cfg, prep = c.cfg, c.prep
    t0 = time.perf_counter()
    teacher = Teacher(RunReader(c.run.work, c.device), ensemble)
    k = len(prep.labels)
    truth = np.eye(k, dtype=np.float32)[prep.y["train"]]
    if cfg.distill_folds >= 2:
        soft = out_of_fold(c, ensemble, teacher, cfg.distill_folds)
    else:
        soft = teacher.proba(prep.texts["train"], c.seqs["train"])
    targets = [cfg.distill_alpha * soft + (1 - cfg.distill_alpha) * truth]
    parts = [c.seqs["train"]]
    n_unlabeled = 0
    if cfg.unlabeled and cfg.distill_max_unlabeled > 0:
        for texts, ids in unlabeled_batches(c, cfg.distill_max_unlabeled):
            targets.append(teacher.proba(texts, ids))
            parts.append(ids)
            n_unlabeled += len(ids)
    seqs = EncodedArrays.concat(parts)  # flat arrays: no tensor per text, however many texts
    teacher_seconds = time.perf_counter() - t0
    log.info(
        "distillation: the ensemble's probabilities on %d training and %d unlabelled texts (%.0fs)",
        len(c.seqs["train"]),
        n_unlabeled,
        teacher_seconds,
    )
    init = "fasttext" if c.matrix is not None else "random"
    seed = cfg.seeds[0]
    net, fit = fit_model(
        c, cfg.distill_model, init, seed, train=(seqs, np.concatenate(targets)), desc=DISTILLED
    )
    return scored_run(
        c,
        DISTILLED,
        cfg.distill_model,
        init,
        seed,
        net,
        fit,
        DistilledResult,
        teacher_seconds,
        teacher=list(ensemble.members),
        labelled_texts=len(c.seqs["train"]),
        unlabeled_texts=n_unlabeled,
        alpha=cfg.distill_alpha,
        folds=cfg.distill_folds,
    )
