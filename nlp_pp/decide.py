"""Decisions a spam filter makes from predicted probabilities: operating point, calibration, ensemble.

Pure functions of numpy arrays (no model, no pipeline):

* **Threshold policies** — :func:`parse_threshold_policy` reads ``"f1"``, ``"precision:0.99"``,
  ``"recall:0.95"`` or ``"fixed:0.5"``; :func:`choose_threshold` picks the threshold on validation
  data; :func:`metrics_at_threshold` scores any threshold (counts, false positives per 10,000
  messages that are not spam, missed spam per 1,000 spam messages).
* **Ranking quality** — :func:`pr_auc` and :func:`curve_points` (precision–recall and ROC curves
  down-sampled for plotting).
* **Temperature scaling** (Guo et al., 2017) — :func:`fit_temperature`, :func:`apply_temperature`,
  :func:`expected_calibration_error`, :func:`reliability_bins`.
* **Soft-vote ensemble** — :func:`fit_ensemble` (Caruana et al., 2004, greedy forward selection with
  replacement) and :func:`cross_fit_ensemble_score`, an honest estimate of whether the ensemble
  beats the best single member.

Decision rule everywhere: a message is predicted positive when ``p >= threshold``. Every value meant
for ``metrics.json`` is a Python ``float``/``int``/``bool``/``str`` or ``None`` — never NaN or inf.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp, softmax
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, log_loss,
                             precision_recall_curve, roc_auc_score, roc_curve)
from sklearn.model_selection import KFold, StratifiedKFold

from .errors import ConfigError, DataError
from .significance import macro_f1_from_confusion

logger = logging.getLogger(__name__)

POLICY_KINDS = ("f1", "precision", "recall", "fixed")
POLICY_FORMS = "f1, precision:X, recall:X (0 < X <= 1) or fixed:X (0 <= X <= 1)"
DEGENERATE_THRESHOLD = 0.5  # used when the validation labels cannot place a threshold (one class only)
ENSEMBLE_SCORES = ("log_loss", "accuracy", "macro_f1")
_TOL = 1e-12  # rates are compared with the target up to float rounding (99/100 vs 0.99)
_EPS = 1e-15  # probability floor inside the log loss


# ----------------------------------------------------------------------------------------------------------------
# Threshold policies
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThresholdPolicy:
    """How to choose the decision threshold: ``kind`` in :data:`POLICY_KINDS`, ``target`` its number.

    ``str(policy)`` is the canonical text form (``"precision:0.99"``, ``"f1"``).
    """

    kind: str
    target: float | None = None

    def __str__(self) -> str:
        return self.kind if self.target is None else f"{self.kind}:{self.target:g}"


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold.

    Parameters
    ----------
    policy : canonical text of the policy (``"precision:0.99"``).
    value : the threshold; predict positive when ``p >= value``.
    met : whether the policy's target was reached on the data (``False`` means a fallback was used).
    note : one human-readable line: what was chosen and the precision/recall there, or why it fell back.
    """

    policy: str
    value: float
    met: bool
    note: str

    def to_dict(self) -> dict:
        """``{"policy", "value", "met", "note"}`` (strict-JSON-safe)."""
        return {"policy": self.policy, "value": float(self.value), "met": bool(self.met), "note": self.note}


def parse_threshold_policy(text: str) -> ThresholdPolicy:
    """Read a policy from its text form.

    Parameters
    ----------
    text : ``"f1"``, ``"precision:X"``, ``"recall:X"`` (``0 < X <= 1``) or ``"fixed:X"`` (``0 <= X <= 1``);
        case and surrounding spaces are ignored.

    Raises
    ------
    ConfigError
        For anything else (the message lists the valid forms).

    Examples
    --------
    >>> parse_threshold_policy("precision:0.99")
    ThresholdPolicy(kind='precision', target=0.99)
    >>> str(parse_threshold_policy(" F1 "))
    'f1'
    """
    bad = ConfigError(f"invalid threshold policy {text!r}: use {POLICY_FORMS}")
    if not isinstance(text, str):
        raise bad
    kind, sep, number = text.strip().lower().partition(":")
    kind, number = kind.strip(), number.strip()
    if kind == "f1" and not sep:
        return ThresholdPolicy("f1")
    if kind not in POLICY_KINDS or kind == "f1" or not number:
        raise bad
    try:
        target = float(number)
    except ValueError:
        raise bad from None
    low_ok = target >= 0 if kind == "fixed" else target > 0
    if not (math.isfinite(target) and low_ok and target <= 1):
        raise bad
    return ThresholdPolicy(kind, target)


