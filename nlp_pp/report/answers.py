"""The report's answers: the headline, the summary table, "does FastText help?" and "is it real?".

The first answer is *which configuration is best on the validation split*; the test scores beside
it are what to expect on new messages. Nothing here chooses on the test set.
"""

from __future__ import annotations

import math

from ..decisions.selection import BASELINE_INIT, SINGLE_INITS
from ..results import Comparison, FastTextFacts
from .analysis import MIN_EFFECT
from .context import RANKING_NOTE, Context, name_of, representative, row_metric
from .document import Badge, Bold, Code, Document
from .format import DASH, config_name, count, epoch, f3, isnan, join, pct, secs, signed

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
                Bold(name_of(top)),
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
    ens = ctx.r.ensemble
    if ens is not None and ens.members and not ens.beats_best_single:
        items.append(
            [
                Bold("Ensemble: "),
                "the soft vote does not beat the best single model on validation "
                "(cross-fitted, beyond one standard error), so it adds nothing here"
                + (f" and the ensemble is {ens.members[0]} alone." if ens.method == "best single" else "."),
            ]
        )
    doc.ul(items, cls="headline")
    doc.note(RANKING_NOTE)


def _operating_sentence(ctx: Context, row) -> str:
    run = representative(ctx, row["model"], row["init"])
    if run is None or run.threshold is None or run.test_at_threshold is None:
        return ""
    d, at = run.threshold, run.test_at_threshold
    pos = ctx.ds.positive_label or "the positive class"
    s = (
        f"at the threshold chosen on validation ({d.policy}: {d.value:.3f}), it catches "
        f"{pct(at.recall)} of the {pos} messages of the test set (precision "
        f"{pct(at.precision)}), "
        f"with {count(at.false_positives_per_10k)} false alarms per 10,000 other messages and "
        f"{count(at.missed_per_1k)} missed per 1,000 {pos}."
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
    name = name_of(second)
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
        single = row["init"] in SINGLE_INITS
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


def fasttext_training(ft: FastTextFacts) -> list:
    """What the FastText vectors were trained on, in one paragraph."""
    parts: list = []
    if ft.source == "trained":
        parts.append(f"FastText was trained on the {count(ft.labelled_texts)} texts of the training split")
        if ft.unlabeled_texts is not None:
            parts += [
                f" and {count(ft.unlabeled_texts)} unlabelled texts from ",
                *[x for f in ft.unlabeled_files or [] for x in (Code(str(f)), " ")],
                f"({count(ft.dropped_val_test)} texts of the validation and test splits found "
                "there were left out)",
            ]
    else:
        parts += ["FastText vectors from ", Code(ft.source)]
        if ft.pretrained_texts is not None:
            parts.append(
                f", pretrained on {count(ft.pretrained_texts)} texts; they saw "
                f"{count(ft.seen_val_texts)} validation and {count(ft.seen_test_texts)} "
                "test texts of this run"
            )
    parts.append(
        f". Dimension {count(ft.dim)}, {count(ft.vectors_trained)} words; they "
        f"know {pct(ft.coverage_train_tokens)} of the training split's token occurrences and "
        f"give a vector to {pct(ft.coverage)} of the vocabulary (through character n-grams "
        "for words they did not see whole)."
    )
    return parts


def significance(doc: Document, ctx: Context) -> None:
    doc.h2("Is the difference real?", "significance")
    comps = ctx.r.comparisons
    if not comps:
        doc.p("No paired comparison was made in this run.")
        return
    rows = [
        [
            c.kind,
            c.a,
            c.b,
            signed(c.diff),
            f"[{signed(c.ci_low)}, {signed(c.ci_high)}]",
            f3(c.p_value),
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


def _plain_verdict(c: Comparison) -> str:
    return {"a is better": f"{c.a} better", "b is better": f"{c.b} better"}.get(c.verdict, c.verdict)
