"""Classification metrics from predicted probabilities (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from ..results import ClassScores, Mistake, SplitScores
from .arrays import floored_probs


def classification_metrics(
    y_true: Sequence[int], probs: np.ndarray, labels: Sequence[str], positive: int | None = None
) -> SplitScores:
    """Accuracy, macro-F1, precision/recall, ROC-AUC, log loss, confusion matrix and per-class scores.

    For two classes ``precision``/``recall`` are those of class ``positive`` (default: index 1) and
    ``roc_auc`` is computed; otherwise they are macro averages and ``roc_auc`` is ``None``.
    """
    y_true = np.asarray(y_true)
    k = len(labels)
    y_pred = probs.argmax(1) if len(probs) else np.zeros(0, dtype=int)
    idx = list(range(k))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=idx, zero_division=0)
    out = {
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(f1_score(y_true, y_pred, labels=idx, average="macro", zero_division=0)),
    }
    if k == 2:
        pos = 1 if positive is None else positive
        out["precision"], out["recall"] = float(p[pos]), float(r[pos])
        if len(np.unique(y_true == pos)) < 2:  # undefined with one class present
            out["roc_auc"] = None
        else:
            out["roc_auc"] = float(roc_auc_score(y_true == pos, probs[:, pos]))
    else:
        out["precision"], out["recall"], out["roc_auc"] = float(np.mean(p)), float(np.mean(r)), None
    try:
        out["loss"] = float(log_loss(y_true, floored_probs(probs, 1e-7), labels=idx))
    except ValueError:
        out["loss"] = None
    out["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=idx).tolist()
    out["per_class"] = {labels[i]: ClassScores(float(p[i]), float(r[i]), float(f[i]), int(s[i])) for i in idx}
    return SplitScores(**out)


def misclassified(
    texts: Sequence[str], y_true: Sequence[int], probs: np.ndarray, labels: Sequence[str], limit: int = 20
) -> list[Mistake]:
    """Up to ``limit`` wrong predictions, the most confident first: text, true, pred, prob (of pred)."""
    y_true = np.asarray(y_true)
    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != y_true)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:limit]
    return [
        Mistake(texts[i], labels[y_true[i]], labels[pred[i]], round(float(probs[i, pred[i]]), 4))
        for i in wrong
    ]