def _binary_inputs(y, p) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as an int 0/1 array and ``p`` as a finite float array of the same length (else DataError)."""
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    if y.ndim != 1 or p.ndim != 1 or len(y) != len(p):
        raise DataError(f"y and p must be 1-D and of the same length (got shapes {y.shape} and {p.shape})")
    if len(y) and not np.isin(y, (0, 1)).all():
        raise DataError("y must hold only 0 (negative) and 1 (positive)")
    if not np.isfinite(p).all():
        raise DataError("p holds NaN or infinite scores")
    return y.astype(np.int64), p


def _operating_points(y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """Counts at every distinct score ``s`` (descending) when predicting positive for ``p >= s``.

    Same counts as scikit-learn's precision–recall curve, kept as exact integers. ``threshold`` is
    placed halfway between each score and the next lower distinct score (the lowest score itself for
    the last point), so ``p >= threshold`` flags exactly the same examples as ``p >= score``.
    """
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]  # last index of each run of equal scores
    tp = np.cumsum(ys)[last]
    fp = (last + 1) - tp
    scores = ps[last]
    thresholds = scores.copy()
    mid = (scores[:-1] + scores[1:]) / 2
    ok = mid > scores[1:]  # two adjacent floats can have no float strictly between them
    thresholds[:-1][ok] = mid[ok]
    n_pos = int(ys.sum())
    return {"threshold": thresholds, "tp": tp, "fp": fp, "precision": tp / (tp + fp),
            "recall": tp / n_pos, "f1": 2 * tp / (tp + fp + n_pos)}


def _describe(points: dict[str, np.ndarray], i: int) -> str:
    """The operating point with its counts: a precision measured on 20 flagged examples is not one on 2,000."""
    tp, fp = int(points["tp"][i]), int(points["fp"][i])
    n_pos = int(points["tp"][-1])
    return (f"precision {points['precision'][i]:.4f} ({tp} of {tp + fp} flagged), recall "
            f"{points['recall'][i]:.4f} ({tp} of {n_pos} positives), F1 {points['f1'][i]:.4f} on the data")


def choose_threshold(y: Sequence[int], p: Sequence[float], policy: ThresholdPolicy | str) -> ThresholdChoice:
    """Choose the decision threshold of a binary classifier on validation data.

    Parameters
    ----------
    y : true labels, 0 (negative, e.g. everyday talk) or 1 (positive, e.g. spam).
    p : score of the positive class (a probability; any finite score works).
    policy : a :class:`ThresholdPolicy` or its text form (see :func:`parse_threshold_policy`).

    Returns
    -------
    ThresholdChoice
        Predict positive when ``p >= value``.

    Notes
    -----
    The candidate operating points are "flag every example scoring at least ``s``" for each distinct
    score ``s``. **Placement**: the returned value is the midpoint between ``s`` and the next lower
    distinct score (``s`` itself for the lowest score), so on the validation data it flags exactly
    the examples the operating point flags, while a new example scoring a little below ``s`` is
    treated like its neighbours instead of sitting on the edge. Ties need no special care: equal
    scores are always on the same side.

    * ``f1`` — the point of highest F1 of the positive class (ties: the highest threshold).
    * ``precision:X`` — the **lowest** threshold (most positives caught) whose precision is ``>= X``.
      **Fallback** when no threshold reaches ``X``: the point of highest precision (ties: the lowest
      threshold among them) — the safe direction for a filter whose precision target exists to
      avoid false alarms; ``met=False`` and ``note`` says so.
    * ``recall:X`` — the **highest** threshold whose recall is ``>= X``. Flagging everything has
      recall 1, so with at least one positive example the target is always reachable.
    * ``fixed:X`` — ``X``.

    When ``y`` holds fewer than two classes (or is empty), no threshold can be chosen from the data:
    ``f1``/``precision``/``recall`` return 0.5 with ``met=False`` and a note.
    """
    if isinstance(policy, str):
        policy = parse_threshold_policy(policy)
    name = str(policy)
    y, p = _binary_inputs(y, p)
    if policy.kind == "fixed":
        return ThresholdChoice(name, float(policy.target), True, f"fixed threshold {policy.target:g}")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        what = "no example" if len(y) == 0 else f"only class {int(y[0])}"
        note = f"cannot choose a threshold: the labels hold {what}; fell back to {DEGENERATE_THRESHOLD}"
        logger.warning("threshold policy %s: %s", name, note)
        return ThresholdChoice(name, DEGENERATE_THRESHOLD, False, note)
    points = _operating_points(y, p)
    if policy.kind == "f1":
        i = int(np.argmax(points["f1"]))
        return ThresholdChoice(name, float(points["threshold"][i]), True,
                               f"highest F1 of the positive class: {_describe(points, i)}")
    target = float(policy.target)
    if policy.kind == "precision":
        ok = np.flatnonzero(points["precision"] >= target - _TOL)
        if len(ok):
            i = int(ok[-1])
            return ThresholdChoice(name, float(points["threshold"][i]), True,
                                   f"lowest threshold with precision >= {target:g}: {_describe(points, i)}")
        best = points["precision"].max()
        i = int(np.flatnonzero(points["precision"] >= best - _TOL)[-1])
        note = (f"precision {target:g} not reachable; fell back to the highest reachable precision "
                f"(lowest threshold reaching it): {_describe(points, i)}")
        logger.warning("threshold policy %s: %s", name, note)
        return ThresholdChoice(name, float(points["threshold"][i]), False, note)
    i = int(np.flatnonzero(points["recall"] >= target - _TOL)[0])  # recall policy: always reachable
    return ThresholdChoice(name, float(points["threshold"][i]), True,
                           f"highest threshold with recall >= {target:g}: {_describe(points, i)}")


def _rate(num: float, den: float, scale: float = 1.0) -> float | None:
    return float(num / den * scale) if den else None


def metrics_at_threshold(y: Sequence[int], p: Sequence[float], threshold: float) -> dict:
    """Binary metrics when predicting positive for ``p >= threshold``.

    Returns
    -------
    dict
        ``threshold``, ``accuracy``, ``macro_f1`` (mean F1 of the two classes), ``precision`` and
        ``recall`` (of the positive class), ``false_positives_per_10k`` (false positives per 10,000
        negatives), ``missed_per_1k`` (false negatives per 1,000 positives) and the counts ``tp``,
        ``fp``, ``tn``, ``fn``. A rate whose denominator is zero is ``None`` (precision with nothing
        flagged, recall and ``missed_per_1k`` without positives, ``false_positives_per_10k`` without
        negatives); ``macro_f1`` averages the classes whose F1 is defined (a class absent from both
        truth and prediction is left out) and is ``None`` on empty input.
    """
    y, p = _binary_inputs(y, p)
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ConfigError(f"the threshold must be a finite number (got {threshold})")
    pred = (p >= threshold).astype(np.int64)
    tp, fp = int((pred & y).sum()), int((pred & (1 - y)).sum())
    fn, tn = int(y.sum()) - tp, int(len(y) - y.sum()) - fp
    f1s = [2 * c / d for c, d in ((tp, 2 * tp + fp + fn), (tn, 2 * tn + fn + fp)) if d]
    return {
        "threshold": threshold,
        "accuracy": _rate(tp + tn, len(y)),
        "macro_f1": float(np.mean(f1s)) if f1s else None,
        "precision": _rate(tp, tp + fp),
        "recall": _rate(tp, tp + fn),
        "false_positives_per_10k": _rate(fp, fp + tn, 10_000),
        "missed_per_1k": _rate(fn, fn + tp, 1_000),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }


# ----------------------------------------------------------------------------------------------------------------
# Ranking quality
# ----------------------------------------------------------------------------------------------------------------
def pr_auc(y: Sequence[int], p: Sequence[float]) -> float | None:
    """Area under the precision–recall curve as average precision (scikit-learn); ``None`` without positives."""
    y, p = _binary_inputs(y, p)
    if not y.any():
        return None
    return float(average_precision_score(y, p))


def _downsample(n: int, max_points: int) -> np.ndarray:
    """At most ``max_points`` indices of ``range(n)``, evenly spaced, first and last always kept."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def curve_points(y: Sequence[int], p: Sequence[float], max_points: int = 200) -> dict:
    """Precision–recall and ROC curves down-sampled for plotting.

    Returns
    -------
    dict
        ``{"pr": {"recall": [...], "precision": [...]}, "roc": {"fpr": [...], "tpr": [...]},
        "pr_auc": float | None, "roc_auc": float | None}``; at most ``max_points`` points per curve
        (evenly spaced along the curve, end points kept). A curve that is undefined because a class
        is absent has empty lists and a ``None`` area.
    """
    if not isinstance(max_points, int) or max_points < 2:
        raise ConfigError(f"max_points must be an integer >= 2 (got {max_points!r})")
    y, p = _binary_inputs(y, p)
    has_pos, has_neg = bool(y.any()), bool((y == 0).any())
    out: dict = {"pr": {"recall": [], "precision": []}, "roc": {"fpr": [], "tpr": []},
                 "pr_auc": None, "roc_auc": None}
    if has_pos:
        precision, recall, _ = precision_recall_curve(y, p)
        keep = _downsample(len(recall), max_points)
        out["pr"] = {"recall": recall[keep].tolist(), "precision": precision[keep].tolist()}
        out["pr_auc"] = float(average_precision_score(y, p))
    if has_pos and has_neg:
        fpr, tpr, _ = roc_curve(y, p)
        keep = _downsample(len(fpr), max_points)
        out["roc"] = {"fpr": fpr[keep].tolist(), "tpr": tpr[keep].tolist()}
        out["roc_auc"] = float(roc_auc_score(y, p))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Temperature scaling and calibration
