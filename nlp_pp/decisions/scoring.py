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

from ..errors import DataError
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
    method: str  # "bagged greedy", or "best single" when the vote did not earn its place


ENSEMBLE_BAGS = 20  # bootstrap resamples of bagged greedy selection
ENSEMBLE_MIN_GAIN = 1e-3  # log-loss gain (nats) below which greedy selection stops adding members


def fit_ensemble_scores(
    members: Sequence[Scores], temperatures: Sequence[float], task: Task, seed: int = 0, margin: float = 0.0
) -> tuple[EnsembleFit, Scores]:
    """A soft vote of the members' calibrated probabilities, members and weights chosen on validation.

    Bagged greedy selection (:func:`.ensemble.fit_bagged_ensemble`: Caruana's greedy selection with a
    minimum gain, on bootstrap resamples of the validation rows, weights averaged) picks the members
    and weights. Whether the vote is worth having is decided by cross-fitting
    (:func:`.ensemble.cross_fit_ensemble`: 5 folds, twice, temperatures and weights fitted on the
    fitting part only, scored on the held-out part): the vote is kept only when its cross-fitted
    macro-F1 beats that of picking the best single member by more than ``margin`` plus one standard
    error. Otherwise the "ensemble" is that best single member alone (weight 1), so it is never worse
    than its best member on validation and a gain within the noise never makes it the chosen model.

    Returns the :class:`EnsembleFit` and the ensemble's log-probabilities.
    """
    from .ensemble import cross_fit_ensemble, fit_bagged_ensemble, score_probs

    val_probs, test_probs = zip(*(calibrated(m, t) for m, t in zip(members, temperatures)))
    ens = fit_bagged_ensemble(
        list(val_probs), task.y_val, bags=ENSEMBLE_BAGS, min_gain=ENSEMBLE_MIN_GAIN, seed=seed
    )
    try:
        honest = cross_fit_ensemble(
            [m.val for m in members],
            task.y_val,
            folds=5,
            repeats=2,
            seed=seed,
            metric="macro_f1",
            bags=ENSEMBLE_BAGS,
            min_gain=ENSEMBLE_MIN_GAIN,
        )
    except DataError as e:  # a validation split too small to cross-fit cannot show a gain
        log.warning("ensemble: %s; the vote is not kept", e)
        honest = dict.fromkeys(("ensemble", "best_single", "ensemble_minus_best_single", "std_error"))
        honest.update(metric="macro_f1", folds=0, repeats=0)
    gain = honest["ensemble_minus_best_single"]
    beats = gain is not None and bool(gain - honest["std_error"] > margin)
    if beats:
        used, weights, method = list(ens.members), list(ens.weights), "bagged greedy"
    else:
        f1 = [score_probs(task.y_val, p, "macro_f1") for p in val_probs]
        acc = [score_probs(task.y_val, p, "accuracy") for p in val_probs]
        best = max(range(len(members)), key=lambda i: (f1[i], acc[i], -i))
        used, weights, method = [best], [1.0], "best single"
    w = np.zeros(len(members))
    w[used] = weights
    scores = Scores.from_probs(
        ENSEMBLE, np.tensordot(w, np.stack(val_probs), axes=1), np.tensordot(w, np.stack(test_probs), axes=1)
    )
    fit = EnsembleFit(
        members=[members[i].name for i in used],
        weights=[float(x) for x in weights],
        candidates=len(members),
        cross_fitted=CrossFit(
            metric=honest["metric"],
            folds=honest["folds"],
            repeats=honest["repeats"],
            ensemble=honest["ensemble"],
            best_single=honest["best_single"],
            ensemble_minus_best_single=gain,
            std_error=honest["std_error"],
            margin=margin,
            in_sample_ensemble=score_probs(task.y_val, ens.predict_proba(list(val_probs)), "macro_f1"),
            out_of_fold_temperatures=True,
        ),
        beats_best_single=beats,
        method=method,
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
