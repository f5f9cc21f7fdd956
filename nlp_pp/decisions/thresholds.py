"""Threshold policies: parse them, choose the threshold on validation data, score any threshold.

Decision rule everywhere: a message is predicted positive when ``p >= threshold``. Every value meant
for ``metrics.json`` is a Python ``float``/``int``/``bool``/``str`` or ``None`` -- never NaN or inf.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError
from ..options import ThresholdPolicy
from ..results import AtThreshold, Threshold
from .arrays import TOL, binary_inputs
from .significance import wilson_interval

logger = logging.getLogger(__name__)


DEGENERATE_THRESHOLD = 0.5  # used when the validation labels cannot place a threshold (one class only)
MIN_FLAGGED = 100  # a precision target met on fewer flagged validation messages is warned about
parse_threshold_policy = ThresholdPolicy.parse


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
    return {
        "threshold": thresholds,
        "tp": tp,
        "fp": fp,
        "precision": tp / (tp + fp),
        "recall": tp / n_pos,
        "f1": 2 * tp / (tp + fp + n_pos),
    }


def _threshold(
    policy: ThresholdPolicy, value: float, met: bool, note: str, tp: int, flagged: int, positives: int
) -> Threshold:
    """A :class:`~nlp_pp.results.Threshold` with its counts and the lower bound of its precision; warns
    when a precision target rests on fewer than :data:`MIN_FLAGGED` flagged messages."""
    low = wilson_interval(tp, flagged)[0] if flagged else None
    if policy.kind == "precision" and met and flagged < MIN_FLAGGED:
        logger.warning(
            "threshold policy %s rests on %d flagged validation message(s), fewer than %d: the validation "
            "precision's 95%% lower bound is %.3f; expect a lower precision on new messages, or label more",
            policy,
            flagged,
            MIN_FLAGGED,
            low,
        )
    return Threshold(policy, float(value), met, note, flagged, tp, positives, low)


def _describe(points: dict[str, np.ndarray], i: int) -> str:
    """The operating point with its counts: a precision measured on 20 flagged examples is not one on
    2,000."""
    tp, fp = int(points["tp"][i]), int(points["fp"][i])
    n_pos = int(points["tp"][-1])
    return (
        f"precision {points['precision'][i]:.4f} ({tp} of {tp + fp} flagged), recall "
        f"{points['recall'][i]:.4f} ({tp} of {n_pos} positives), F1 {points['f1'][i]:.4f} on the data"
    )


def choose_threshold(y: Sequence[int], p: Sequence[float], policy: ThresholdPolicy | str) -> Threshold:
    """Choose the decision threshold of a binary classifier on validation data.

    Parameters
    ----------
    y : true labels, 0 (negative, e.g. everyday talk) or 1 (positive, e.g. spam).
    p : score of the positive class (a probability; any finite score works).
    policy : a :class:`ThresholdPolicy` or its text form (see :meth:`ThresholdPolicy.parse`).

    Returns
    -------
    Threshold
        Predict positive when ``p >= value``; with the validation counts at that point
        (``flagged``, ``true_positives``, ``positives``) and the 95 % Wilson lower bound of the
        precision there.

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
    policy = ThresholdPolicy.parse(policy)
    y, p = binary_inputs(y, p)
    n_pos = int(y.sum())
    if policy.kind == "fixed":
        flagged = p >= policy.target
        return _threshold(
            policy,
            float(policy.target),
            True,
            f"fixed threshold {policy.target:g}",
            int((flagged & (y == 1)).sum()),
            int(flagged.sum()),
            n_pos,
        )
    if n_pos == 0 or n_pos == len(y):
        what = "no example" if len(y) == 0 else f"only class {int(y[0])}"
        note = f"cannot choose a threshold: the labels hold {what}; fell back to {DEGENERATE_THRESHOLD}"
        logger.warning("threshold policy %s: %s", policy, note)
        flagged = p >= DEGENERATE_THRESHOLD
        return _threshold(
            policy,
            DEGENERATE_THRESHOLD,
            False,
            note,
            int((flagged & (y == 1)).sum()),
            int(flagged.sum()),
            n_pos,
        )
    points = _operating_points(y, p)

    def chosen(i: int, met: bool, note: str) -> Threshold:
        tp, fp = int(points["tp"][i]), int(points["fp"][i])
        return _threshold(policy, float(points["threshold"][i]), met, note, tp, tp + fp, n_pos)

    if policy.kind == "f1":
        i = int(np.argmax(points["f1"]))
        return chosen(i, True, f"highest F1 of the positive class: {_describe(points, i)}")
    target = float(policy.target)
    if policy.kind == "precision":
        ok = np.flatnonzero(points["precision"] >= target - TOL)
        if len(ok):
            i = int(ok[-1])
            return chosen(i, True, f"lowest threshold with precision >= {target:g}: {_describe(points, i)}")
        best = points["precision"].max()
        i = int(np.flatnonzero(points["precision"] >= best - TOL)[-1])
        note = (
            f"precision {target:g} not reachable; fell back to the highest reachable precision "
            f"(lowest threshold reaching it): {_describe(points, i)}"
        )
        logger.warning("threshold policy %s: %s", policy, note)
        return chosen(i, False, note)
    i = int(np.flatnonzero(points["recall"] >= target - TOL)[0])  # recall policy: always reachable
    return chosen(i, True, f"highest threshold with recall >= {target:g}: {_describe(points, i)}")


def _rate(num: float, den: float, scale: float = 1.0) -> float | None:
    return float(num / den * scale) if den else None


def metrics_at_threshold(y: Sequence[int], p: Sequence[float], threshold: float) -> AtThreshold:
    """Binary metrics when predicting positive for ``p >= threshold``.

    Returns
    -------
    AtThreshold
        ``threshold``, ``accuracy``, ``macro_f1`` (mean F1 of the two classes), ``precision`` and
        ``recall`` (of the positive class), ``false_positives_per_10k`` (false positives per 10,000
        negatives), ``missed_per_1k`` (false negatives per 1,000 positives) and the counts ``tp``,
        ``fp``, ``tn``, ``fn``. A rate whose denominator is zero is ``None`` (precision with nothing
        flagged, recall and ``missed_per_1k`` without positives, ``false_positives_per_10k`` without
        negatives); ``macro_f1`` averages the classes whose F1 is defined (a class absent from both
        truth and prediction is left out) and is ``None`` on empty input.
    """
    y, p = binary_inputs(y, p)
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ConfigError(f"the threshold must be a finite number (got {threshold})")
    pred = (p >= threshold).astype(np.int64)
    tp, fp = int((pred & y).sum()), int((pred & (1 - y)).sum())
    fn, tn = int(y.sum()) - tp, int(len(y) - y.sum()) - fp
    f1s = [2 * c / d for c, d in ((tp, 2 * tp + fp + fn), (tn, 2 * tn + fn + fp)) if d]
    return AtThreshold(
        threshold=threshold,
        accuracy=_rate(tp + tn, len(y)),
        macro_f1=float(np.mean(f1s)) if f1s else None,
        precision=_rate(tp, tp + fp),
        recall=_rate(tp, tp + fn),
        false_positives_per_10k=_rate(fp, fp + tn, 10_000),
        missed_per_1k=_rate(fn, fn + tp, 1_000),
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
    )
