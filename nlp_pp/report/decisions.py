"""The report's decisions: thresholds and calibration, the ensemble, and why messages were flagged."""

from __future__ import annotations

import numpy as np

from ..results import Threshold
from . import plots
from .analysis import best_seed_run
from .context import MAX_MISCLASSIFIED_SHOWN, Context, representative, short_name
from .document import Document, Weighted
from .format import DASH, config_name, count, f3, signed, truncate


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
            "validation: flagged, precision ≥",
            "test precision",
            "test recall",
            "false alarms / 10k",
            "missed / 1k",
        ]
        align += "lrrrrrr"
    rows = []
    for row, run in entries:
        cal = run.calibration
        cells = [short_name(row, run), f"{cal.temperature:.2f}", f3(cal.ece_before), f3(cal.ece_after)]
        if binary:
            d, at = run.threshold, run.test_at_threshold
            if d is None or at is None:
                cells += [DASH] * 7
            else:
                cells += [
                    str(d.policy) + ("" if d.met else " (not met)"),
                    f3(d.value),
                    _rests_on(d),
                    f3(at.precision),
                    f3(at.recall),
                    count(at.false_positives_per_10k),
                    count(at.missed_per_1k),
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
            "on new messages. A message is flagged when its probability reaches the threshold. "
            "“validation: flagged, precision ≥” gives how many validation messages the threshold flags and "
            "the 95 % lower bound of their precision: a precision measured on a handful of messages is "
            "uncertain."
        )
        unmet = [
            f"{short_name(row, run)}: {run.threshold.note}"
            for row, run in entries
            if run.threshold is not None and not run.threshold.met
        ]
        if unmet:
            notes.append(" Not met on validation, so a fallback was used — " + "; ".join(unmet) + ".")
    else:
        notes.append(
            " With more than two labels every model decides by the most probable label (no threshold)."
        )
    doc.note(*notes)
    if binary:
        curves = [
            (short_name(row, run), run) for row, run in entries if run.curves and run.curves.pr.get("recall")
        ]
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
    rel = ctx.r.reliability
    if rel is not None and rel.model:
        title = f"Reliability of {rel.model} (best on validation)"
        p = ctx.plot("reliability.png", title, plots.plot_reliability, rel, title)
        doc.figure(
            p,
            "Accuracy against confidence on the test split, in 15 bins, before and after temperature "
            "scaling; the diagonal is perfect calibration."
            if p is not None
            else "(no diagram)",
        )


def _rests_on(d: Threshold) -> str:
    """``276, ≥ 0.921``: the validation messages a threshold flags and its precision's lower bound."""
    if d.flagged is None:
        return DASH
    return f"{d.flagged:,}, ≥ {f3(d.precision_lower_bound)}"


def ensemble(doc: Document, ctx: Context) -> None:
    ens = ctx.r.ensemble
    if ens is None or not ens.members:
        return
    doc.h2("Ensemble", "ensemble")
    doc.table(["member", "weight"], [[m, f"{w:.2f}"] for m, w in zip(ens.members, ens.weights)], "lr")
    cf = ens.cross_fitted
    verdict = "beats" if ens.beats_best_single else "does not beat"
    how = (
        "(the validation split is too small to cross-fit)"
        if not cf.folds
        else f"in {cf.folds} folds, {cf.repeats} times over (member temperatures and weights fitted on "
        "the other folds, scored on the held-out one)"
        if cf.out_of_fold_temperatures
        else "chosen on one half, scored on the other, both ways"
    )
    kept = (
        "so the vote is kept."
        if ens.beats_best_single
        else f"so the vote is not kept: the ensemble is the best single member, {ens.members[0]}, alone."
        if ens.method == "best single"
        else ""
    )
    se = "" if cf.std_error is None else f" (standard error of the difference {f3(cf.std_error)})"
    doc.p(
        "A soft vote of the members' calibrated probabilities, chosen from "
        f"{count(ens.candidates)} "
        "candidates (every trained run and the baseline) by greedy selection with replacement on "
        "bootstrap resamples of the validation split, weights averaged. Cross-fitted on validation "
        f"{how} it {verdict} picking the best single model: macro-F1 {f3(cf.ensemble)} against "
        f"{f3(cf.best_single)}{se} "
        "(chosen and scored on all of the validation split it would claim "
        f"{f3(cf.in_sample_ensemble)}, an optimistic figure); {kept}"
    )


def explanations(doc: Document, ctx: Context) -> None:
    ex = ctx.r.explanations
    if not ex:
        return
    doc.h2("Why were messages flagged?", "why")
    doc.p(
        f"Token contributions of {ex.model} (the best neural run on validation), by occlusion: a "
        "token's contribution is the calibrated probability of the predicted label with the whole message "
        "minus "
        f"that without the token. Over {count(ex.sample)} test messages, the tokens that most "
        "often "
        f"pushed messages to each class (seen at least {count(ex.min_count)} times):"
    )
    cards = []
    for label, rows in ex.per_class.items():
        table = (
            ["token", "mean contribution", "times"],
            [[token, signed(mean, 3), count(times)] for token, mean, times in rows],
            "lrr",
        )
        cards.append(([f"pushed toward {label}"], None, table))
    if cards:
        doc.cards(cards)
    if ex.misclassified:
        doc.h3("Misclassified messages, tokens highlighted")
        rows = []
        for k, m in enumerate(ex.misclassified, 1):
            marked: list = []
            for t, c in m.tokens:
                marked += [Weighted(t, c), " "]
            rows.append([str(k), m.true, m.pred, f3(m.prob), truncate(m.text), marked[:-1] or DASH])
        doc.table(["#", "true", "predicted", "prob.", "message", "tokens"], rows, "rllrmm")
        doc.note(
            "Warm colours (and ⟨+x⟩ in Markdown) pushed toward the wrong label that was predicted, cool ones "
            "away from it."
        )


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
    cm = np.asarray(run.test.confusion_matrix) if run.test.confusion_matrix else None
    if cm is not None:
        wrong, total = int(cm.sum() - np.trace(cm)), int(cm.sum())
        intro += f"; the run misclassified {wrong:,} of {total:,} test messages in total"
    doc.p(intro + ". Messages longer than 300 characters are truncated.")
    rows = [[str(k), m.true, m.pred, f3(m.prob), truncate(m.text)] for k, m in enumerate(shown, 1)]
    doc.table(["#", "true", "predicted", "prob.", "message"], rows, "rllrm")
    doc.note("prob. = the probability the model reported with this prediction.")
