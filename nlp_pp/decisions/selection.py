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

from ..training.rundir import run_key


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


def _or_low(x: float) -> float:
    return -math.inf if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _val(run: dict, metric: str) -> float:
    v = (run.get("val") or {}).get(metric)
    return (
        float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else math.nan
    )


def _mean(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else math.nan


BASELINE_INIT = "baseline"  # the ``init`` of the baseline's row
ENSEMBLE_INIT = "ensemble"  # the ``init`` of the ensemble's row


def rank_configurations(
    runs: Sequence[dict], baseline: dict | None = None, ensemble: dict | None = None
) -> list[ConfigurationScore]:
    """Configurations of ``runs`` (metrics.json ``runs``), the baseline and the ensemble, best validation
    first.

    The ensemble's validation macro-F1 is its cross-fitted one (:mod:`nlp_pp.decisions.scoring`). Ties keep
    the order given (neural configurations in run order, then the baseline, then the ensemble).
    """
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((str(r.get("model")), str(r.get("init"))), []).append(r)
    scores = [
        ConfigurationScore(
            m, i, len(rs), _mean([_val(r, "macro_f1") for r in rs]), _mean([_val(r, "accuracy") for r in rs])
        )
        for (m, i), rs in groups.items()
    ]
    for row, init in ((baseline, BASELINE_INIT), (ensemble, ENSEMBLE_INIT)):
        if isinstance(row, dict):
            scores.append(
                ConfigurationScore(
                    str(row.get("name") or init), init, 1, _val(row, "macro_f1"), _val(row, "accuracy")
                )
            )
    return sorted(scores, key=lambda s: s.key, reverse=True)


def best_model(metrics: dict) -> str:
    """The model ``predict`` uses by default: the best seed of the best configuration, the baseline or the
    ensemble."""
    runs = list(metrics.get("runs") or [])
    ranked = rank_configurations(runs, metrics.get("baseline"), metrics.get("ensemble"))
    if not ranked:
        raise ValueError("no trained model")
    top = ranked[0]
    if top.init in (BASELINE_INIT, ENSEMBLE_INIT):
        return top.model
    r = best_run([r for r in runs if str(r.get("model")) == top.model and str(r.get("init")) == top.init])
    return run_key(r["model"], r["init"], r["seed"])


def best_run(runs: Sequence[dict]) -> dict:
    """The run with the best validation macro-F1 (then accuracy) among ``runs``; the first on ties."""
    if not runs:
        raise ValueError("no runs to choose from")
    best = runs[0]
    for r in runs[1:]:
        if (_or_low(_val(r, "macro_f1")), _or_low(_val(r, "accuracy"))) > (
            _or_low(_val(best, "macro_f1")),
            _or_low(_val(best, "accuracy")),
        ):
            best = r
    return best
