"""The report's figures: matplotlib ``Figure`` + ``FigureCanvasAgg`` directly, never pyplot's global state.

Korean text is rendered with the NanumGothic font bundled with ``koreanize_matplotlib``; the
caller's matplotlib backend is left alone. Each ``plot_*`` function returns a Figure; :func:`png`
renders it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..decisions.selection import BASELINE_INIT, SINGLE_INITS
from ..results import Lengths, ModelResult, Reliability, RunResult
from .analysis import INIT_ORDER
from .view import num

log = logging.getLogger(__name__)

DPI = 110
# Okabe-Ito colour-blind-safe palette.
INIT_COLOURS = {"random": "#0072B2", "fasttext": "#E69F00"}
EXTRA_COLOURS = ["#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
TRAIN_COLOUR, VAL_COLOUR = "#0072B2", "#E69F00"

_FONT: str | None = None
_FONT_READY = False


def korean_font() -> str | None:
    """Register the bundled Korean font (koreanize_matplotlib) once and return its family name."""
    global _FONT, _FONT_READY
    if _FONT_READY:
        return _FONT
    from matplotlib import font_manager

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # koreanize_matplotlib imports distutils
            import koreanize_matplotlib  # noqa: F401  (registers NanumGothic)
    except Exception as exc:  # pragma: no cover - depends on the environment
        warnings.warn(
            f"koreanize_matplotlib could not be imported ({exc}); Korean text in plots may not render",
            stacklevel=3,
        )
    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in (
        "NanumGothic",
        "Noto Sans CJK KR",
        "Noto Sans KR",
        "Malgun Gothic",
        "AppleGothic",
        "Apple SD Gothic Neo",
        "UnDotum",
    ):
        if cand in names:
            _FONT = cand
            break
    _FONT_READY = True
    return _FONT


@contextlib.contextmanager
def plot_style():
    font = korean_font()
    rc = {
        "font.family": ([font] if font else []) + ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.6,
        "axes.edgecolor": "#888888",
        "figure.facecolor": "white",
    }
    with matplotlib.rc_context(rc):
        yield


def new_fig(w: float, h: float, **kw: Any) -> Figure:
    fig = Figure(figsize=(w, h), dpi=DPI, **kw)
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    fig.clear()
    return buf.getvalue()


def init_colour(init: str, inits: Sequence[str]) -> str:
    if init in INIT_COLOURS:
        return INIT_COLOURS[init]
    extras = [i for i in inits if i not in INIT_COLOURS]
    return EXTRA_COLOURS[extras.index(init) % len(EXTRA_COLOURS)] if init in extras else "#777777"


def plot_overview(summary: pd.DataFrame) -> Figure:
    neural = summary[~summary["init"].isin(SINGLE_INITS)]
    base = summary[summary["init"] == BASELINE_INIT]
    models = list(dict.fromkeys(neural["model"]))
    inits = [i for i in INIT_ORDER if i in set(neural["init"])] + [
        i for i in dict.fromkeys(neural["init"]) if i not in INIT_ORDER
    ]
    fig = new_fig(max(8.0, 2.0 + 1.5 * len(models) * 2), 3.8, layout="constrained")
    axes = fig.subplots(1, 2, squeeze=False)[0]
    width = 0.8 / max(1, len(inits))
    x = np.arange(len(models))
    handles = {}
    for ax, metric, title in zip(axes, ("accuracy", "macro_f1"), ("Test accuracy", "Test macro-F1")):
        lows, highs = [], []
        for j, init in enumerate(inits):
            ys, es = [], []
            for m in models:
                row = neural[(neural["model"] == m) & (neural["init"] == init)]
                if row.empty:
                    ys.append(np.nan)
                    es.append(0.0)
                    continue
                y, e = float(row[f"{metric}_mean"].iloc[0]), float(row[f"{metric}_std"].iloc[0])
                ys.append(y)
                es.append(e if int(row["n_seeds"].iloc[0]) > 1 and not math.isnan(e) else 0.0)
            ys_a, es_a = np.array(ys, float), np.array(es, float)
            pos = x - 0.4 + width * (j + 0.5)
            bars = ax.bar(
                pos,
                np.nan_to_num(ys_a, nan=0.0),
                width * 0.92,
                color=init_colour(init, inits),
                yerr=es_a if es_a.any() else None,
                capsize=3,
                error_kw={"elinewidth": 1, "ecolor": "#333"},
                label=init,
                zorder=2,
            )
            handles[init] = bars
            for px, y, e in zip(pos, ys_a, es_a):
                if not math.isnan(y):
                    ax.annotate(
                        f"{y:.3f}",
                        (px, y + e),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        color="#333",
                    )
                    lows.append(y - e)
                    highs.append(y + e)
        if not base.empty and not math.isnan(base[f"{metric}_mean"].iloc[0]):
            by = float(base[f"{metric}_mean"].iloc[0])
            line = ax.axhline(by, color="#D55E00", ls="--", lw=1.4, zorder=3)
            handles[f"TF-IDF baseline ({base['model'].iloc[0]})"] = line
            lows.append(by)
            highs.append(by)
        if lows:
            lo = max(0.0, math.floor((min(lows) - 0.02) / 0.05) * 0.05)
            hi = max(highs)
            ax.set_ylim(lo, hi + max(0.01, (hi - lo) * 0.12))
        ax.set_xticks(x, models)
        ax.set_title(title)
        ax.grid(axis="x", visible=False)
    fig.legend(
        list(handles.values()),
        list(handles.keys()),
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(handles),
        frameon=False,
        title="embedding init",
        title_fontsize=8,
    )
    return fig


def plot_curves(runs: list[RunResult]) -> Figure:
    """Loss and accuracy per epoch, train vs validation, one pair of panels per run."""
    configs = [(r.model, r.init, r) for r in runs]
    n = len(configs)
    per_row = 2 if n > 1 else 1
    nrows = math.ceil(n / per_row)
    fig = new_fig(6.4 * per_row, 2.5 * nrows + 0.3, layout="constrained")
    axes = fig.subplots(nrows, 2 * per_row, squeeze=False)
    legend_handles = None
    for idx, (model, init, run) in enumerate(configs):
        r, c = divmod(idx, per_row)
        ax_loss, ax_acc = axes[r][2 * c], axes[r][2 * c + 1]
        hist = run.history
        seed = run.seed
        label = f"{model} · {init}" + (f" (seed {seed})" if seed is not None else "")
        if not hist:
            for ax in (ax_loss, ax_acc):
                ax.text(
                    0.5,
                    0.5,
                    "no history recorded",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color="#777",
                )
                ax.set_xticks([])
                ax.set_yticks([])
        epochs = np.array([h.epoch for h in hist], float)
        best = num(run.best_epoch)
        for ax, key, name in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
            if not hist:
                ax.set_title(f"{label} — {name}", fontsize=9)
                continue
            tr = np.array([num(getattr(h, f"train_{key}")) for h in hist], float)
            va = np.array([num(getattr(h, f"val_{key}")) for h in hist], float)
            (l1,) = ax.plot(epochs, tr, "-o", color=TRAIN_COLOUR, ms=3, lw=1.5, label="train")
            (l2,) = ax.plot(epochs, va, "--o", color=VAL_COLOUR, ms=3, lw=1.5, label="validation")
            handles = [l1, l2]
            if not math.isnan(best):
                vl = ax.axvline(best, color="#555", ls=":", lw=1.2, label="best epoch")
                handles.append(vl)
                at = np.where(epochs == best)[0]
                if at.size and not math.isnan(va[at[0]]):
                    ax.plot([best], [va[at[0]]], marker="*", ms=11, color="#D55E00", zorder=4)
            legend_handles = legend_handles or handles
            ax.set_title(f"{label} — {name}", fontsize=9)
            ax.set_xlabel("epoch", fontsize=8)
            if len(epochs) and not np.isnan(epochs).all():
                ax.xaxis.get_major_locator().set_params(integer=True)
    for idx in range(n, nrows * per_row):
        r, c = divmod(idx, per_row)
        axes[r][2 * c].set_visible(False)
        axes[r][2 * c + 1].set_visible(False)
    if legend_handles:
        fig.legend(
            legend_handles,
            [h.get_label() for h in legend_handles],
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=len(legend_handles),
            frameon=False,
        )
    return fig


def plot_confusion(cm: Any, labels: Sequence[str], title: str) -> Figure:
    mat = np.asarray(cm, dtype=float)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {mat.shape}")
    k = mat.shape[0]
    names = [str(x) for x in labels] if len(labels) == k else [str(i) for i in range(k)]
    names = [s if len(s) <= 14 else s[:13] + "…" for s in names]
    size = max(3.3, 0.75 * k + 1.9)
    fig = new_fig(size, size * 0.88, layout="constrained")
    ax = fig.add_subplot()
    rows = mat.sum(axis=1, keepdims=True)
    norm = np.divide(mat, rows, out=np.zeros_like(mat), where=rows > 0)
    ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    fs = 10 if k <= 3 else (8 if k <= 6 else 6)
    for i in range(k):
        for j in range(k):
            v = mat[i, j]
            count = f"{int(v):,}" if float(v).is_integer() else f"{v:.1f}"
            ax.text(
                j,
                i,
                f"{count}\n{norm[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=fs,
                color="white" if norm[i, j] > 0.6 else "#1a1a1a",
            )
    rot = 30 if k > 3 or max(len(s) for s in names) > 6 else 0
    ax.set_xticks(range(k), names, rotation=rot, ha="right" if rot else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    ax.grid(False)
    for sp in ax.spines.values():
        sp.set_visible(False)
    return fig


def plot_class_balance(counts: dict, labels: Sequence[str]) -> Figure:
    names = [l for l in labels if l in counts] + [l for l in counts if l not in labels]
    vals = np.array([num(counts[l]) for l in names], float)
    vals = np.nan_to_num(vals)
    total = vals.sum() or 1.0
    fig = new_fig(6.2, 0.45 * len(names) + 1.0, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(names))
    ax.barh(y, vals, color="#0072B2", height=0.6, zorder=2)
    for yi, v in zip(y, vals):
        ax.text(v, yi, f"  {int(v):,} ({v / total:.1%})", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, vals.max() * 1.3 if vals.max() > 0 else 1)
    ax.set_xlabel("messages (after cleaning)")
    ax.grid(axis="y", visible=False)
    return fig


def plot_lengths(lengths: Lengths) -> Figure:
    hist = lengths.histogram or {}
    edges = np.array([num(e) for e in hist.get("edges") or []], float)
    counts = np.array([num(c) for c in hist.get("counts") or []], float)
    if len(edges) != len(counts) + 1 or len(counts) == 0:
        raise ValueError("length histogram needs len(edges) == len(counts) + 1")
    fig = new_fig(7.2, 3.0, layout="constrained")
    ax = fig.add_subplot()
    ax.bar(
        edges[:-1],
        np.nan_to_num(counts),
        width=np.diff(edges),
        align="edge",
        color="#56B4E9",
        edgecolor="white",
        linewidth=0.5,
        zorder=2,
    )
    ctx, med = num(lengths.context_length), num(lengths.median)
    if not math.isnan(med):
        ax.axvline(med, color="#555", ls=":", lw=1.2, label=f"median = {med:g}", zorder=3)
    if not math.isnan(ctx):
        ax.axvline(ctx, color="#D55E00", ls="--", lw=1.6, label=f"context length = {ctx:g}", zorder=3)
    ax.set_xlabel("tokens per message (train split)")
    ax.set_ylabel("messages")
    ax.legend(frameon=False)
    ax.grid(axis="x", visible=False)
    return fig


def plot_pr_roc(entries: list[tuple[str, ModelResult]]) -> Figure:
    """Precision-recall (left) and ROC (right) on the test split, one line per model; ● = the operating point.

    ``entries``: ``(label, result)`` pairs of binary results (with ``curves`` and ``test_at_threshold``).
    """
    fig = new_fig(11.0, 4.4, layout="constrained")
    ax_pr, ax_roc = fig.subplots(1, 2)
    colours = EXTRA_COLOURS + list(INIT_COLOURS.values())
    for idx, (label, result) in enumerate(entries):
        colour = colours[idx % len(colours)]
        curves = result.curves
        recall, precision = (
            (curves.pr.get("recall", []), curves.pr.get("precision", [])) if curves else ([], [])
        )
        if len(recall):
            ax_pr.plot(recall, precision, color=colour, lw=1.4, label=label)
        fpr, tpr = (curves.roc.get("fpr", []), curves.roc.get("tpr", [])) if curves else ([], [])
        if len(fpr):
            ax_roc.plot(fpr, tpr, color=colour, lw=1.4, label=label)
        at = result.test_at_threshold
        if at is None:
            continue
        r, p = num(at.recall), num(at.precision)
        if not (math.isnan(r) or math.isnan(p)):
            ax_pr.plot([r], [p], "o", color=colour, ms=6, mec="white", zorder=4)
        fp, tn = at.fp, at.tn
        if not math.isnan(r) and fp + tn > 0:
            ax_roc.plot([fp / (fp + tn)], [r], "o", color=colour, ms=6, mec="white", zorder=4)
    ax_pr.set_xlabel("recall (share of positives caught)")
    ax_pr.set_ylabel("precision")
    ax_pr.set_title("Precision-recall, test split")
    ax_roc.plot([0, 1], [0, 1], ls=":", color="#999", lw=1)
    ax_roc.set_xlabel("false-positive rate")
    ax_roc.set_ylabel("true-positive rate (recall)")
    ax_roc.set_title("ROC, test split")
    for ax in (ax_pr, ax_roc):
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
    ax_roc.legend(loc="lower right", frameon=False, fontsize=7)
    return fig


def plot_reliability(bins: Reliability, title: str) -> Figure:
    """Reliability diagram: accuracy vs confidence per bin, before and after temperature scaling."""
    fig = new_fig(5.2, 4.4, layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls=":", color="#999", lw=1, label="perfect calibration")
    for key, colour, name in (
        ("before", "#D55E00", "before"),
        ("after", "#0072B2", "after temperature scaling"),
    ):
        part = getattr(bins, key)
        rows = [b for b in part.bins if b.count]
        if rows:
            ece = num(part.ece)
            ax.plot(
                [num(b.confidence) for b in rows],
                [num(b.accuracy) for b in rows],
                "-o",
                color=colour,
                ms=4,
                lw=1.4,
                label=f"{name} (ECE {ece:.3f})",
            )
    ax.set_xlabel("confidence (probability of the predicted label)")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.legend(frameon=False, loc="upper left")
    return fig