# ----------------------------------------------------------------------------------------------------------------
def _labels(y, n: int, k: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"y must be 1-D with one label per row ({n} rows, got shape {y.shape})")
    if n and (not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool) or y.min() < 0 or y.max() >= k):
        raise DataError(f"y must hold integer class indices in [0, {k})")
    return y.astype(np.int64)


def _temperature_nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y]))


def fit_temperature(logits: np.ndarray, y: Sequence[int], bounds: tuple[float, float] = (0.01, 100.0)) -> float:
    """Temperature ``T > 0`` minimising the negative log-likelihood of ``softmax(logits / T)``.

    Parameters
    ----------
    logits : ``(n, k)`` pre-softmax scores (``k >= 2``), e.g. from the validation split.
    y : ``(n,)`` true class indices.
    bounds : search interval of ``T``.

    Returns
    -------
    float
        ``T`` (``> 1`` softens over-confident probabilities). 1.0 when the data cannot tell: no rows,
        fewer than two classes, every row classified correctly (the likelihood then keeps rising as
        ``T -> 0``, so there is no finite optimum) or no ``T`` in ``bounds`` improves on ``T = 1``.

    Notes
    -----
    Bounded Brent search (``scipy.optimize.minimize_scalar``) on ``log T``. The NLL is convex in
    ``1/T`` (a log-sum-exp of linear functions), hence unimodal in ``log T``: the search finds the
    global optimum within ``bounds``. Temperature scaling never changes the argmax, so accuracy is
    unchanged.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise DataError(f"logits must be a 2-D (n, k) array (got shape {logits.shape})")
    if not np.isfinite(logits).all():
        raise DataError("logits hold NaN or infinite values")
    n, k = logits.shape
    y = _labels(y, n, k)
    lo, hi = (float(b) for b in bounds)
    if not (0 < lo < 1 < hi and math.isfinite(hi)):
        raise ConfigError(f"temperature bounds must satisfy 0 < low < 1 < high (got {bounds})")
    if n == 0 or k < 2:
        return 1.0
    if (logits.argmax(1) == y).all():
        logger.debug("fit_temperature: every example is classified correctly; keeping T = 1")
        return 1.0
    res = minimize_scalar(lambda t: _temperature_nll(logits, y, math.exp(t)), bounds=(math.log(lo), math.log(hi)),
                          method="bounded", options={"xatol": 1e-6})
    base = _temperature_nll(logits, y, 1.0)
    if not res.success or not res.fun < base - 1e-12:
        return 1.0
    temperature = float(math.exp(res.x))
    logger.debug("fit_temperature: T = %.4f (NLL %.4f -> %.4f)", temperature, base, res.fun)
    return temperature


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / temperature)`` row by row: ``(n, k)`` probabilities."""
    temperature = float(temperature)
    if not (math.isfinite(temperature) and temperature > 0):
        raise ConfigError(f"the temperature must be a positive number (got {temperature})")
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise DataError(f"logits must be a 2-D (n, k) array (got shape {logits.shape})")
    return softmax(logits / temperature, axis=1)


