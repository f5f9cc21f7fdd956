"""Temperature scaling (Guo et al., 2017), expected calibration error and reliability bins."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp, softmax

from ..errors import ConfigError, DataError
from ..results import ReliabilityBin, ReliabilityBins
from .arrays import class_indices, prob_matrix

logger = logging.getLogger(__name__)


def _temperature_nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y]))


def fit_temperature(
    logits: np.ndarray, y: Sequence[int], bounds: tuple[float, float] = (0.01, 100.0)
) -> float:
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
    y = class_indices(y, n, k)
    lo, hi = (float(b) for b in bounds)
    if not (0 < lo < 1 < hi and math.isfinite(hi)):
        raise ConfigError(f"temperature bounds must satisfy 0 < low < 1 < high (got {bounds})")
    if n == 0 or k < 2:
        return 1.0
    if (logits.argmax(1) == y).all():
        logger.debug("fit_temperature: every example is classified correctly; keeping T = 1")
        return 1.0
    res = minimize_scalar(
        lambda t: _temperature_nll(logits, y, math.exp(t)),
        bounds=(math.log(lo), math.log(hi)),
        method="bounded",
        options={"xatol": 1e-6},
    )
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
    probs = prob_matrix(probs)
    y = class_indices(y, len(probs), probs.shape[1])
    conf = probs.max(1)
    correct = (probs.argmax(1) == y).astype(np.float64)
    idx = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(idx, weights=correct, minlength=n_bins)
    bins = []
    for b in range(n_bins):
        c = int(count[b])
        bins.append(
            ReliabilityBin(
                lower=b / n_bins,
                upper=(b + 1) / n_bins,
                confidence=float(conf_sum[b] / c) if c else None,
                accuracy=float(acc_sum[b] / c) if c else None,
                count=c,
            )
        )
    n = len(y)
    ece = float(np.abs(acc_sum - conf_sum).sum() / n) if n else None
    return ReliabilityBins(n_bins=n_bins, n=n, ece=ece, bins=bins)


def expected_calibration_error(probs: np.ndarray, y: Sequence[int], n_bins: int = 15) -> float | None:
    """Top-label expected calibration error with equal-width bins (Guo et al., 2017).

    ``ECE = sum_b |B_b| / n * |accuracy(B_b) - confidence(B_b)|``; ``None`` on empty input.
    See :func:`reliability_bins` for the binning.
    """
    return reliability_bins(probs, y, n_bins).ece
