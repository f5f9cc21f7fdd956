"""The report's evidence: charts, training curves, confusion matrices, the data, the vectors, how to rerun."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

from ..decisions.selection import BASELINE_INIT
from ..results import ModelResult, SplitScores, ThreadSettings
from . import plots
from .analysis import best_seed_run, finite, first_seed_run
from .context import Context
from .document import Badge, Bold, Code, Document
from .format import DASH, config_name, count, date, epoch, f3, pct, secs, slug
from .view import num


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


def _per_class_table(test: SplitScores, labels: Sequence[str]) -> tuple | None:
    if not test.per_class:
        return None
    names = [lab for lab in labels if lab in test.per_class] + [k for k in test.per_class if k not in labels]
    rows = [
        [
            name,
            f3(test.per_class[name].precision),
            f3(test.per_class[name].recall),
            f3(test.per_class[name].f1),
            count(test.per_class[name].support),
        ]
        for name in names
    ]
    return (["class", "precision", "recall", "F1", "support"], rows, "lrrrr")


def confusion(doc: Document, ctx: Context) -> None:
    doc.h2("Confusion matrices and per-class scores", "confusion")
    entries: list[tuple[str, list, ModelResult]] = []
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
        if run.test.confusion_matrix:
            name = "baseline" if run.init == BASELINE_INIT else f"{slug(run.model)}_{slug(run.init)}"
            p = ctx.plot(
                f"confusion_{name}.png",
                f"Confusion matrix {title}",
                plots.plot_confusion,
                np.asarray(run.test.confusion_matrix, dtype=float),
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


# --------------------------------------------------------------------------- data


def data(doc: Document, ctx: Context) -> None:
    doc.h2("Data and vocabulary", "data")
    ds = ctx.ds
    if not ds.source and not ds.rows:
        doc.p("No dataset information recorded.")
        return
    doc.p(
        "Source ",
        Code(ds.source or DASH),
        f" (encoding {ds.encoding or DASH}; text column ",
        Code(ds.text_col or DASH),
        ", label column ",
        Code(ds.label_col or DASH),
        ").",
    )
    doc.h3("Rows")
    doc.table(
        ["", "messages"],
        [
            ["rows read", count(ds.rows_read)],
            ["dropped: missing text or label", count(ds.dropped_missing)],
            ["dropped: duplicates", count(ds.dropped_duplicates)],
            ["empty after cleaning (kept, classified as empty)", count(ds.dropped_empty)],
            [Bold("rows used"), Bold(count(ds.rows))],
        ],
        "lr",
    )

    doc.h3("Class balance")
    counts = ds.class_counts
    if counts:
        total = sum(finite(num(v) for v in counts.values())) or 1.0
        names = [lab for lab in ctx.labels if lab in counts] + [k for k in counts if k not in ctx.labels]
        pos = ds.positive_label
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

    split = ds.split
    if split.train or split.val or split.test:
        doc.h3("Splits")
        sizes = {"train": split.train, "val": split.val, "test": split.test}
        tot = sum(sizes.values()) or 1.0
        doc.table(
            ["split", "messages", "share"], [[k, count(v), pct(v / tot)] for k, v in sizes.items()], "lrr"
        )
        src = split.test_source or ""
        if src.startswith("file:"):
            doc.note("The test set comes from a separate file: ", Code(src[5:]), ".")
        elif src:
            doc.note("The test set is a held-out part of the same file (", Code(src), ").")
        overlap = ds.test_overlap
        if overlap is not None and overlap.in_training_file:
            doc.note(
                Bold(
                    f"{overlap.in_training_file:,} of the {overlap.texts:,} test texts also occur in the "
                    "training file"
                ),
                " (the training or validation split): the test scores overstate how the models do on new "
                "messages. Remove them from one of the files for an honest test.",
            )

    lengths = ds.lengths
    if lengths.histogram:
        doc.h3("Message length (tokens)")
        mean_len = num(lengths.mean)
        doc.table(
            ["token count (train split)", "tokens"],
            [
                ["mean", DASH if math.isnan(mean_len) else f"{mean_len:.1f}"],
                ["median", epoch(lengths.median)],
                ["95th percentile", epoch(lengths.p95)],
                ["max", epoch(lengths.max)],
                [Bold("context length used"), Bold(epoch(lengths.context_length))],
            ],
            "lr",
        )
        p = ctx.plot("lengths.png", "Histogram of tokens per message", plots.plot_lengths, lengths)
        cap = "Tokens per message in the training split; the dashed line is the context length"
        if lengths.percentile is not None:
            cap += f" (chosen as the {epoch(lengths.percentile)}th percentile of training lengths)"
        cap += ". Longer messages are truncated to the context length."
        doc.figure(p, cap if p is not None else "(length histogram not available)")

    vocab = ds.vocab
    if vocab is not None:
        doc.h3("Vocabulary")
        doc.table(
            ["", "value"],
            [
                ["vocabulary size", count(vocab.size)],
                ["min_count (minimum frequency to keep a token)", count(vocab.min_count)],
                ["rare tokens dropped (below min_count)", count(vocab.rare_dropped)],
                ["coverage of train tokens", pct(vocab.coverage_train)],
                ["coverage of test tokens", pct(vocab.coverage_test)],
            ]
            + ([["words added from the vectors", count(vocab.from_vectors)]] if vocab.from_vectors else []),
            "lr",
        )
        doc.note(
            "Coverage = share of token occurrences that are in the vocabulary (the rest become the unknown "
            "token)."
        )


def neighbours(doc: Document, ctx: Context) -> None:
    doc.h2("FastText nearest neighbours", "neighbours")
    ft = ctx.r.fasttext
    nb = ft.neighbours if ft is not None else None
    if not nb:
        doc.p("No FastText vectors in this run." if ft is None else "No neighbours recorded.")
        return
    rows = [[Bold(word), ", ".join(f"{n} ({s:.2f})" for n, s in pairs)] for word, pairs in nb.items()]
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
            ["dataset", Code(ds.source or DASH)],
            ["dataset sha256", Code(ds.sha256 or DASH)],
            ["device", r.device or DASH],
            ["threads", _threads(r.threads)],
            [
                "training processes",
                f"{r.world_size} (torchrun, DistributedDataParallel)" if r.world_size > 1 else "1",
            ],
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


def _threads(record: ThreadSettings | int | None) -> str:
    """The run's thread settings in words (a plain intra-op count for runs before schema_version 2)."""
    if isinstance(record, ThreadSettings):
        return record.describe().removeprefix("threads: ")
    return DASH if record is None else f"{record} intra-op"
