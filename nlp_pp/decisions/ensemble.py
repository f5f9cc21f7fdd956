"""Soft-vote ensembles (Caruana et al., 2004) and an honest, cross-fitted estimate of their gain."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import KFold, StratifiedKFold

from ..errors import ConfigError, DataError
from .arrays import EPS, TOL, class_indices, floored_probs, prob_matrix
from .significance import macro_f1_from_confusion

logger = logging.getLogger(__name__)


ENSEMBLE_SCORES = ("log_loss", "accuracy", "macro_f1")


def _member_stack(member_probs: Sequence[np.ndarray]) -> np.ndarray:
    """``(m, n, k)`` stack of the members' probabilities (each ``(n, k)``, or ``(n,)`` binary)."""
    if len(member_probs) == 0:
        raise DataError("an ensemble needs at least one member")
    mats = [prob_matrix(p) for p in member_probs]
    if len({m.shape for m in mats}) != 1:
        raise DataError(
            f"every member must give probabilities of the same shape (got {[m.shape for m in mats]})"
        )
    return np.stack(mats)


def _check_score(name: str, what: str = "score") -> str:
    if name not in ENSEMBLE_SCORES:
        raise ConfigError(f"unknown {what} {name!r}: use one of {', '.join(ENSEMBLE_SCORES)}")
    return name


def _candidate_losses(cands: np.ndarray, y: np.ndarray, score: str) -> np.ndarray:
    """Loss (lower is better) of each ``(n, k)`` candidate in ``cands`` ``(c, n, k)``: the score, negated
    when higher is better. Vectorised over candidates; macro-F1 as in :mod:`nlp_pp.decisions.metrics`
    (classes ``0..k-1``, an undefined F1 counts 0)."""
    n, k = cands.shape[1:]
    if score == "log_loss":
        true_p = cands[:, np.arange(n), y]
        return -np.log(np.clip(true_p, EPS, 1.0)).mean(1)
    pred = cands.argmax(2)
    if score == "accuracy":
        return -(pred == y).mean(1)
    codes = y * k + pred + (np.arange(len(cands)) * k * k)[:, None]
    cm = np.bincount(codes.ravel(), minlength=len(cands) * k * k).reshape(len(cands), k, k)
    return -macro_f1_from_confusion(cm)


def _natural(loss: float, score: str) -> float:
    return float(loss) if score == "log_loss" else float(-loss)


@dataclass(frozen=True)
class Ensemble:
    """A soft-vote ensemble: the weighted mean of its members' probabilities.

    Parameters
    ----------
    members : indices (into the member list given to :func:`fit_ensemble`) with a non-zero weight.
    weights : their weights (selection counts / rounds; they sum to 1).
    n_members : length of the member list the ensemble was fitted on.
    score : the validation score optimised (``"log_loss"``, ``"accuracy"`` or ``"macro_f1"``).
    path : validation score after each selection (the first is the best single member).
    """

    members: tuple[int, ...]
    weights: tuple[float, ...]
    n_members: int
    score: str
    path: tuple[float, ...]

    @property
    def rounds(self) -> int:
        """Number of selections (with replacement) made."""
        return len(self.path)

    def weight_vector(self) -> np.ndarray:
        """``(n_members,)`` weights, zero for unused members."""
        w = np.zeros(self.n_members)
        w[list(self.members)] = self.weights
        return w

    def predict_proba(self, member_probs: Sequence[np.ndarray]) -> np.ndarray:
        """Weighted mean of ``member_probs`` (the same members, in the same order, as at fitting)."""
        if len(member_probs) != self.n_members:
            raise DataError(f"the ensemble was fitted on {self.n_members} members, got {len(member_probs)}")
        stack = _member_stack(member_probs)
        return np.tensordot(self.weight_vector(), stack, axes=1)

    def to_dict(self) -> dict:
        """Strict-JSON-safe description: members, weights, n_members, score, path."""
        return {
            "members": [int(m) for m in self.members],
            "weights": [float(w) for w in self.weights],
            "n_members": int(self.n_members),
            "score": self.score,
            "path": [float(s) for s in self.path],
        }


