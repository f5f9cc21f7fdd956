"""Which configuration is best: chosen on the validation split only, everywhere.

The headline of the report, the order of its summary table and the model ``predict`` uses by
default all come from :func:`rank_configurations`. Test scores are reported, never used to choose:
choosing on the test set would make the reported test score optimistic.

A *configuration* is a model family with an embedding initialisation (``gru`` + ``fasttext``); its
validation score is the mean over its seeds of the validation macro-F1, then of the validation
accuracy to break ties. Within a configuration, the run used for predictions is the seed with the
best validation macro-F1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..results import BaselineResult, DistilledResult, EnsembleResult, Metrics, RunResult


@dataclass(frozen=True)
class ConfigurationScore:
    """A configuration's mean validation scores over its seeds."""

    model: str
    init: str
    n_seeds: int
    val_macro_f1: float
    val_accuracy: float

    @property
    def key(self) -> tuple[float, float]:
        """Sort key, higher is better; a missing score ranks last."""
        return (_or_low(self.val_macro_f1), _or_low(self.val_accuracy))

    @property
    def label(self) -> str:
        """How tables and comparisons name it: ``gru + fasttext``, or the baseline's / ensemble's name."""
        return self.model if self.init in SINGLE_INITS else f"{self.model} + {self.init}"


def _or_low(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def _mean(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else math.nan


BASELINE_INIT = "baseline"  # the ``init`` of the baseline's row
ENSEMBLE_INIT = "ensemble"  # the ``init`` of the ensemble's row
DISTILLED_INIT = "distilled"  # the ``init`` of the distilled student's row
SINGLE_INITS = (BASELINE_INIT, ENSEMBLE_INIT, DISTILLED_INIT)  # rows of one model each, named by their model


def rank_configurations(
    runs: Sequence[RunResult],
    baseline: BaselineResult | None = None,
    ensemble: EnsembleResult | None = None,
    distilled: DistilledResult | None = None,
) -> list[ConfigurationScore]:
    """Configurations of ``runs``, the baseline, the ensemble and the distilled student, best validation
    first.

    The ensemble's validation macro-F1 is its cross-fitted one (:mod:`nlp_pp.decisions.scoring`). It
    comes first exactly when its soft vote beat picking the best single member on cross-fitted
    validation (``beats_best_single``: by more than the margin plus one standard error); otherwise it
    ranks right after the best other row, whatever its score, so a tie or a gain within the noise never
    makes it the chosen model. Other ties keep the order given (neural configurations in run order,
    then the baseline, then the ensemble).
    """
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in runs:
        groups.setdefault(r.configuration, []).append(r)
    scores = [
        ConfigurationScore(
            m,
            i,
            len(rs),
            _mean([r.val.get("macro_f1") for r in rs]),
            _mean([r.val.get("accuracy") for r in rs]),
        )
        for (m, i), rs in groups.items()
    ]
    for row, init in ((baseline, BASELINE_INIT), (ensemble, ENSEMBLE_INIT), (distilled, DISTILLED_INIT)):
        if row is not None:
            scores.append(
                ConfigurationScore(row.name, init, 1, row.val.get("macro_f1"), row.val.get("accuracy"))
            )
    ranked = sorted(scores, key=lambda s: s.key, reverse=True)
    if ensemble is not None and len(ranked) > 1:
        row = next(s for s in ranked if s.init == ENSEMBLE_INIT)
        natural = ranked.index(row)
        ranked.remove(row)
        ranked.insert(0 if ensemble.beats_best_single else max(1, natural), row)
    return ranked


def best_model(metrics: Metrics) -> str:
    """The model ``predict`` uses by default: the best seed of the best configuration, the baseline or the
    ensemble."""
    ranked = rank_configurations(metrics.runs, metrics.baseline, metrics.ensemble, metrics.distilled)
    if not ranked:
        raise ValueError("no trained model")
    top = ranked[0]
    if top.init in SINGLE_INITS:
        return top.model
    return best_run([r for r in metrics.runs if r.configuration == (top.model, top.init)]).key


def best_run(runs: Sequence[RunResult]) -> RunResult:
    """The run with the best validation macro-F1 (then accuracy) among ``runs``; the first on ties."""
    if not runs:
        raise ValueError("no runs to choose from")
    best = runs[0]
    for r in runs[1:]:
        if (_or_low(r.val.get("macro_f1")), _or_low(r.val.get("accuracy"))) > (
            _or_low(best.val.get("macro_f1")),
            _or_low(best.val.get("accuracy")),
        ):
            best = r
    return best
