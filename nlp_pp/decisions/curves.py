"""Ranking quality of a binary scorer: PR-AUC and down-sampled precision-recall and ROC curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from ..errors import ConfigError
from ..results import Curves
from .arrays import binary_inputs


def pr_auc(y: Sequence[int], p: Sequence[float]) -> float | None:
    """Area under the precision–recall curve as average precision (scikit-learn); ``None`` without
    positives."""
    y, p = binary_inputs(y, p)
    if not y.any():
        return None
    return float(average_precision_score(y, p))


def _downsample(n: int, max_points: int) -> np.ndarray:
    """At most ``max_points`` indices of ``range(n)``, evenly spaced, first and last always kept."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def curve_points(y: Sequence[int], p: Sequence[float], max_points: int = 200) -> Curves:
    """Precision–recall and ROC curves down-sampled for plotting.

    Returns
    -------
    Curves
        ``pr`` (``{"recall": [...], "precision": [...]}``), ``roc`` (``{"fpr": [...], "tpr": [...]}``),
        ``pr_auc`` and ``roc_auc``; at most ``max_points`` points per curve
        (evenly spaced along the curve, end points kept). A curve that is undefined because a class
        is absent has empty lists and a ``None`` area.
    """
    if not isinstance(max_points, int) or max_points < 2:
        raise ConfigError(f"max_points must be an integer >= 2 (got {max_points!r})")
    y, p = binary_inputs(y, p)
    has_pos, has_neg = bool(y.any()), bool((y == 0).any())
    out: dict = {
        "pr": {"recall": [], "precision": []},
        "roc": {"fpr": [], "tpr": []},
        "pr_auc": None,
        "roc_auc": None,
    }
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
    return Curves(**out)