def fit_ensemble(
    member_probs: Sequence[np.ndarray],
    y: Sequence[int],
    *,
    max_rounds: int = 50,
    score: str = "log_loss",
    min_gain: float = 0.0,
) -> Ensemble:
    """Greedy forward selection with replacement (Caruana et al., 2004) on validation probabilities.

    Parameters
    ----------
    member_probs : each member's ``(n, k)`` validation probabilities (or ``(n,)`` for a binary task).
    y : ``(n,)`` true class indices.
    max_rounds : maximum number of selections, the first one included.
    score : ``"log_loss"`` (default; smooth, so small weight changes count), ``"accuracy"`` or
        ``"macro_f1"``.
    min_gain : an addition must improve the score by more than this (in the score's units); 0 takes
        any strict improvement.

    Returns
    -------
    Ensemble

    Notes
    -----
    Start from the best single member; at each round add the member — possibly one already chosen —
    whose addition gives the best score of the averaged probabilities; stop when no addition
    improves the score strictly, or after ``max_rounds`` selections. Weights are selection counts
    divided by the number of selections. Ties go to the lowest member index. The path is measured on
    the data the members were selected on, so it is optimistic: see :func:`cross_fit_ensemble_score`.
    """
    _check_score(score)
    if not isinstance(max_rounds, int) or max_rounds < 1:
        raise ConfigError(f"max_rounds must be a positive integer (got {max_rounds!r})")
    _check_gain(min_gain)
    stack = _member_stack(member_probs)
    m, n, k = stack.shape
    y = class_indices(y, n, k)
    if n == 0:
        raise DataError("cannot fit an ensemble on zero validation examples")
    losses = _candidate_losses(stack, y, score)
    first = int(np.argmin(losses))
    counts = np.zeros(m, dtype=np.int64)
    counts[first] = 1
    total = stack[first].copy()
    path = [losses[first]]
    while counts.sum() < max_rounds:
        r = counts.sum()
        losses = _candidate_losses((total[None] + stack) / (r + 1), y, score)
        best = int(np.argmin(losses))
        if not losses[best] < path[-1] - max(TOL, min_gain):
            break
        counts[best] += 1
        total += stack[best]
        path.append(losses[best])
    used = np.flatnonzero(counts)
    weights = counts[used] / counts.sum()
    logger.debug(
        "fit_ensemble: members %s, weights %s, %s path %s", used.tolist(), weights.tolist(), score, path
    )
    return Ensemble(
        tuple(int(i) for i in used),
        tuple(float(w) for w in weights),
        m,
        score,
        tuple(_natural(v, score) for v in path),
    )


def _check_gain(min_gain: float) -> None:
    if not isinstance(min_gain, (int, float)) or isinstance(min_gain, bool) or not 0 <= min_gain < 1:
        raise ConfigError(f"min_gain must be a number in [0, 1) (got {min_gain!r})")


def fit_bagged_ensemble(
    member_probs: Sequence[np.ndarray],
    y: Sequence[int],
    *,
    bags: int = 20,
    max_rounds: int = 50,
    score: str = "log_loss",
    min_gain: float = 1e-3,
    seed: int = 0,
) -> Ensemble:
    """Greedy selection (:func:`fit_ensemble`) on ``bags`` bootstrap resamples of the rows, weights averaged.

    On a small validation split one greedy run chases the noise of those few rows: a member gets
    weight for the handful of messages it happens to get right. Averaging the weights of greedy runs
    on bootstrap resamples (bagged ensemble selection, Caruana et al., 2006) keeps what most resamples
    agree on, and ``min_gain`` stops each run before it adds members for a negligible gain.
    ``bags=0`` is a single greedy run on all rows. The path holds the best single member's score and
    the bagged ensemble's, both on all rows.
    """
    _check_score(score)
    if not isinstance(bags, int) or isinstance(bags, bool) or bags < 0:
        raise ConfigError(f"bags must be a non-negative integer (got {bags!r})")
    stack = _member_stack(member_probs)
    m, n, k = stack.shape
    y = class_indices(y, n, k)
    if bags == 0 or n < 2:
        return fit_ensemble(list(stack), y, max_rounds=max_rounds, score=score, min_gain=min_gain)
    rng = np.random.default_rng(seed)
    total = np.zeros(m)
    for _ in range(bags):
        rows = rng.integers(0, n, n)
        total += fit_ensemble(
            list(stack[:, rows]), y[rows], max_rounds=max_rounds, score=score, min_gain=min_gain
        ).weight_vector()
    weights = total / bags
    weights[weights < 1e-9] = 0.0
    weights /= weights.sum()
    used = np.flatnonzero(weights)
    single = _candidate_losses(stack, y, score)
    mixed = _candidate_losses(np.tensordot(weights, stack, axes=1)[None], y, score)[0]
    return Ensemble(
        tuple(int(i) for i in used),
        tuple(float(w) for w in weights[used]),
        m,
        score,
        (_natural(single.min(), score), _natural(mixed, score)),
    )


