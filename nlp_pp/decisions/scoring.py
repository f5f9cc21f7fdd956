"""How each trained model is scored and decided: calibration, operating point, ensemble, paired tests.

Every *choice* here is made on the validation split -- the temperature, the threshold, the
ensemble's members and weights -- and the test split is only read to report what those choices
give. The building blocks are :mod:`.thresholds`, :mod:`.curves`, :mod:`.calibration`, :mod:`.ensemble`,
:mod:`nlp_pp.decisions.significance` (paired tests) and :mod:`nlp_pp.decisions.metrics`.

A model is represented by its logits on the validation and test splits (:class:`Scores`); for
the TF-IDF baseline and the ensemble, the log of their probabilities plays that role.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..options import ThresholdPolicy
from ..results import (
    ENSEMBLE,
    Calibration,
    Comparison,
    CrossFit,
    Evaluation,
    Reliability,
    SplitScores,
)
from .arrays import as_logits
from .calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability_bins
from .curves import curve_points, pr_auc
from .ensemble import cross_fit_ensemble_score, fit_ensemble
from .metrics import classification_metrics
from .thresholds import choose_threshold, metrics_at_threshold

log = logging.getLogger(__name__)


@dataclass
class Scores:
    """One model's logits on the validation and test splits."""

    name: str
    val: np.ndarray  # [n_val, C]
    test: np.ndarray  # [n_test, C]

    @classmethod
    def from_probs(cls, name: str, val: np.ndarray, test: np.ndarray) -> Scores:
        """Probabilities as logits (their log): softmax gives them back."""
        return cls(name, as_logits(val), as_logits(test))


@dataclass(frozen=True)
class Task:
    """What scoring needs to know about the data: truths, labels, the positive class, the policy."""

    y_val: np.ndarray
    y_test: np.ndarray
    labels: list[str]
    positive: int | None  # binary tasks only
    policy: ThresholdPolicy

    @property
    def binary(self) -> bool:
        return self.positive is not None


def softmax(logits: np.ndarray) -> np.ndarray:
    return apply_temperature(logits, 1.0)


def evaluate(scores: Scores, task: Task) -> Evaluation:
    """Validation and test metrics, the temperature and, for a binary task, the operating point.

    ``val`` and ``test`` score the argmax decisions of the uncalibrated probabilities (PR-AUC added
    for binary tasks); ``calibration`` holds the temperature fitted on validation and the expected
    calibration error on the *test* split before and after; binary tasks also get ``threshold``
    (chosen by the policy on the calibrated validation probabilities), ``test_at_threshold`` and
    ``curves`` (test precision-recall and ROC points).
    """
    p_val, p_test = softmax(scores.val), softmax(scores.test)
    val = classification_metrics(task.y_val, p_val, task.labels, task.positive)
    test = classification_metrics(task.y_test, p_test, task.labels, task.positive)
    temperature = fit_temperature(scores.val, task.y_val)
    c_val, c_test = apply_temperature(scores.val, temperature), apply_temperature(scores.test, temperature)
    calibration = Calibration(
        float(temperature),
        expected_calibration_error(p_test, task.y_test),
        expected_calibration_error(c_test, task.y_test),
    )
    val = SplitScores(accuracy=val.accuracy, macro_f1=val.macro_f1, loss=val.loss)
    if not task.binary:
        return Evaluation(val=val, test=test, calibration=calibration)
    pos = task.positive
    yv, yt = (task.y_val == pos).astype(int), (task.y_test == pos).astype(int)
    val = replace(val, pr_auc=pr_auc(yv, p_val[:, pos]))
    test = replace(test, pr_auc=pr_auc(yt, p_test[:, pos]))
    threshold = choose_threshold(yv, c_val[:, pos], task.policy)
    if not threshold.met:
        log.warning(
            "%s: threshold policy %s not met on validation: %s", scores.name, task.policy, threshold.note
        )
    return Evaluation(
        val=val,
        test=test,
        calibration=calibration,
        threshold=threshold,
        test_at_threshold=metrics_at_threshold(yt, c_test[:, pos], threshold.value),
        curves=curve_points(yt, p_test[:, pos]),
    )


def reliability(scores: Scores, task: Task, temperature: float) -> Reliability:
    """Reliability-diagram bins on the test split, before and after temperature scaling."""
    return Reliability(
        model=scores.name,
        before=reliability_bins(softmax(scores.test), task.y_test),
        after=reliability_bins(apply_temperature(scores.test, temperature), task.y_test),
    )


def calibrated(scores: Scores, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated validation and test probabilities."""
    return apply_temperature(scores.val, temperature), apply_temperature(scores.test, temperature)


@dataclass(frozen=True)
class EnsembleFit:
    """How the ensemble was built: its members, weights and honest validation score."""

    members: list[str]
    weights: list[float]
    candidates: int
    cross_fitted: CrossFit
    beats_best_single: bool


def fit_ensemble_scores(
    members: Sequence[Scores], temperatures: Sequence[float], task: Task, seed: int = 0
) -> tuple[EnsembleFit, Scores]:
    """A soft vote of the members' calibrated probabilities, members and weights chosen on validation.

    Caruana's greedy selection (:func:`.ensemble.fit_ensemble`) picks the members and weights on the
    validation split. Those weights are fitted on the data that also scores them, so the validation
    score of the ensemble reported and used for ranking is *cross-fitted*
    (:func:`.ensemble.cross_fit_ensemble_score`: fitted on one half of the validation split, scored
    on the other, both ways), and so is the best single member it is compared with.

    Returns the :class:`EnsembleFit` and the ensemble's log-probabilities.
    """
    val_probs, test_probs = zip(*(calibrated(m, t) for m, t in zip(members, temperatures)))
    ens = fit_ensemble(list(val_probs), task.y_val, score="log_loss")
    honest = cross_fit_ensemble_score(list(val_probs), task.y_val, folds=2, seed=seed, metric="macro_f1")
    scores = Scores.from_probs(
        ENSEMBLE, ens.predict_proba(list(val_probs)), ens.predict_proba(list(test_probs))
    )
    fit = EnsembleFit(
        members=[members[i].name for i in ens.members],
        weights=[float(w) for w in ens.weights],
        candidates=len(members),
        cross_fitted=CrossFit(
            metric=honest["metric"],
            folds=honest["folds"],
            ensemble=honest["ensemble"],
            best_single=honest["best_single"],
            ensemble_minus_best_single=honest["ensemble_minus_best_single"],
            in_sample_ensemble=honest["in_sample_ensemble"],
        ),
        beats_best_single=bool(honest["ensemble_better"]),
    )
    return fit, scores


def paired_comparisons(
    task: Task, pairs: Sequence[tuple[str, str, str, np.ndarray, np.ndarray]], seed: int = 0
) -> list[Comparison]:
    """Paired bootstrap of the test macro-F1 difference for each ``(kind, a, b, pred_a, pred_b)``.

    ``pred_a``/``pred_b`` are test decisions (argmax), one row per seed; rows of two configurations
    are paired seed by seed, and a single row (the baseline, the ensemble) is compared with each
    seed of the other. Each result carries the ``verdict`` of its interval.
    """
    from .significance import compare, verdict

    out = []
    for kind, a, b, pred_a, pred_b in pairs:
        c = compare(
            task.y_test,
            pred_a,
            pred_b,
            a=a,
            b=b,
            metric="macro_f1",
            method="bootstrap",
            n_resamples=1000,
            seed=seed,
            n_classes=len(task.labels),
        )
        out.append(Comparison(kind=kind, **c, verdict=verdict(c)))
    return out
