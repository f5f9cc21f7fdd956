"""What every report section reads, derived once from the results: tables, groups, the best rows."""

from __future__ import annotations

import math
from collections.abc import Callable

from ..decisions.selection import BASELINE_INIT, DISTILLED_INIT, ENSEMBLE_INIT, SINGLE_INITS
from ..results import Metrics, ModelResult
from .analysis import best_seed_run, fasttext_effect, group_runs, summarize
from .document import Code, Plot
from .format import config_name, date, pm
from .view import n_test, num

MAX_MISCLASSIFIED_SHOWN = 15
RANKING_NOTE = (
    "Configurations are ranked by their validation scores; test scores are reported, never used to choose."
)

PlotFn = Callable[..., Plot | None]


class Context:
    """Facts every section reads, derived once from the results."""

    def __init__(self, results: Metrics, plot: PlotFn) -> None:
        self.r = results
        self.plot = plot  # (file name, alt text, figure function, *args) -> Plot, or None if it failed
        self.ds = results.dataset
        self.labels = results.labels
        self.groups = group_runs(results)
        self.summary = summarize(results)
        self.effect = fasttext_effect(results)
        self.neural = self.summary[~self.summary["init"].isin(SINGLE_INITS)].reset_index(drop=True)
        base = self.summary[self.summary["init"] == BASELINE_INIT]
        self.base_row = base.iloc[0] if not base.empty else None
        self.top = self.summary.iloc[0] if not self.summary.empty else None  # best on validation, any kind
        self.best_row = self.neural.iloc[0] if not self.neural.empty else None  # best neural on validation
        self.best_key = (self.best_row["model"], self.best_row["init"]) if self.best_row is not None else None
        self.max_seeds = int(self.neural["n_seeds"].max()) if not self.neural.empty else 0
        self.n_test = n_test(results)

    def meta_line(self) -> list:
        parts: list = [f"Created {date(self.r.created)}"]
        if self.ds.source:
            parts += [" · dataset ", Code(self.ds.source)]
        if self.ds.rows:
            parts.append(f" ({self.ds.rows:,} messages, {len(self.labels)} classes)")
        if self.r.device:
            parts += [" · device ", Code(self.r.device)]
        if self.r.world_size > 1:
            parts.append(f" · {self.r.world_size} training processes (torchrun, data-parallel)")
        return parts

    def params(self, model: str, init: str) -> float:
        return next((num(r.params) for r in self.groups.get((model, init), []) if r.params), math.nan)


def row_metric(row, metric: str) -> str:
    return pm(row[f"{metric}_mean"], row[f"{metric}_std"], int(row["n_seeds"]))


def name_of(row) -> str:
    """How prose names a summary row."""
    if row["init"] == BASELINE_INIT:
        return f"the TF-IDF + logistic-regression baseline ({row['model']})"
    if row["init"] == ENSEMBLE_INIT:
        return "the ensemble (soft vote chosen on validation)"
    if row["init"] == DISTILLED_INIT:
        return "the distilled student (one network trained on the ensemble's probabilities)"
    return config_name(row["model"], row["init"])


def short_name(row, run: ModelResult) -> str:
    """How tables name a summary row's representative run."""
    if row["init"] in SINGLE_INITS:
        return f"{row['model']} ({row['init']})" if row["init"] == BASELINE_INIT else row["model"]
    return config_name(row["model"], row["init"]) + (f" (seed {run.seed})" if run.seed is not None else "")


def representative(ctx: Context, model: str, init: str) -> ModelResult | None:
    """The run that stands for a summary row: the best seed on validation, or the baseline / ensemble."""
    if init == BASELINE_INIT:
        return ctx.r.baseline
    if init == ENSEMBLE_INIT:
        return ctx.r.ensemble
    if init == DISTILLED_INIT:
        return ctx.r.distilled
    runs = ctx.groups.get((model, init))
    return best_seed_run(runs) if runs else None
