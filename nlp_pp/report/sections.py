"""The report's sections in reading order: answers first, then decisions, then the evidence.

Each section adds blocks to a :class:`~.document.Document` from the facts of a
:class:`~.context.Context`.
"""

from __future__ import annotations

from collections.abc import Callable

from .answers import fasttext, headline, significance, summary
from .context import Context
from .decisions import decisions, ensemble, explanations, misclassified
from .evidence import confusion, curves, data, neighbours, overview, reproducibility

__all__ = ["ALL", "Context"]

ALL: tuple[Callable, ...] = (
    headline,
    summary,
    fasttext,
    significance,
    decisions,
    ensemble,
    overview,
    curves,
    confusion,
    misclassified,
    explanations,
    data,
    neighbours,
    reproducibility,
)
