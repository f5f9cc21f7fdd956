"""The report's analysis: pure functions over the parsed results (no plotting, no formatting).

``summarize``: one row per configuration and the baseline, ranked by the validation split
(:mod:`nlp_pp.decisions.selection`), with test scores reported beside. ``fasttext_effect``: FastText minus
random per model, with a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..decisions.selection import SINGLE_INITS, best_run, rank_configurations
from ..results import Metrics, ModelResult, RunResult
from .view import as_metrics, num

#: Smallest difference (in accuracy / macro-F1) that can count as a real effect, whatever the spread.
MIN_EFFECT = 0.002

SUMMARY_COLUMNS = [
    "model",
    "init",
    "n_seeds",
    "val_macro_f1_mean",
    "val_macro_f1_std",
    "val_accuracy_mean",
    "accuracy_mean",
    "accuracy_std",
    "macro_f1_mean",
    "macro_f1_std",
    "roc_auc_mean",
    "pr_auc_mean",
    "best_epoch_mean",
    "train_seconds_mean",
]
EFFECT_COLUMNS = [
    "model",
    "n_seeds",
    "paired",
    "accuracy_random",
    "accuracy_fasttext",
    "accuracy_diff",
    "accuracy_spread",
    "macro_f1_random",
    "macro_f1_fasttext",
    "macro_f1_diff",
    "macro_f1_spread",
    "ci_low",
    "ci_high",
    "p_value",
    "verdict",
]
INIT_ORDER = ("random", "fasttext")


def finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def mean(values: Iterable[float]) -> float:
    vals = finite(values)
    return float(np.mean(vals)) if vals else math.nan


def std(values: Iterable[float]) -> float:
    """Sample standard deviation (n-1); 0.0 for a single value, NaN for none."""
    vals = finite(values)
    if not vals:
        return math.nan
    return 0.0 if len(vals) == 1 else float(np.std(vals, ddof=1))


def group_runs(results: Metrics) -> dict[tuple[str, str], list[RunResult]]:
    """{(model, init): [runs]} in display order: models by first appearance, then random, fasttext, others."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for run in results.runs:
        groups.setdefault(run.configuration, []).append(run)
    models = list(dict.fromkeys(m for m, _ in groups))
    inits = list(dict.fromkeys(i for _, i in groups))

    def init_rank(i: str) -> tuple[int, int]:
        return (INIT_ORDER.index(i), 0) if i in INIT_ORDER else (len(INIT_ORDER), inits.index(i))

    return {k: groups[k] for k in sorted(groups, key=lambda k: (models.index(k[0]), init_rank(k[1])))}


def first_seed_run(runs: Sequence[RunResult]) -> RunResult:
    """The run with the lowest seed (seed 0 normally)."""
    return min(runs, key=lambda r: r.seed)


best_seed_run = best_run  # the seed with the best validation macro-F1: one rule (nlp_pp.decisions.selection)


def summarize(results: Any) -> pd.DataFrame:
    """One row per (model, init) configuration plus one for the baseline, best on validation first.

    Columns: ``model, init, n_seeds, val_macro_f1_mean, val_macro_f1_std, val_accuracy_mean,
    accuracy_mean, accuracy_std, macro_f1_mean, macro_f1_std, roc_auc_mean, pr_auc_mean,
    best_epoch_mean, train_seconds_mean``. ``val_*`` are validation scores averaged over the seeds: the rows
    are
    ranked by them (:func:`nlp_pp.decisions.selection.rank_configurations`). The other scores are *test*-set
    metrics averaged over the seeds; ``*_std`` is the sample standard deviation across seeds (n-1)
    and ``0.0`` -- not NaN -- for a single seed. The baseline row has ``init == "baseline"``.
    """
    res = as_metrics(results)
    rows = {config: _summary_row(*config, runs) for config, runs in group_runs(res).items()}
    for single in (res.baseline, res.ensemble, res.distilled):
        if single is not None:
            rows[single.configuration] = _summary_row(*single.configuration, [single])
    order = [
        (s.model, s.init) for s in rank_configurations(res.runs, res.baseline, res.ensemble, res.distilled)
    ]
    order = [k for k in order if k in rows] + [k for k in rows if k not in order]
    df = pd.DataFrame([rows[k] for k in order], columns=SUMMARY_COLUMNS)
    df[SUMMARY_COLUMNS[3:]] = df[SUMMARY_COLUMNS[3:]].astype(float)
    df["n_seeds"] = df["n_seeds"].astype(int)
    return df.reset_index(drop=True)


