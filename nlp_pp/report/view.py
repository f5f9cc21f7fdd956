"""How the report reads its input: ``metrics.json`` as typed :class:`~nlp_pp.results.Metrics`, parsed once.

The report's functions take a :class:`~nlp_pp.results.Metrics` (or the dict of a ``metrics.json``,
which is parsed here). Missing numbers are ``None`` in the results; :func:`num` turns them into NaN,
which the formatting helpers show as a dash.
"""

from __future__ import annotations

import math
from typing import Any

from ..results import Metrics


def as_metrics(results: Metrics | dict) -> Metrics:
    """``results`` as typed :class:`~nlp_pp.results.Metrics` (a ``metrics.json`` dict is parsed, checked)."""
    return results if isinstance(results, Metrics) else Metrics.from_dict(results, where="metrics")


def num(x: Any) -> float:
    """``float(x)``, or NaN for None, booleans, non-numbers and non-finite values."""
    if x is None or isinstance(x, bool):
        return math.nan
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def n_test(results: Metrics) -> float:
    """Messages in the test split (NaN when unknown)."""
    return num(results.dataset.split.test) if results.dataset.split.test else math.nan
