"""Checked inputs of the decision functions: binary labels and scores, class indices, probability matrices."""

from __future__ import annotations

import numpy as np

from ..errors import DataError

EPS = 1e-15  # probability floor inside the log loss
TOL = 1e-12  # rates are compared with a target up to float rounding (99/100 vs 0.99)


def binary_inputs(y, p) -> tuple[np.ndarray, np.ndarray]:
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


def class_indices(y, n: int, k: int) -> np.ndarray:
    """``y`` as ``n`` int64 class indices in ``[0, k)`` (else DataError)."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"y must be 1-D with one label per row ({n} rows, got shape {y.shape})")
    if n and (not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool) or y.min() < 0 or y.max() >= k):
        raise DataError(f"y must hold integer class indices in [0, {k})")
    return y.astype(np.int64)


def prob_matrix(probs) -> np.ndarray:
    """``(n, k)`` probabilities; a 1-D array is read as the positive-class probability of a binary task."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim == 1:
        probs = np.stack([1 - probs, probs], axis=1)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise DataError(f"probabilities must be an (n, k) array with k >= 2 (got shape {probs.shape})")
    if not np.isfinite(probs).all():
        raise DataError("probabilities hold NaN or infinite values")
    return probs


def floored_probs(probs: np.ndarray, floor: float = EPS) -> np.ndarray:
    """Rows of class probabilities raised to at least ``floor`` and summing to one again (float64): what a
    log loss reads, so that no log of zero occurs and no "does not sum to one" warning either.

    >>> floored_probs(np.array([[1.0, 0.0]]), 0.01).round(4).tolist()
    [[0.9901, 0.0099]]
    """
    p = np.clip(np.asarray(probs, dtype=np.float64), floor, 1.0)
    return p / p.sum(axis=1, keepdims=True)


def as_logits(probs: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """The log of probabilities, floored at ``floor``: for scorers that give probabilities (the TF-IDF
    baseline, an ensemble), softmax of these "logits" gives the probabilities back."""
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), floor, 1.0))