def _summary_row(model: str, init: str, runs: Sequence[ModelResult]) -> dict:
    acc = [r.test.get("accuracy") for r in runs]
    f1 = [r.test.get("macro_f1") for r in runs]
    return {
        "model": model,
        "init": init,
        "n_seeds": len(runs),
        "val_macro_f1_mean": mean(r.val.get("macro_f1") for r in runs),
        "val_macro_f1_std": std([r.val.get("macro_f1") for r in runs]),
        "val_accuracy_mean": mean(r.val.get("accuracy") for r in runs),
        "accuracy_mean": mean(acc),
        "accuracy_std": std(acc),
        "macro_f1_mean": mean(f1),
        "macro_f1_std": std(f1),
        "roc_auc_mean": mean(r.test.get("roc_auc") for r in runs),
        "pr_auc_mean": mean(r.test.get("pr_auc") for r in runs),
        "best_epoch_mean": mean(num(r.best_epoch) for r in runs) if init not in SINGLE_INITS else math.nan,
        "train_seconds_mean": mean(num(getattr(r, "train_seconds", None)) for r in runs),
    }


def verdict(diff: float, spread: float) -> str:
    """ "helps" / "hurts" when ``|diff|`` exceeds ``max(spread, MIN_EFFECT)``, else "no clear difference"."""
    if math.isnan(diff):
        return "no clear difference"
    threshold = max(0.0 if math.isnan(spread) else spread, MIN_EFFECT)
    if abs(diff) <= threshold + 1e-12:  # tolerance for float rounding at the boundary
        return "no clear difference"
    return "helps" if diff > 0 else "hurts"


def fasttext_effect(results: Any) -> pd.DataFrame:
    """Effect of FastText-initialised embeddings, per model trained with both ``random`` and ``fasttext``
    init.

    Columns: ``model, n_seeds, paired, accuracy_random, accuracy_fasttext, accuracy_diff,
    accuracy_spread, macro_f1_random, macro_f1_fasttext, macro_f1_diff, macro_f1_spread, verdict``.

    * ``*_diff`` = mean test metric of the fasttext runs minus that of the random runs.
    * ``paired`` is True when both inits were run with exactly the same seeds; then ``*_spread`` is
      the sample standard deviation (n-1) over seeds of the per-seed difference. Otherwise -- or
      with a single seed -- ``*_spread`` is NaN.
    * ``ci_low``, ``ci_high``, ``p_value``: the paired bootstrap of the test macro-F1 difference on
      the same test messages (``comparisons`` in metrics.json), when the run made it.
    * ``verdict`` (:func:`verdict`) is decided on macro-F1 (accuracy if macro-F1 is missing) and
      needs both kinds of evidence: the difference must exceed the seed-to-seed spread (and
      ``MIN_EFFECT``), and the bootstrap interval -- when there is one -- must exclude zero;
      otherwise it is "no clear difference".
    """
    res = as_metrics(results)
    groups = group_runs(res)
    tests = {(c.a, c.b): c for c in res.comparisons if c.kind == "fasttext vs random"}
    rows = []
    for model in dict.fromkeys(m for m, _ in groups):
        rand, ft = groups.get((model, "random")), groups.get((model, "fasttext"))
        if not rand or not ft:
            continue
        seeds_r, seeds_f = [r.seed for r in rand], [r.seed for r in ft]
        paired = (
            len(set(seeds_r)) == len(seeds_r)
            and len(set(seeds_f)) == len(seeds_f)
            and set(seeds_r) == set(seeds_f)
        )
        row: dict[str, Any] = {
            "model": model,
            "n_seeds": len(seeds_r) if paired else min(len(rand), len(ft)),
            "paired": bool(paired),
        }
        for metric in ("accuracy", "macro_f1"):
            vr, vf = [r.test.get(metric) for r in rand], [r.test.get(metric) for r in ft]
            row[f"{metric}_random"], row[f"{metric}_fasttext"] = mean(vr), mean(vf)
            row[f"{metric}_diff"] = mean(vf) - mean(vr)
            spread = math.nan
            if paired:
                by_r = dict(zip(seeds_r, vr))
                diffs = finite(f - by_r[s] for s, f in zip(seeds_f, vf))
                if len(diffs) >= 2:
                    spread = float(np.std(diffs, ddof=1))
            row[f"{metric}_spread"] = spread
        metric = "macro_f1" if not math.isnan(row["macro_f1_diff"]) else "accuracy"
        row["verdict"] = verdict(row[f"{metric}_diff"], row[f"{metric}_spread"])
        test = tests.get((f"{model} + fasttext", f"{model} + random"))
        row["ci_low"], row["ci_high"], row["p_value"] = (
            num(getattr(test, k, None)) for k in ("ci_low", "ci_high", "p_value")
        )
        if not math.isnan(row["ci_low"]) and row["ci_low"] <= 0 <= row["ci_high"]:
            row["verdict"] = "no clear difference"
        rows.append(row)
    df = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    floats = [c for c in EFFECT_COLUMNS if c.startswith(("accuracy", "macro", "ci_", "p_"))]
    df[floats] = df[floats].astype(float)
    df["n_seeds"] = df["n_seeds"].astype(int)
    df["paired"] = df["paired"].astype(bool)
    return df