def _prob_matrix(probs) -> np.ndarray:
    """``(n, k)`` probabilities; a 1-D array is read as the positive-class probability of a binary task."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim == 1:
        probs = np.stack([1 - probs, probs], axis=1)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise DataError(f"probabilities must be an (n, k) array with k >= 2 (got shape {probs.shape})")
    if not np.isfinite(probs).all():
        raise DataError("probabilities hold NaN or infinite values")
    return probs


def reliability_bins(probs: np.ndarray, y: Sequence[int], n_bins: int = 15) -> dict:
    """Top-label reliability diagram: equal-width confidence bins over ``[0, 1]``.

    Parameters
    ----------
    probs : ``(n, k)`` class probabilities, or ``(n,)`` positive-class probabilities of a binary task.
    y : true class indices.
    n_bins : number of bins; bin ``b`` holds confidences in ``(b/n_bins, (b+1)/n_bins]`` (0 goes to
        the first bin).

    Returns
    -------
    dict
        ``{"n_bins", "n", "ece", "bins": [{"lower", "upper", "confidence", "accuracy", "count"}, ...]}``
        where ``confidence`` is the mean top probability and ``accuracy`` the share of correct top
        labels in the bin (``None`` for an empty bin), and ``ece`` is the expected calibration error
        (``None`` without rows).
    """
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ConfigError(f"n_bins must be a positive integer (got {n_bins!r})")
    probs = _prob_matrix(probs)
    y = _labels(y, len(probs), probs.shape[1])
    conf = probs.max(1)
    correct = (probs.argmax(1) == y).astype(np.float64)
    idx = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(idx, weights=correct, minlength=n_bins)
    bins = []
    for b in range(n_bins):
        c = int(count[b])
        bins.append({"lower": b / n_bins, "upper": (b + 1) / n_bins,
                     "confidence": float(conf_sum[b] / c) if c else None,
                     "accuracy": float(acc_sum[b] / c) if c else None, "count": c})
    n = len(y)
    ece = float(np.abs(acc_sum - conf_sum).sum() / n) if n else None
    return {"n_bins": n_bins, "n": n, "ece": ece, "bins": bins}


def expected_calibration_error(probs: np.ndarray, y: Sequence[int], n_bins: int = 15) -> float | None:
    """Top-label expected calibration error with equal-width bins (Guo et al., 2017).

    ``ECE = sum_b |B_b| / n * |accuracy(B_b) - confidence(B_b)|``; ``None`` on empty input.
    See :func:`reliability_bins` for the binning.
    """
    return reliability_bins(probs, y, n_bins)["ece"]


# ----------------------------------------------------------------------------------------------------------------
# Soft-vote ensemble (Caruana et al., 2004)
# ----------------------------------------------------------------------------------------------------------------
def _member_stack(member_probs: Sequence[np.ndarray]) -> np.ndarray:
    """``(m, n, k)`` stack of the members' probabilities (each ``(n, k)``, or ``(n,)`` binary)."""
    if len(member_probs) == 0:
        raise DataError("an ensemble needs at least one member")
    mats = [_prob_matrix(p) for p in member_probs]
    if len({m.shape for m in mats}) != 1:
        raise DataError(f"every member must give probabilities of the same shape (got {[m.shape for m in mats]})")
    return np.stack(mats)


