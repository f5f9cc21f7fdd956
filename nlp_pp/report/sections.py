"""The report's sections, in reading order: each adds blocks to a :class:`~.document.Document`.

The first answer is *which configuration is best on the validation split*; the test scores beside
it are what to expect on new messages. Nothing here chooses on the test set.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

import numpy as np

from ..decisions.selection import BASELINE_INIT, ENSEMBLE_INIT
from . import plots
from .analysis import (
    MIN_EFFECT,
    best_seed_run,
    fasttext_effect,
    finite,
    first_seed_run,
    group_runs,
    summarize,
)
from .document import Badge, Bold, Code, Document, Plot, Weighted
from .format import (
    DASH,
    config_name,
    count,
    date,
    epoch,
    f3,
    isnan,
    join,
    pct,
    pm,
    secs,
    signed,
    slug,
    truncate,
)
from .view import Results, RunRecord, Scores, num

MAX_MISCLASSIFIED_SHOWN = 15
RANKING_NOTE = (
    "Configurations are ranked by their validation scores; test scores are reported, never used to choose."
)

PlotFn = Callable[..., Plot | None]


class Context:
    """Facts every section reads, derived once from the results."""

    def __init__(self, results: Results, plot: PlotFn) -> None:
        self.r = results
        self.plot = plot  # (file name, alt text, figure function, *args) -> Plot, or None if it failed
        self.ds = results.dataset
        self.labels = results.labels
        self.groups = group_runs(results)
        self.summary = summarize(results)
        self.effect = fasttext_effect(results)
        self.neural = self.summary[~self.summary["init"].isin((BASELINE_INIT, ENSEMBLE_INIT))].reset_index(
            drop=True
        )
        base = self.summary[self.summary["init"] == BASELINE_INIT]
        self.base_row = base.iloc[0] if not base.empty else None
        self.top = self.summary.iloc[0] if not self.summary.empty else None  # best on validation, any kind
        self.best_row = self.neural.iloc[0] if not self.neural.empty else None  # best neural on validation
        self.best_key = (self.best_row["model"], self.best_row["init"]) if self.best_row is not None else None
        self.max_seeds = int(self.neural["n_seeds"].max()) if not self.neural.empty else 0
        self.n_test = results.n_test

    def meta_line(self) -> list:
        parts: list = [f"Created {date(self.r.created)}"]
        if self.ds.get("source"):
            parts += [" · dataset ", Code(str(self.ds["source"]))]
        rows = num(self.ds.get("rows"))
        if not math.isnan(rows):
            parts.append(f" ({int(rows):,} messages, {len(self.labels)} classes)")
        if self.r.device:
            parts += [" · device ", Code(self.r.device)]
        return parts

    def params(self, model: str, init: str) -> float:
        return next(
            (r.params for r in self.groups.get((model, init), []) if not math.isnan(r.params)), math.nan
        )


def row_metric(row, metric: str) -> str:
    return pm(row[f"{metric}_mean"], row[f"{metric}_std"], int(row["n_seeds"]))


def _name(row) -> str:
    if row["init"] == BASELINE_INIT:
        return f"the TF-IDF + logistic-regression baseline ({row['model']})"
    if row["init"] == ENSEMBLE_INIT:
        return "the ensemble (soft vote chosen on validation)"
    return config_name(row["model"], row["init"])


def representative(ctx: Context, model: str, init: str) -> RunRecord | None:
    """The run that stands for a summary row: the best seed on validation, or the baseline / ensemble."""
    if init == BASELINE_INIT:
        return ctx.r.baseline
    if init == ENSEMBLE_INIT:
        return ctx.r.ensemble
    runs = ctx.groups.get((model, init))
    return best_seed_run(runs) if runs else None


# --------------------------------------------------------------------------- headline


def headline(doc: Document, ctx: Context) -> None:
    items: list = []
    top, best, base = ctx.top, ctx.best_row, ctx.base_row
    if top is None:
        items.append([Bold("No runs"), " were recorded in these results."])
    else:
        n = int(top["n_seeds"])
        seeds_txt = f" (mean ± std over {n} seeds)" if n > 1 else " (single seed)"
        test_n = f" on {int(ctx.n_test):,} test messages" if not math.isnan(ctx.n_test) else ""
        items.append(
            [
                Bold("Best on validation: "),
                Bold(_name(top)),
                f" — validation macro-F1 {f3(top['val_macro_f1_mean'])}; test accuracy "
                f"{row_metric(top, 'accuracy')}, macro-F1 {row_metric(top, 'macro_f1')}{seeds_txt}{test_n}.",
            ]
            + _runner_up(ctx)
        )
    if base is None:
        items.append(
            [Bold("Baseline: "), "no TF-IDF baseline was run, so there is no simple bar to compare against."]
        )
    elif best is not None:
        items.append([Bold("Baseline: "), *_baseline_sentence(ctx)])
    if best is not None:
        items.append([Bold("FastText: "), fasttext_sentence(ctx)])
    if top is not None:
        op = _operating_sentence(ctx, top)
        if op:
            items.append([Bold("Decision: "), op])
    ens = ctx.r.ensemble_info
    if ens.get("members") and not ens.get("beats_best_single", True):
        items.append(
            [
                Bold("Ensemble: "),
                "the soft vote does not beat the best single model on validation "
                "(cross-fitted), so it adds nothing here.",
            ]
        )
    doc.ul(items, cls="headline")
    doc.note(RANKING_NOTE)


def _operating_sentence(ctx: Context, row) -> str:
    run = representative(ctx, row["model"], row["init"])
    if run is None or not run.decision.has_threshold:
        return ""
    d, at = run.decision, run.decision.at_threshold
    pos = ctx.ds.get("positive_label") or "the positive class"
    s = (
        f"at the threshold chosen on validation ({d.policy}: {d.threshold:.3f}), it catches "
        f"{pct(at.get('recall'))} of the {pos} messages of the test set (precision "
        f"{pct(at.get('precision'))}), "
        f"with {count(at.get('false_positives_per_10k'))} false alarms per 10,000 other messages and "
        f"{count(at.get('missed_per_1k'))} missed per 1,000 {pos}."
    )
    if not d.met:
        s += f" The policy could not be met on validation: {d.note}."
    return s


def _runner_up(ctx: Context) -> list:
    s = ctx.summary
    if len(s) < 2:
        return []
    first, second = s.iloc[0], s.iloc[1]
    gap = float(first["val_macro_f1_mean"]) - float(second["val_macro_f1_mean"])
    if math.isnan(gap):
        return []
    name = _name(second)
    if round(gap, 4) == 0:
        return [
            f" The runner-up, {name}, has the same validation macro-F1: the ranking between these two is "
            "not conclusive."
        ]
    noise = max(
        [float(x) for x in (first["val_macro_f1_std"], second["val_macro_f1_std"]) if not isnan(x)]
        + [MIN_EFFECT]
    )
    if gap <= noise + 1e-12:
        return [
            f" The runner-up, {name}, is only {gap:.4f} behind on validation macro-F1 — within the noise "
            f"level (≤ {noise:.4f}), so the ranking between these two is not conclusive."
        ]
    return [f" Runner-up: {name}, {gap:.4f} behind on validation macro-F1."]


def _baseline_sentence(ctx: Context) -> list:
    best, base = ctx.best_row, ctx.base_row
    b_val, b_f1, b_acc = (float(base[k]) for k in ("val_macro_f1_mean", "macro_f1_mean", "accuracy_mean"))
    margin = float(best["val_macro_f1_mean"]) - b_val
    test_margin = float(best["macro_f1_mean"]) - b_f1
    base_txt = (
        f"TF-IDF + logistic-regression baseline (validation macro-F1 {f3(b_val)}; test macro-F1 "
        f"{f3(b_f1)}, accuracy {f3(b_acc)})"
    )
    n_beat = int((ctx.neural["val_macro_f1_mean"] > b_val).sum())
    of = f"{n_beat} of {len(ctx.neural)} neural configurations score above it on validation."
    if math.isnan(margin):
        return [f"the {base_txt} could not be compared (missing validation scores)."]
    if round(margin, 4) == 0:
        return [f"the best neural configuration and the {base_txt} are tied on validation macro-F1. ", of]
    if margin > 0:
        noise = max(0.0 if isnan(best["val_macro_f1_std"]) else float(best["val_macro_f1_std"]), MIN_EFFECT)
        size = "only " if margin <= noise + 1e-12 else ""
        return [
            f"the best neural configuration, {config_name(best['model'], best['init'])}, is ahead of the "
            f"{base_txt} by {size}{signed(margin)} validation macro-F1 ({signed(test_margin)} on the test "
            "set)"
            + (
                f" — within the noise level (≤ max(std, {MIN_EFFECT})), so treat them as tied. "
                if size
                else ". "
            ),
            of,
        ]
    return [
        Bold("no neural configuration beats the TF-IDF baseline on validation"),
        f" — the {base_txt} is ahead of the best neural configuration, "
        f"{config_name(best['model'], best['init'])}, "
        f"by {signed(-margin)} validation macro-F1.",
    ]


def fasttext_sentence(ctx: Context) -> str:
    eff = ctx.effect
    if eff.empty:
        has_ft = any(i == "fasttext" for _, i in ctx.groups)
        return (
            "FastText initialisation could not be assessed: no model was trained with both random and "
            "FastText-initialised embeddings."
            if has_ft
            else "FastText initialisation was not tested in this run (no model used FastText-initialised "
            "embeddings)."
        )
    by: dict[str, list[str]] = {"helps": [], "hurts": [], "no clear difference": []}
    for _, row in eff.iterrows():
        by.setdefault(row["verdict"], []).append(f"{row['model']} ({signed(row['macro_f1_diff'])})")
    phrases = []
    if by["helps"]:
        phrases.append(f"helps {join(by['helps'])}")
    if by["hurts"]:
        phrases.append(f"hurts {join(by['hurts'])}")
    if by["no clear difference"]:
        phrases.append(f"makes no clear difference for {join(by['no clear difference'])}")
    s = (
        "FastText initialisation "
        + "; ".join(phrases)
        + " (change in mean test macro-F1, FastText minus random)."
    )
    if not by["helps"]:
        s += " It does not clearly help any model in this run."
    if int(eff["n_seeds"].max()) <= 1:
        s += " Only one seed per configuration, so these verdicts are indicative only."
    return s


# --------------------------------------------------------------------------- tables


def summary(doc: Document, ctx: Context) -> None:
    doc.h2("Summary of all configurations", "summary")
    s = ctx.summary
    if s.empty:
        doc.p("No results to summarise.")
        return
    has_auc = s["roc_auc_mean"].notna().any()
    header = ["#", "model", "init", "seeds", "val macro-F1", "test accuracy", "test macro-F1"]
    align = "rllrrrr"
    if has_auc:
        header += ["test ROC-AUC", "test PR-AUC"]
        align += "rr"
    header += ["best epoch", "train time / run", "parameters"]
    align += "rrr"
    rows, classes = [], []
    for i, row in s.iterrows():
        is_base = row["init"] == BASELINE_INIT
        single = row["init"] in (BASELINE_INIT, ENSEMBLE_INIT)
        cells = [
            str(i + 1),
            Bold(row["model"]) if i == 0 else row["model"],
            f"— ({row['init']})" if single else row["init"],
            str(int(row["n_seeds"])),
            f3(row["val_macro_f1_mean"]),
            row_metric(row, "accuracy"),
            row_metric(row, "macro_f1"),
        ]
        if has_auc:
            cells += [f3(row["roc_auc_mean"]), f3(row["pr_auc_mean"])]
        cells += [
            epoch(row["best_epoch_mean"]),
            secs(row["train_seconds_mean"]),
            DASH if single else count(ctx.params(row["model"], row["init"])),
        ]
        rows.append(cells)
        classes.append("best" if i == 0 else ("baseline" if is_base else None))
    doc.table(header, rows, align, classes)
    notes = [RANKING_NOTE + " Ranked by mean validation macro-F1, then validation accuracy."]
    if ctx.base_row is not None:
        notes.append(" The TF-IDF + logistic-regression baseline is the row marked “— (baseline)”.")
    if ctx.r.ensemble is not None:
        notes.append(
            " The ensemble's validation macro-F1 is cross-fitted (weights chosen on one half of the "
            "validation split, scored on the other)."
        )
    if has_auc:
        notes.append(
            " Test accuracy and macro-F1 decide by the most probable label; the section “Decisions” "
            "gives the scores at each model's chosen threshold."
        )
    if ctx.max_seeds > 1:
        notes.append(" ± is the standard deviation across seeds (sample std, n−1).")
    elif ctx.max_seeds == 1:
        notes.append(
            " Each configuration was trained once (one seed), so there is no spread estimate and "
            "small differences may be noise."
        )
    if not math.isnan(ctx.n_test) and ctx.n_test > 0:
        notes.append(
            f" With {int(ctx.n_test):,} test messages, one message is worth {1 / ctx.n_test:.4f} accuracy."
        )
    doc.note(*notes)


def fasttext(doc: Document, ctx: Context) -> None:
    doc.h2("Does FastText initialisation help?", "fasttext-effect")
    eff = ctx.effect
    doc.p(fasttext_sentence(ctx))
    if eff.empty:
        return
    spread = lambda v: DASH if isnan(v) else f"{v:.4f}"
    ci = lambda r: DASH if isnan(r["ci_low"]) else f"[{signed(r['ci_low'])}, {signed(r['ci_high'])}]"
    rows = [
        [
            Bold(row["model"]),
            f"{int(row['n_seeds'])}" + ("" if row["paired"] else " (unpaired)"),
            f3(row["accuracy_random"]),
            f3(row["accuracy_fasttext"]),
            signed(row["accuracy_diff"]),
            spread(row["accuracy_spread"]),
            f3(row["macro_f1_random"]),
            f3(row["macro_f1_fasttext"]),
            signed(row["macro_f1_diff"]),
            spread(row["macro_f1_spread"]),
            ci(row),
            DASH if isnan(row["p_value"]) else f"{row['p_value']:.3f}",
            Badge(row["verdict"]),
        ]
        for _, row in eff.iterrows()
    ]
    doc.table(
        [
            "model",
            "seeds",
            "acc. random",
            "acc. FastText",
            "Δ acc.",
            "spread",
            "macro-F1 random",
            "macro-F1 FastText",
            "Δ macro-F1",
            "spread",
            "95% interval",
            "p",
            "verdict",
        ],
        rows,
        "lrrrrrrrrrrrl",
    )
    n_msg = ""
    if not math.isnan(ctx.n_test) and ctx.n_test > 0:
        n_msg = f" ({MIN_EFFECT} ≈ {MIN_EFFECT * ctx.n_test:.1f} of the {int(ctx.n_test):,} test messages)"
    doc.note(
        "How to read this: Δ = mean test score with FastText-initialised embeddings minus mean with random "
        "initialisation. “spread” is the standard deviation over seeds of the per-seed paired difference "
        "(same seed, both inits); it is “—” when the seeds do not match or there is only one seed. ",
        Bold("Rule: "),
        f"the verdict uses macro-F1 and says “no clear difference” when |Δ| ≤ max(spread, "
        f"{MIN_EFFECT}){n_msg} or when the 95% interval of a paired bootstrap on the same test messages "
        "(1,000 resamples) contains zero; otherwise “helps” (Δ > 0) or “hurts” (Δ < 0).",
    )
    ft = ctx.r.fasttext
    if ft is not None:
        doc.note(*fasttext_training(ft))


def fasttext_training(ft: dict) -> list:
    """What the FastText vectors were trained on, in one paragraph."""
    parts: list = []
    if ft.get("source") == "trained":
        parts.append(
            f"FastText was trained on the {count(num(ft.get('labelled_texts')))} texts of the training split"
        )
        if ft.get("unlabeled_texts") is not None:
            parts += [
                f" and {count(num(ft.get('unlabeled_texts')))} unlabelled texts from ",
                *[x for f in ft.get("unlabeled_files") or [] for x in (Code(str(f)), " ")],
                f"({count(num(ft.get('dropped_val_test')))} texts of the validation and test splits found "
                "there were left out)",
            ]
    else:
        parts += ["FastText vectors from ", Code(str(ft.get("source")))]
        if ft.get("pretrained_texts") is not None:
            parts.append(
                f", pretrained on {count(num(ft.get('pretrained_texts')))} texts; they saw "
                f"{count(num(ft.get('seen_val_texts')))} validation and "
                f"{count(num(ft.get('seen_test_texts')))} "
                "test texts of this run"
            )
    parts.append(
        f". Dimension {count(num(ft.get('dim')))}, {count(num(ft.get('vectors_trained')))} words; they "
        f"know {pct(num(ft.get('coverage_train_tokens')))} of the training split's token occurrences and "
        f"give a vector to {pct(num(ft.get('coverage')))} of the vocabulary (through character n-grams "
        "for words they did not see whole)."
    )
    return parts


# --------------------------------------------------------------------------- figures


def overview(doc: Document, ctx: Context) -> None:
    doc.h2("Overview chart", "overview")
    if ctx.neural.empty:
        doc.p("No neural configurations to plot.")
        return
    p = ctx.plot(
        "overview.png", "Test accuracy and macro-F1 of every configuration", plots.plot_overview, ctx.summary
    )
    cap = "Test accuracy (left) and macro-F1 (right) per model; bar colour = embedding initialisation"
    cap += "; dashed line = TF-IDF baseline." if ctx.base_row is not None else " (no baseline was run)."
    if ctx.max_seeds > 1:
        cap += " Bars show the mean over seeds, error bars ±1 std."
    cap += " The y-axis is zoomed in and does not start at 0, to make small differences visible."
    doc.figure(
        p, cap if p is not None else "(overview chart could not be drawn — see the warnings of the run)"
    )


def curves(doc: Document, ctx: Context) -> None:
    doc.h2("Training curves", "curves")
    shown = [first_seed_run(runs) for runs in ctx.groups.values()]
    if not shown:
        doc.p("No training runs.")
        return
    p = ctx.plot(
        "training_curves.png", "Training and validation loss and accuracy per epoch", plots.plot_curves, shown
    )
    cap = (
        "Loss and accuracy per epoch, train (solid) vs validation (dashed); the dotted line and ★ mark the "
        "selected best epoch."
    )
    if ctx.max_seeds > 1:
        cap += (
            " Several seeds were trained: only the first (lowest) seed of each configuration is shown; "
            "every run is listed in the table below."
        )
    doc.figure(
        p, cap if p is not None else "(training curves could not be drawn — see the warnings of the run)"
    )
    rows = [
        [
            config_name(m, i),
            DASH if run.seed is None else str(run.seed),
            epoch(run.best_epoch),
            epoch(run.epochs_run),
            f3(run.val.accuracy),
            f3(run.val.macro_f1),
            f3(run.test.accuracy),
            f3(run.test.macro_f1),
            secs(run.train_seconds),
        ]
        for (m, i), runs in ctx.groups.items()
        for run in runs
    ]
    doc.h3("All runs")
    doc.table(
        [
            "configuration",
            "seed",
            "best epoch",
            "epochs run",
            "val acc.",
            "val macro-F1",
            "test acc.",
            "test macro-F1",
            "train time",
        ],
        rows,
        "lrrrrrrrr",
    )


def _per_class_table(test: Scores, labels: Sequence[str]) -> tuple | None:
    if not test.per_class:
        return None
    names = [lab for lab in labels if lab in test.per_class] + [k for k in test.per_class if k not in labels]
    rows = [
        [
            name,
            f3(test.per_class[name]["precision"]),
            f3(test.per_class[name]["recall"]),
            f3(test.per_class[name]["f1"]),
            count(test.per_class[name]["support"]),
        ]
        for name in names
    ]
    return (["class", "precision", "recall", "F1", "support"], rows, "lrrrr")


def confusion(doc: Document, ctx: Context) -> None:
    doc.h2("Confusion matrices and per-class scores", "confusion")
    entries: list[tuple[str, list, RunRecord]] = []
    for (m, i), runs in ctx.groups.items():
        run = best_seed_run(runs)
        title = config_name(m, i) + (f" (seed {run.seed})" if run.seed is not None else "")
        entries.append((title, [" ", Badge("best")] if (m, i) == ctx.best_key else [], run))
    if ctx.r.baseline is not None:
        entries.append((f"{ctx.r.baseline.model} (baseline)", [], ctx.r.baseline))
    if not entries:
        doc.p("No confusion matrices available.")
        return
    cards = []
    for title, badge, run in entries:
        p = None
        if run.test.confusion is not None:
            name = "baseline" if run.init == BASELINE_INIT else f"{slug(run.model)}_{slug(run.init)}"
            p = ctx.plot(
                f"confusion_{name}.png",
                f"Confusion matrix {title}",
                plots.plot_confusion,
                run.test.confusion,
                ctx.labels,
                title,
            )
        cards.append(([title] + badge, p, _per_class_table(run.test, ctx.labels)))
    doc.note(
        "Rows = true class, columns = predicted class; each cell shows the count and the share of its row "
        "(i.e. recall for the diagonal). For configurations with several seeds the matrix is from the seed "
        "with the highest ",
        Bold("validation"),
        " macro-F1 (not picked on the test set).",
    )
    doc.cards(cards)


def misclassified(doc: Document, ctx: Context) -> None:
    doc.h2("Misclassified messages", "errors")
    if ctx.best_key is None:
        doc.p("No neural runs.")
        return
    run = best_seed_run(ctx.groups[ctx.best_key])
    who = config_name(*ctx.best_key) + (f" (seed {run.seed})" if run.seed is not None else "")
    if not run.misclassified:
        doc.p(f"No misclassified messages were recorded for {who}.")
        return
    shown = run.misclassified[:MAX_MISCLASSIFIED_SHOWN]
    intro = (
        f"A sample from the best neural configuration, {who}: showing {len(shown)} of the "
        f"{len(run.misclassified)} recorded"
    )
    cm = run.test.confusion
    if cm is not None:
        wrong, total = int(cm.sum() - np.trace(cm)), int(cm.sum())
        intro += f"; the run misclassified {wrong:,} of {total:,} test messages in total"
    doc.p(intro + ". Messages longer than 300 characters are truncated.")
    rows = [[str(k), m.true, m.pred, f3(m.prob), truncate(m.text)] for k, m in enumerate(shown, 1)]
    doc.table(["#", "true", "predicted", "prob.", "message"], rows, "rllrm")
    doc.note("prob. = the probability the model reported with this prediction.")


# --------------------------------------------------------------------------- data


def data(doc: Document, ctx: Context) -> None:
    doc.h2("Data and vocabulary", "data")
    ds = ctx.ds
    if not ds:
        doc.p("No dataset information recorded.")
        return
    doc.p(
        "Source ",
        Code(str(ds.get("source", DASH))),
        f" (encoding {ds.get('encoding', DASH)}; text column ",
        Code(str(ds.get("text_col", DASH))),
        ", label column ",
        Code(str(ds.get("label_col", DASH))),
        ").",
    )
    doc.h3("Rows")
    doc.table(
        ["", "messages"],
        [
            ["rows read", count(num(ds.get("rows_read")))],
            ["dropped: missing text or label", count(num(ds.get("dropped_missing")))],
            ["dropped: duplicates", count(num(ds.get("dropped_duplicates")))],
            ["empty after cleaning (kept, classified as empty)", count(num(ds.get("dropped_empty")))],
            [Bold("rows used"), Bold(count(num(ds.get("rows"))))],
        ],
        "lr",
    )

    doc.h3("Class balance")
    counts = ds.get("class_counts") if isinstance(ds.get("class_counts"), dict) else {}
    if counts:
        total = sum(finite(num(v) for v in counts.values())) or 1.0
        names = [lab for lab in ctx.labels if lab in counts] + [k for k in counts if k not in ctx.labels]
        pos = ds.get("positive_label")
        doc.table(
            ["class", "messages", "share"],
            [
                [
                    str(n) + (" (positive)" if pos is not None and n == pos else ""),
                    count(num(counts[n])),
                    pct(num(counts[n]) / total),
                ]
                for n in names
            ],
            "lrr",
        )
        p = ctx.plot("class_balance.png", "Class balance", plots.plot_class_balance, counts, ctx.labels)
        if p is not None:
            doc.figure(p, "Messages per class after cleaning.")
    else:
        doc.p("No class counts recorded.")

    split = ds.get("split") if isinstance(ds.get("split"), dict) else {}
    if split:
        doc.h3("Splits")
        tot = sum(finite(num(split.get(k)) for k in ("train", "val", "test"))) or 1.0
        doc.table(
            ["split", "messages", "share"],
            [
                [k, count(num(split.get(k))), pct(num(split.get(k)) / tot)]
                for k in ("train", "val", "test")
                if k in split
            ],
            "lrr",
        )
        src = str(split.get("test_source") or "")
        if src.startswith("file:"):
            doc.note("The test set comes from a separate file: ", Code(src[5:]), ".")
        elif src:
            doc.note("The test set is a held-out part of the same file (", Code(src), ").")

    lengths = ds.get("lengths") if isinstance(ds.get("lengths"), dict) else {}
    if lengths:
        doc.h3("Message length (tokens)")
        mean_len = num(lengths.get("mean"))
        doc.table(
            ["token count (train split)", "tokens"],
            [
                ["mean", DASH if math.isnan(mean_len) else f"{mean_len:.1f}"],
                ["median", epoch(num(lengths.get("median")))],
                ["95th percentile", epoch(num(lengths.get("p95")))],
                ["max", epoch(num(lengths.get("max")))],
                [Bold("context length used"), Bold(epoch(num(lengths.get("context_length"))))],
            ],
            "lr",
        )
        p = ctx.plot("lengths.png", "Histogram of tokens per message", plots.plot_lengths, lengths)
        cap = "Tokens per message in the training split; the dashed line is the context length"
        if lengths.get("percentile") is not None:
            cap += (
                f" (chosen as the {epoch(num(lengths.get('percentile')))}th percentile of training lengths)"
            )
        cap += ". Longer messages are truncated to the context length."
        doc.figure(p, cap if p is not None else "(length histogram not available)")

    vocab = ds.get("vocab") if isinstance(ds.get("vocab"), dict) else {}
    if vocab:
        doc.h3("Vocabulary")
        doc.table(
            ["", "value"],
            [
                ["vocabulary size", count(num(vocab.get("size")))],
                ["min_count (minimum frequency to keep a token)", count(num(vocab.get("min_count")))],
                ["rare tokens dropped (below min_count)", count(num(vocab.get("rare_dropped")))],
                ["coverage of train tokens", pct(num(vocab.get("coverage_train")))],
                ["coverage of test tokens", pct(num(vocab.get("coverage_test")))],
            ],
            "lr",
        )
        doc.note(
            "Coverage = share of token occurrences that are in the vocabulary (the rest become the unknown "
            "token)."
        )


def neighbours(doc: Document, ctx: Context) -> None:
    doc.h2("FastText nearest neighbours", "neighbours")
    ft = ctx.r.fasttext
    nb = ft.get("neighbours") if ft is not None else None
    if not isinstance(nb, dict) or not nb:
        doc.p("No FastText vectors in this run." if ft is None else "No neighbours recorded.")
        return
    rows = []
    for word, lst in nb.items():
        items = [
            f"{pair[0]} ({num(pair[1]):.2f})"
            if isinstance(pair, (list, tuple)) and len(pair) >= 2 and not isnan(pair[1])
            else str(pair[0] if isinstance(pair, (list, tuple)) and pair else pair)
            for pair in (lst if isinstance(lst, list) else [])
        ]
        rows.append([Bold(str(word)), ", ".join(items)])
    doc.table(["word", "nearest neighbours (cosine similarity)"], rows, "lm")
    doc.note(
        "Neighbours of a few frequent words in the FastText space — a sanity check that the vectors "
        "capture meaning (related words should be close)."
    )


def reproducibility(doc: Document, ctx: Context) -> None:
    doc.h2("Reproducibility", "repro")
    ds, r = ctx.ds, ctx.r
    doc.table(
        ["", ""],
        [
            ["run name", Code(r.name)],
            ["created", date(r.created)],
            ["dataset", Code(str(ds.get("source", DASH)))],
            ["dataset sha256", Code(str(ds.get("sha256", DASH)))],
            ["device", r.device or DASH],
        ],
        "ll",
    )
    if r.versions:
        doc.h3("Package versions")
        doc.table(["package", "version"], [[str(k), str(v)] for k, v in r.versions.items()], "ll")
    if r.timings:
        doc.h3("Time per stage")
        total = sum(finite(num(v) for v in r.timings.values()))
        rows = [
            [str(k), secs(num(v)), pct(num(v) / total) if total > 0 else DASH] for k, v in r.timings.items()
        ]
        doc.table(["stage", "time", "share"], rows + [[Bold("total"), Bold(secs(total)), ""]], "lrr")
    doc.h3("Exact configuration")
    doc.pre(
        json.dumps(r.config if r.config is not None else {}, indent=2, ensure_ascii=False, default=str),
        "json",
    )


# --------------------------------------------------------------------------- decisions


def decisions(doc: Document, ctx: Context) -> None:
    doc.h2("Decisions: threshold and calibrated probabilities", "decisions")
    entries = [(row, representative(ctx, row["model"], row["init"])) for _, row in ctx.summary.iterrows()]
    entries = [(row, run) for row, run in entries if run is not None]
    if not entries:
        doc.p("No models to decide with.")
        return
    binary = ctx.r.binary
    header = ["model", "temperature", "ECE before", "ECE after"]
    align = "lrrr"
    if binary:
        header += [
            "policy",
            "threshold",
            "test precision",
            "test recall",
            "false alarms / 10k",
            "missed / 1k",
        ]
        align += "lrrrrr"
    rows = []
    for row, run in entries:
        d = run.decision
        cells = [
            _short_name(row, run),
            f"{d.temperature:.2f}" if not isnan(d.temperature) else DASH,
            f3(d.ece_before),
            f3(d.ece_after),
        ]
        if binary:
            at = d.at_threshold
            policy = d.policy + ("" if d.met else " (not met)")
            cells += [
                policy or DASH,
                f3(d.threshold),
                f3(at.get("precision")),
                f3(at.get("recall")),
                count(at.get("false_positives_per_10k")),
                count(at.get("missed_per_1k")),
            ]
        rows.append(cells)
    doc.table(header, rows, align)
    notes = [
        "Temperature scaling divides a model's scores by one number fitted on the validation split, so "
        "that a reported probability of 0.9 is right about 9 times in 10; ECE (expected calibration "
        "error) measures the gap on the test split, before and after."
    ]
    if binary:
        notes.append(
            " Each threshold was chosen on the calibrated validation probabilities by the policy shown "
            "(f1: the highest F1; precision:X: the lowest threshold whose precision reaches X; "
            "recall:X: the highest whose recall reaches X; fixed:X); the test columns are what it gives "
            "on new messages. A message is flagged when its probability reaches the threshold."
        )
        unmet = [
            f"{_short_name(row, run)}: {run.decision.note}" for row, run in entries if not run.decision.met
        ]
        if unmet:
            notes.append(" Not met on validation, so a fallback was used — " + "; ".join(unmet) + ".")
    else:
        notes.append(
            " With more than two labels every model decides by the most probable label (no threshold)."
        )
    doc.note(*notes)
    if binary:
        curves = [(_short_name(row, run), run.decision) for row, run in entries if run.decision.pr_curve[0]]
        if curves:
            p = ctx.plot("pr_roc.png", "Precision-recall and ROC curves", plots.plot_pr_roc, curves)
            doc.figure(
                p,
                "Test precision-recall (left) and ROC (right) curves of every configuration (its best "
                "seed on validation), the baseline and the ensemble; ● marks each model's chosen "
                "operating point."
                if p is not None
                else "(curves could not be drawn)",
            )
    rel = ctx.r.raw.get("reliability")
    if isinstance(rel, dict) and rel.get("model"):
        title = f"Reliability of {rel['model']} (best on validation)"
        p = ctx.plot("reliability.png", title, plots.plot_reliability, rel, title)
        doc.figure(
            p,
            "Accuracy against confidence on the test split, in 15 bins, before and after temperature "
            "scaling; the diagonal is perfect calibration."
            if p is not None
            else "(no diagram)",
        )


def _short_name(row, run: RunRecord) -> str:
    if row["init"] in (BASELINE_INIT, ENSEMBLE_INIT):
        return f"{row['model']} ({row['init']})" if row["init"] == BASELINE_INIT else "ensemble"
    return config_name(row["model"], row["init"]) + (f" (seed {run.seed})" if run.seed is not None else "")


def ensemble(doc: Document, ctx: Context) -> None:
    info = ctx.r.ensemble_info
    if not info.get("members"):
        return
    doc.h2("Ensemble", "ensemble")
    members = info.get("members") or []
    weights = info.get("weights") or []
    doc.table(["member", "weight"], [[str(m), f"{num(w):.2f}"] for m, w in zip(members, weights)], "lr")
    cf = info.get("cross_fitted") if isinstance(info.get("cross_fitted"), dict) else {}
    verdict = "beats" if info.get("beats_best_single") else "does not beat"
    doc.p(
        "A soft vote of the members' calibrated probabilities, chosen from "
        f"{count(num(info.get('candidates')))} "
        "candidates (every trained run and the baseline) by greedy selection with replacement on the "
        "validation "
        "split. Cross-fitted on validation (chosen on one half, scored on the other, both ways) it "
        f"{verdict} "
        f"the best single model: macro-F1 {f3(num(cf.get('ensemble')))} against "
        f"{f3(num(cf.get('best_single')))} "
        "(chosen and scored on all of the validation split it would claim "
        f"{f3(num(cf.get('in_sample_ensemble')))}, "
        "an optimistic figure)."
    )


def significance(doc: Document, ctx: Context) -> None:
    doc.h2("Is the difference real?", "significance")
    comps = ctx.r.comparisons
    if not comps:
        doc.p("No paired comparison was made in this run.")
        return
    rows = [
        [
            str(c.get("kind", "")),
            str(c.get("a")),
            str(c.get("b")),
            signed(num(c.get("diff"))),
            f"[{signed(num(c.get('ci_low')))}, {signed(num(c.get('ci_high')))}]",
            f"{num(c.get('p_value')):.3f}",
            Badge(_plain_verdict(c)),
        ]
        for c in comps
    ]
    doc.table(
        ["comparison", "a", "b", "Δ test macro-F1 (a − b)", "95% interval", "p", "verdict"], rows, "lllrrrl"
    )
    doc.note(
        "A paired bootstrap on the same test messages (1,000 resamples, seeded): each resample draws the "
        "test "
        "messages with replacement and scores both models on that draw; with several seeds the difference is "
        "the mean over the paired seeds. “no clear difference” when the interval contains zero. Decisions "
        "are "
        "the most probable label."
    )


def _plain_verdict(c: dict) -> str:
    v = str(c.get("verdict", ""))
    return {"a is better": f"{c.get('a')} better", "b is better": f"{c.get('b')} better"}.get(v, v)


def explanations(doc: Document, ctx: Context) -> None:
    ex = ctx.r.explanations
    if not ex:
        return
    doc.h2("Why were messages flagged?", "why")
    doc.p(
        f"Token contributions of {ex.get('model')} (the best neural run on validation), by occlusion: a "
        "token's contribution is the calibrated probability of the predicted label with the whole message "
        "minus "
        f"that without the token. Over {count(num(ex.get('sample')))} test messages, the tokens that most "
        "often "
        f"pushed messages to each class (seen at least {count(num(ex.get('min_count')))} times):"
    )
    per_class = ex.get("per_class") if isinstance(ex.get("per_class"), dict) else {}
    cards = []
    for label, rows in per_class.items():
        table = (
            ["token", "mean contribution", "times"],
            [
                [str(r[0]), signed(num(r[1]), 3), count(num(r[2]))]
                for r in rows
                if isinstance(r, list) and len(r) == 3
            ],
            "lrr",
        )
        cards.append(([f"pushed toward {label}"], None, table))
    if cards:
        doc.cards(cards)
    mistakes = [m for m in (ex.get("misclassified") or []) if isinstance(m, dict)]
    if mistakes:
        doc.h3("Misclassified messages, tokens highlighted")
        rows = []
        for k, m in enumerate(mistakes, 1):
            tokens = [t for t in (m.get("tokens") or []) if isinstance(t, list) and len(t) == 2]
            marked: list = []
            for t, c in tokens:
                marked += [Weighted(str(t), num(c)), " "]
            rows.append(
                [
                    str(k),
                    str(m.get("true")),
                    str(m.get("pred")),
                    f3(num(m.get("prob"))),
                    truncate(m.get("text")),
                    marked[:-1] or DASH,
                ]
            )
        doc.table(["#", "true", "predicted", "prob.", "message", "tokens"], rows, "rllrmm")
        doc.note(
            "Warm colours (and ⟨+x⟩ in Markdown) pushed toward the wrong label that was predicted, cool ones "
            "away from it."
        )


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
