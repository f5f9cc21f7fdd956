"""The report's sections, in reading order: each adds blocks to a :class:`~.document.Document`.

The first answer is *which configuration is best on the validation split*; the test scores beside
it are what to expect on new messages. Nothing here chooses on the test set.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..selection import BASELINE_INIT
from . import plots
from .analysis import MIN_EFFECT, best_seed_run, fasttext_effect, finite, first_seed_run, group_runs, summarize
from .document import Badge, Bold, Code, Document, Plot
from .format import (DASH, config_name, count, date, epoch, f3, isnan, join, pct, pm, secs, signed, slug,
                     truncate)
from .view import Results, RunRecord, Scores, num

MAX_MISCLASSIFIED_SHOWN = 15
RANKING_NOTE = ("Configurations are ranked by their validation scores; test scores are reported, never used "
                "to choose.")

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
        self.neural = self.summary[self.summary["init"] != BASELINE_INIT].reset_index(drop=True)
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
        return next((r.params for r in self.groups.get((model, init), []) if not math.isnan(r.params)), math.nan)


def row_metric(row, metric: str) -> str:
    return pm(row[f"{metric}_mean"], row[f"{metric}_std"], int(row["n_seeds"]))


def _name(row) -> str:
    return config_name(row["model"], row["init"]) if row["init"] != BASELINE_INIT else \
        f"the TF-IDF + logistic-regression baseline ({row['model']})"


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
        items.append([Bold("Best on validation: "), Bold(_name(top)),
                      f" — validation macro-F1 {f3(top['val_macro_f1_mean'])}; test accuracy "
                      f"{row_metric(top, 'accuracy')}, macro-F1 {row_metric(top, 'macro_f1')}{seeds_txt}{test_n}."]
                     + _runner_up(ctx))
    if base is None:
        items.append([Bold("Baseline: "), "no TF-IDF baseline was run, so there is no simple bar to compare against."])
    elif best is not None:
        items.append([Bold("Baseline: "), *_baseline_sentence(ctx)])
    if best is not None:
        items.append([Bold("FastText: "), fasttext_sentence(ctx)])
    doc.ul(items, cls="headline")
    doc.note(RANKING_NOTE)


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
        return [f" The runner-up, {name}, has the same validation macro-F1: the ranking between these two is "
                "not conclusive."]
    noise = max([float(x) for x in (first["macro_f1_std"], second["macro_f1_std"]) if not isnan(x)] + [MIN_EFFECT])
    if gap <= noise + 1e-12:
        return [f" The runner-up, {name}, is only {gap:.4f} behind on validation macro-F1 — within the noise "
                f"level (≤ {noise:.4f}), so the ranking between these two is not conclusive."]
    return [f" Runner-up: {name}, {gap:.4f} behind on validation macro-F1."]


def _baseline_sentence(ctx: Context) -> list:
    best, base = ctx.best_row, ctx.base_row
    b_val, b_f1, b_acc = (float(base[k]) for k in ("val_macro_f1_mean", "macro_f1_mean", "accuracy_mean"))
    margin = float(best["val_macro_f1_mean"]) - b_val
    test_margin = float(best["macro_f1_mean"]) - b_f1
    base_txt = (f"TF-IDF + logistic-regression baseline (validation macro-F1 {f3(b_val)}; test macro-F1 "
                f"{f3(b_f1)}, accuracy {f3(b_acc)})")
    n_beat = int((ctx.neural["val_macro_f1_mean"] > b_val).sum())
    of = f"{n_beat} of {len(ctx.neural)} neural configurations score above it on validation."
    if math.isnan(margin):
        return [f"the {base_txt} could not be compared (missing validation scores)."]
    if round(margin, 4) == 0:
        return [f"the best neural configuration and the {base_txt} are tied on validation macro-F1. ", of]
    if margin > 0:
        noise = max(0.0 if isnan(best["macro_f1_std"]) else float(best["macro_f1_std"]), MIN_EFFECT)
        size = ("only " if margin <= noise + 1e-12 else "")
        return [f"the best neural configuration, {config_name(best['model'], best['init'])}, is ahead of the "
                f"{base_txt} by {size}{signed(margin)} validation macro-F1 ({signed(test_margin)} on the test "
                "set)" + (f" — within the noise level (≤ max(std, {MIN_EFFECT})), so treat them as tied. "
                          if size else ". "), of]
    return [Bold("no neural configuration beats the TF-IDF baseline on validation"),
            f" — the {base_txt} is ahead of the best neural configuration, {config_name(best['model'], best['init'])}, "
            f"by {signed(-margin)} validation macro-F1."]


def fasttext_sentence(ctx: Context) -> str:
    eff = ctx.effect
    if eff.empty:
        has_ft = any(i == "fasttext" for _, i in ctx.groups)
        return ("FastText initialisation could not be assessed: no model was trained with both random and "
                "FastText-initialised embeddings." if has_ft else
                "FastText initialisation was not tested in this run (no model used FastText-initialised "
                "embeddings).")
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
    s = "FastText initialisation " + "; ".join(phrases) + " (change in mean test macro-F1, FastText minus random)."
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
        header.append("test ROC-AUC")
        align += "r"
    header += ["best epoch", "train time / run", "parameters"]
    align += "rrr"
    rows, classes = [], []
    for i, row in s.iterrows():
        is_base = row["init"] == BASELINE_INIT
        cells = [str(i + 1), Bold(row["model"]) if i == 0 else row["model"],
                 "— (baseline)" if is_base else row["init"], str(int(row["n_seeds"])),
                 f3(row["val_macro_f1_mean"]), row_metric(row, "accuracy"), row_metric(row, "macro_f1")]
        if has_auc:
            cells.append(f3(row["roc_auc_mean"]))
        cells += [epoch(row["best_epoch_mean"]), secs(row["train_seconds_mean"]),
                  DASH if is_base else count(ctx.params(row["model"], row["init"]))]
        rows.append(cells)
        classes.append("best" if i == 0 else ("baseline" if is_base else None))
    doc.table(header, rows, align, classes)
    notes = [RANKING_NOTE + " Ranked by mean validation macro-F1, then validation accuracy."]
    if ctx.base_row is not None:
        notes.append(" The TF-IDF + logistic-regression baseline is the row marked “— (baseline)”.")
    if ctx.max_seeds > 1:
        notes.append(" ± is the standard deviation across seeds (sample std, n−1).")
    elif ctx.max_seeds == 1:
        notes.append(" Each configuration was trained once (one seed), so there is no spread estimate and "
                     "small differences may be noise.")
    if not math.isnan(ctx.n_test) and ctx.n_test > 0:
        notes.append(f" With {int(ctx.n_test):,} test messages, one message is worth {1 / ctx.n_test:.4f} accuracy.")
    doc.note(*notes)


def fasttext(doc: Document, ctx: Context) -> None:
    doc.h2("Does FastText initialisation help?", "fasttext-effect")
    eff = ctx.effect
    doc.p(fasttext_sentence(ctx))
    if eff.empty:
        return
    spread = (lambda v: DASH if isnan(v) else f"{v:.4f}")
    rows = [[Bold(row["model"]), f"{int(row['n_seeds'])}" + ("" if row["paired"] else " (unpaired)"),
             f3(row["accuracy_random"]), f3(row["accuracy_fasttext"]), signed(row["accuracy_diff"]),
             spread(row["accuracy_spread"]), f3(row["macro_f1_random"]), f3(row["macro_f1_fasttext"]),
             signed(row["macro_f1_diff"]), spread(row["macro_f1_spread"]), Badge(row["verdict"])]
            for _, row in eff.iterrows()]
    doc.table(["model", "seeds", "acc. random", "acc. FastText", "Δ acc.", "spread", "macro-F1 random",
               "macro-F1 FastText", "Δ macro-F1", "spread", "verdict"], rows, "lrrrrrrrrrl")
    n_msg = ""
    if not math.isnan(ctx.n_test) and ctx.n_test > 0:
        n_msg = f" ({MIN_EFFECT} ≈ {MIN_EFFECT * ctx.n_test:.1f} of the {int(ctx.n_test):,} test messages)"
    doc.note("How to read this: Δ = mean test score with FastText-initialised embeddings minus mean with random "
             "initialisation. “spread” is the standard deviation over seeds of the per-seed paired difference "
             "(same seed, both inits); it is “—” when the seeds do not match or there is only one seed. ",
             Bold("Rule: "), f"the verdict uses macro-F1 and says “no clear difference” when |Δ| ≤ max(spread, "
             f"{MIN_EFFECT}){n_msg}; otherwise “helps” (Δ > 0) or “hurts” (Δ < 0). This is a rule of thumb "
             "against seed-to-seed noise, not a significance test.")
    ft = ctx.r.fasttext
    if ft is not None:
        doc.note(f"FastText vectors: source {ft.get('source', DASH)}, dimension {count(num(ft.get('dim')))}, "
                 f"{count(num(ft.get('vectors_trained')))} vectors, covering {pct(num(ft.get('coverage')))} of the "
                 "vocabulary.")


# --------------------------------------------------------------------------- figures


def overview(doc: Document, ctx: Context) -> None:
    doc.h2("Overview chart", "overview")
    if ctx.neural.empty:
        doc.p("No neural configurations to plot.")
        return
    p = ctx.plot("overview.png", "Test accuracy and macro-F1 of every configuration", plots.plot_overview, ctx.summary)
    cap = "Test accuracy (left) and macro-F1 (right) per model; bar colour = embedding initialisation"
    cap += "; dashed line = TF-IDF baseline." if ctx.base_row is not None else " (no baseline was run)."
    if ctx.max_seeds > 1:
        cap += " Bars show the mean over seeds, error bars ±1 std."
    cap += " The y-axis is zoomed in and does not start at 0, to make small differences visible."
    doc.figure(p, cap if p is not None else "(overview chart could not be drawn — see the warnings of the run)")


def curves(doc: Document, ctx: Context) -> None:
    doc.h2("Training curves", "curves")
    shown = [first_seed_run(runs) for runs in ctx.groups.values()]
    if not shown:
        doc.p("No training runs.")
        return
    p = ctx.plot("training_curves.png", "Training and validation loss and accuracy per epoch", plots.plot_curves, shown)
    cap = ("Loss and accuracy per epoch, train (solid) vs validation (dashed); the dotted line and ★ mark the "
           "selected best epoch.")
    if ctx.max_seeds > 1:
        cap += (" Several seeds were trained: only the first (lowest) seed of each configuration is shown; "
                "every run is listed in the table below.")
    doc.figure(p, cap if p is not None else "(training curves could not be drawn — see the warnings of the run)")
    rows = [[config_name(m, i), DASH if run.seed is None else str(run.seed), epoch(run.best_epoch),
             epoch(run.epochs_run), f3(run.val.accuracy), f3(run.val.macro_f1), f3(run.test.accuracy),
             f3(run.test.macro_f1), secs(run.train_seconds)]
            for (m, i), runs in ctx.groups.items() for run in runs]
    doc.h3("All runs")
    doc.table(["configuration", "seed", "best epoch", "epochs run", "val acc.", "val macro-F1", "test acc.",
               "test macro-F1", "train time"], rows, "lrrrrrrrr")


def _per_class_table(test: Scores, labels: Sequence[str]) -> tuple | None:
    if not test.per_class:
        return None
    names = [lab for lab in labels if lab in test.per_class] + [k for k in test.per_class if k not in labels]
    rows = [[name, f3(test.per_class[name]["precision"]), f3(test.per_class[name]["recall"]),
             f3(test.per_class[name]["f1"]), count(test.per_class[name]["support"])] for name in names]
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
            p = ctx.plot(f"confusion_{name}.png", f"Confusion matrix {title}",
                     plots.plot_confusion, run.test.confusion, ctx.labels, title)
        cards.append(([title] + badge, p, _per_class_table(run.test, ctx.labels)))
    doc.note("Rows = true class, columns = predicted class; each cell shows the count and the share of its row "
             "(i.e. recall for the diagonal). For configurations with several seeds the matrix is from the seed "
             "with the highest ", Bold("validation"), " macro-F1 (not picked on the test set).")
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
    intro = f"A sample from the best neural configuration, {who}: showing {len(shown)} of the " \
            f"{len(run.misclassified)} recorded"
    cm = run.test.confusion
    if cm is not None:
        intro += f"; the run misclassified {int(cm.sum() - np.trace(cm)):,} of {int(cm.sum()):,} test messages in total"
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
    doc.p("Source ", Code(str(ds.get("source", DASH))), f" (encoding {ds.get('encoding', DASH)}; text column ",
          Code(str(ds.get("text_col", DASH))), ", label column ", Code(str(ds.get("label_col", DASH))), ").")
    doc.h3("Rows")
    doc.table(["", "messages"], [
        ["rows read", count(num(ds.get("rows_read")))],
        ["dropped: missing text or label", count(num(ds.get("dropped_missing")))],
        ["dropped: duplicates", count(num(ds.get("dropped_duplicates")))],
        ["empty after cleaning (kept, classified as empty)", count(num(ds.get("dropped_empty")))],
        [Bold("rows used"), Bold(count(num(ds.get("rows"))))]], "lr")

    doc.h3("Class balance")
    counts = ds.get("class_counts") if isinstance(ds.get("class_counts"), dict) else {}
    if counts:
        total = sum(finite(num(v) for v in counts.values())) or 1.0
        names = [lab for lab in ctx.labels if lab in counts] + [k for k in counts if k not in ctx.labels]
        pos = ds.get("positive_label")
        doc.table(["class", "messages", "share"],
                  [[str(n) + (" (positive)" if pos is not None and n == pos else ""), count(num(counts[n])),
                    pct(num(counts[n]) / total)] for n in names], "lrr")
        p = ctx.plot("class_balance.png", "Class balance", plots.plot_class_balance, counts, ctx.labels)
        if p is not None:
            doc.figure(p, "Messages per class after cleaning.")
    else:
        doc.p("No class counts recorded.")

    split = ds.get("split") if isinstance(ds.get("split"), dict) else {}
    if split:
        doc.h3("Splits")
        tot = sum(finite(num(split.get(k)) for k in ("train", "val", "test"))) or 1.0
        doc.table(["split", "messages", "share"], [[k, count(num(split.get(k))), pct(num(split.get(k)) / tot)]
                                                   for k in ("train", "val", "test") if k in split], "lrr")
        src = str(split.get("test_source") or "")
        if src.startswith("file:"):
            doc.note("The test set comes from a separate file: ", Code(src[5:]), ".")
        elif src:
            doc.note("The test set is a held-out part of the same file (", Code(src), ").")

    lengths = ds.get("lengths") if isinstance(ds.get("lengths"), dict) else {}
    if lengths:
        doc.h3("Message length (tokens)")
        mean_len = num(lengths.get("mean"))
        doc.table(["token count (train split)", "tokens"], [
            ["mean", DASH if math.isnan(mean_len) else f"{mean_len:.1f}"],
            ["median", epoch(num(lengths.get("median")))], ["95th percentile", epoch(num(lengths.get("p95")))],
            ["max", epoch(num(lengths.get("max")))],
            [Bold("context length used"), Bold(epoch(num(lengths.get("context_length"))))]], "lr")
        p = ctx.plot("lengths.png", "Histogram of tokens per message", plots.plot_lengths, lengths)
        cap = "Tokens per message in the training split; the dashed line is the context length"
        if lengths.get("percentile") is not None:
            cap += f" (chosen as the {epoch(num(lengths.get('percentile')))}th percentile of training lengths)"
        cap += ". Longer messages are truncated to the context length."
        doc.figure(p, cap if p is not None else "(length histogram not available)")

    vocab = ds.get("vocab") if isinstance(ds.get("vocab"), dict) else {}
    if vocab:
        doc.h3("Vocabulary")
        doc.table(["", "value"], [
            ["vocabulary size", count(num(vocab.get("size")))],
            ["min_count (minimum frequency to keep a token)", count(num(vocab.get("min_count")))],
            ["rare tokens dropped (below min_count)", count(num(vocab.get("rare_dropped")))],
            ["coverage of train tokens", pct(num(vocab.get("coverage_train")))],
            ["coverage of test tokens", pct(num(vocab.get("coverage_test")))]], "lr")
        doc.note("Coverage = share of token occurrences that are in the vocabulary (the rest become the unknown "
                 "token).")


def neighbours(doc: Document, ctx: Context) -> None:
    doc.h2("FastText nearest neighbours", "neighbours")
    ft = ctx.r.fasttext
    nb = ft.get("neighbours") if ft is not None else None
    if not isinstance(nb, dict) or not nb:
        doc.p("No FastText vectors in this run." if ft is None else "No neighbours recorded.")
        return
    rows = []
    for word, lst in nb.items():
        items = [f"{pair[0]} ({num(pair[1]):.2f})" if isinstance(pair, (list, tuple)) and len(pair) >= 2
                 and not isnan(pair[1]) else str(pair[0] if isinstance(pair, (list, tuple)) and pair else pair)
                 for pair in (lst if isinstance(lst, list) else [])]
        rows.append([Bold(str(word)), ", ".join(items)])
    doc.table(["word", "nearest neighbours (cosine similarity)"], rows, "lm")
    doc.note("Neighbours of a few frequent words in the FastText space — a sanity check that the vectors "
             "capture meaning (related words should be close).")


def reproducibility(doc: Document, ctx: Context) -> None:
    doc.h2("Reproducibility", "repro")
    ds, r = ctx.ds, ctx.r
    doc.table(["", ""], [["run name", Code(r.name)], ["created", date(r.created)],
                         ["dataset", Code(str(ds.get("source", DASH)))],
                         ["dataset sha256", Code(str(ds.get("sha256", DASH)))], ["device", r.device or DASH]], "ll")
    if r.versions:
        doc.h3("Package versions")
        doc.table(["package", "version"], [[str(k), str(v)] for k, v in r.versions.items()], "ll")
    if r.timings:
        doc.h3("Time per stage")
        total = sum(finite(num(v) for v in r.timings.values()))
        rows = [[str(k), secs(num(v)), pct(num(v) / total) if total > 0 else DASH] for k, v in r.timings.items()]
        doc.table(["stage", "time", "share"], rows + [[Bold("total"), Bold(secs(total)), ""]], "lrr")
    doc.h3("Exact configuration")
    doc.pre(json.dumps(r.config if r.config is not None else {}, indent=2, ensure_ascii=False, default=str), "json")


ALL: tuple[Callable, ...] = (headline, summary, fasttext, overview, curves, confusion, misclassified, data,
                             neighbours, reproducibility)