def score_probs(y: Sequence[int], probs: np.ndarray, metric: str = "macro_f1") -> float:
    """``metric`` of ``(n, k)`` probabilities with scikit-learn, as :mod:`nlp_pp.decisions.metrics` computes
    it.

    ``macro_f1``/``accuracy`` use the argmax (classes ``0..k-1``, an undefined F1 counts 0);
    ``log_loss`` clips probabilities at 1e-15.
    """
    _check_score(metric, "metric")
    probs = prob_matrix(probs)
    n, k = probs.shape
    y = class_indices(y, n, k)
    if n == 0:
        raise DataError("cannot score zero examples")
    if metric == "log_loss":
        return float(log_loss(y, floored_probs(probs), labels=list(range(k))))
    pred = probs.argmax(1)
    if metric == "accuracy":
        return float(accuracy_score(y, pred))
    return float(f1_score(y, pred, labels=list(range(k)), average="macro", zero_division=0))


def _better(a: float, b: float, metric: str) -> bool:
    return a < b if metric == "log_loss" else a > b


def _best_single(stack: np.ndarray, y: np.ndarray, metric: str) -> int:
    scores = [score_probs(y, s, metric) for s in stack]
    return int(np.argmin(scores) if metric == "log_loss" else np.argmax(scores))


def _folds(y: np.ndarray, folds: int, seed: int):
    counts = np.bincount(y)
    counts = counts[counts > 0]
    if counts.min() >= folds:
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)))


def cross_fit_ensemble_score(
    member_probs: Sequence[np.ndarray],
    y: Sequence[int],
    folds: int = 2,
    seed: int = 0,
    metric: str = "macro_f1",
    *,
    score: str = "log_loss",
    max_rounds: int = 50,
) -> dict:
    """Honest validation estimate of "ensemble" versus "best single member".

    The weights of :func:`fit_ensemble` are chosen on the same data that then scores them, and so is
    the choice of the best single member: both in-sample scores are optimistic, the ensemble's more
    so (it has more freedom). Cross-fitting scores each *procedure* on data it did not see: split the
    validation data into ``folds`` parts (stratified when every class has at least ``folds``
    examples), fit on all parts but one and score on the held-out part, and average over parts.
    With ``folds=2`` that is "fit on one half, score on the other", both ways.

    Parameters
    ----------
    member_probs : each member's ``(n, k)`` validation probabilities.
    y : ``(n,)`` true class indices.
    folds : number of parts (``>= 2``).
    seed : shuffling seed of the split.
    metric : what is reported: ``"macro_f1"``, ``"accuracy"`` or ``"log_loss"`` (lower is better).
        The best single member is picked by this metric on the fitting parts.
    score : what :func:`fit_ensemble` optimises.
    max_rounds : passed to :func:`fit_ensemble`.

    Returns
    -------
    dict
        ``metric``, ``folds``, ``ensemble`` and ``best_single`` (cross-fitted means),
        ``ensemble_folds`` and ``best_single_folds`` (per held-out part), ``in_sample_ensemble`` and
        ``in_sample_best_single`` (fitted and scored on all the data, for contrast),
        ``ensemble_minus_best_single`` (cross-fitted, in the metric's units) and ``ensemble_better``
        (whether the cross-fitted ensemble is strictly better).
    """
    _check_score(metric, "metric")
    _check_score(score)
    if not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"folds must be an integer >= 2 (got {folds!r})")
    stack = _member_stack(member_probs)
    y = class_indices(y, stack.shape[1], stack.shape[2])
    if len(y) < folds:
        raise DataError(f"cross-fitting with {folds} folds needs at least {folds} examples (got {len(y)})")
    ens_scores, single_scores = [], []
    for fit_idx, test_idx in _folds(y, folds, seed):
        ens = fit_ensemble(list(stack[:, fit_idx]), y[fit_idx], max_rounds=max_rounds, score=score)
        ens_scores.append(score_probs(y[test_idx], ens.predict_proba(list(stack[:, test_idx])), metric))
        best = _best_single(stack[:, fit_idx], y[fit_idx], metric)
        single_scores.append(score_probs(y[test_idx], stack[best, test_idx], metric))
    full = fit_ensemble(list(stack), y, max_rounds=max_rounds, score=score)
    ens_mean, single_mean = float(np.mean(ens_scores)), float(np.mean(single_scores))
    return {
        "metric": metric,
        "folds": folds,
        "ensemble": ens_mean,
        "best_single": single_mean,
        "ensemble_folds": ens_scores,
        "best_single_folds": single_scores,
        "in_sample_ensemble": score_probs(y, full.predict_proba(list(stack)), metric),
        "in_sample_best_single": score_probs(y, stack[_best_single(stack, y, metric)], metric),
        "ensemble_minus_best_single": ens_mean - single_mean,
        "ensemble_better": _better(ens_mean, single_mean, metric),
    }