def _check_score(name: str, what: str = "score") -> str:
    if name not in ENSEMBLE_SCORES:
        raise ConfigError(f"unknown {what} {name!r}: use one of {', '.join(ENSEMBLE_SCORES)}")
    return name


def _candidate_losses(cands: np.ndarray, y: np.ndarray, score: str) -> np.ndarray:
    """Loss (lower is better) of each ``(n, k)`` candidate in ``cands`` ``(c, n, k)``: the score, negated
    when higher is better. Vectorised over candidates; macro-F1 as in :mod:`nlp_pp.metrics`
    (classes ``0..k-1``, an undefined F1 counts 0)."""
    n, k = cands.shape[1:]
    if score == "log_loss":
        true_p = cands[:, np.arange(n), y]
        return -np.log(np.clip(true_p, _EPS, 1.0)).mean(1)
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
        return {"members": [int(m) for m in self.members], "weights": [float(w) for w in self.weights],
                "n_members": int(self.n_members), "score": self.score, "path": [float(s) for s in self.path]}


def fit_ensemble(member_probs: Sequence[np.ndarray], y: Sequence[int], *, max_rounds: int = 50,
                 score: str = "log_loss") -> Ensemble:
    """Greedy forward selection with replacement (Caruana et al., 2004) on validation probabilities.

    Parameters
    ----------
    member_probs : each member's ``(n, k)`` validation probabilities (or ``(n,)`` for a binary task).
    y : ``(n,)`` true class indices.
    max_rounds : maximum number of selections, the first one included.
    score : ``"log_loss"`` (default; smooth, so small weight changes count), ``"accuracy"`` or
        ``"macro_f1"``.

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
    stack = _member_stack(member_probs)
    m, n, k = stack.shape
    y = _labels(y, n, k)
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
        if not losses[best] < path[-1] - _TOL:
            break
        counts[best] += 1
        total += stack[best]
        path.append(losses[best])
    used = np.flatnonzero(counts)
    weights = counts[used] / counts.sum()
    logger.debug("fit_ensemble: members %s, weights %s, %s path %s", used.tolist(), weights.tolist(), score, path)
    return Ensemble(tuple(int(i) for i in used), tuple(float(w) for w in weights), m, score,
                    tuple(_natural(v, score) for v in path))


def score_probs(y: Sequence[int], probs: np.ndarray, metric: str = "macro_f1") -> float:
    """``metric`` of ``(n, k)`` probabilities with scikit-learn, as :mod:`nlp_pp.metrics` computes it.

    ``macro_f1``/``accuracy`` use the argmax (classes ``0..k-1``, an undefined F1 counts 0);
    ``log_loss`` clips probabilities at 1e-15.
    """
    _check_score(metric, "metric")
    probs = _prob_matrix(probs)
    n, k = probs.shape
    y = _labels(y, n, k)
    if n == 0:
        raise DataError("cannot score zero examples")
    if metric == "log_loss":
        return float(log_loss(y, np.clip(probs, _EPS, 1.0), labels=list(range(k))))
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


def cross_fit_ensemble_score(member_probs: Sequence[np.ndarray], y: Sequence[int], folds: int = 2, seed: int = 0,
                             metric: str = "macro_f1", *, score: str = "log_loss", max_rounds: int = 50) -> dict:
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
    y = _labels(y, stack.shape[1], stack.shape[2])
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
        "metric": metric, "folds": folds,
        "ensemble": ens_mean, "best_single": single_mean,
        "ensemble_folds": ens_scores, "best_single_folds": single_scores,
        "in_sample_ensemble": score_probs(y, full.predict_proba(list(stack)), metric),
        "in_sample_best_single": score_probs(y, stack[_best_single(stack, y, metric)], metric),
        "ensemble_minus_best_single": ens_mean - single_mean,
        "ensemble_better": _better(ens_mean, single_mean, metric),
    }