def cross_fit_ensemble(
    member_logits: Sequence[np.ndarray],
    y: Sequence[int],
    *,
    folds: int = 5,
    repeats: int = 2,
    seed: int = 0,
    metric: str = "macro_f1",
    score: str = "log_loss",
    bags: int = 20,
    min_gain: float = 1e-3,
    max_rounds: int = 50,
) -> dict:
    """Honest, fully out-of-fold validation estimate of "the ensemble" versus "the best single member".

    Like :func:`cross_fit_ensemble_score`, but from the members' *uncalibrated* logits: in each fold
    every member's temperature is fitted on the fitting part only, so nothing the held-out part says
    shapes the probabilities it is scored on (temperatures fitted on the whole validation split
    would leak it). The split is repeated ``repeats`` times with different shuffles and the scores
    averaged; ``folds`` shrinks to what the smallest class allows (never below 2).

    Returns
    -------
    dict
        ``metric``, ``folds``, ``repeats``, ``ensemble`` and ``best_single`` (means over the held-out
        parts), ``ensemble_folds``/``best_single_folds``, ``ensemble_minus_best_single`` and its
        ``std_error`` (over the held-out parts; they overlap between repeats, so it is a rough
        figure).
    """
    from .calibration import apply_temperature, fit_temperature

    _check_score(metric, "metric")
    _check_score(score)
    if not isinstance(folds, int) or folds < 2 or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"folds must be an integer >= 2 and repeats >= 1 (got {folds!r}, {repeats!r})")
    logits = [np.asarray(z, dtype=np.float64) for z in member_logits]
    stack = _member_stack([np.exp(z - z.max(1, keepdims=True)) for z in logits])  # shapes checked
    n = stack.shape[1]
    y = class_indices(y, n, stack.shape[2])
    counts = np.bincount(y)
    folds = max(2, min(folds, int(counts[counts > 0].min()) if len(counts) else 2))
    if n < 2 * folds:
        raise DataError(f"cross-fitting with {folds} folds needs at least {2 * folds} examples (got {n})")
    ens_scores, single_scores = [], []
    for r in range(repeats):
        for fit_idx, test_idx in _folds(y, folds, seed + r):
            temps = [fit_temperature(z[fit_idx], y[fit_idx]) for z in logits]
            probs = np.stack([apply_temperature(z, t) for z, t in zip(logits, temps)])
            ens = fit_bagged_ensemble(
                list(probs[:, fit_idx]),
                y[fit_idx],
                bags=bags,
                score=score,
                min_gain=min_gain,
                max_rounds=max_rounds,
                seed=seed + r,
            )
            ens_scores.append(score_probs(y[test_idx], ens.predict_proba(list(probs[:, test_idx])), metric))
            best = _best_single(probs[:, fit_idx], y[fit_idx], metric)
            single_scores.append(score_probs(y[test_idx], probs[best, test_idx], metric))
    diffs = np.array(ens_scores) - np.array(single_scores)
    if metric == "log_loss":
        diffs = -diffs
    return {
        "metric": metric,
        "folds": folds,
        "repeats": repeats,
        "ensemble": float(np.mean(ens_scores)),
        "best_single": float(np.mean(single_scores)),
        "ensemble_folds": ens_scores,
        "best_single_folds": single_scores,
        "ensemble_minus_best_single": float(np.mean(ens_scores) - np.mean(single_scores)),
        "std_error": float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else 0.0,
    }
