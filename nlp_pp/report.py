"""Human-readable report of one run: ``report.md`` + a single self-contained ``report.html``.

The report answers two questions first - *which configuration is best?* and *does FastText
initialisation help?* - and then shows the evidence: a summary table, an overview chart, training
curves, confusion matrices with per-class scores, misclassified messages, data / vocabulary facts,
FastText neighbours and everything needed to reproduce the run.

Public API
----------
``summarize(results)``        one row per (model, init) configuration + the baseline, best first.
``fasttext_effect(results)``  FastText-minus-random differences per model with a verdict.
``write_report(results, out_dir)``  writes ``report.md``, ``report.html`` and ``plots/*.png``.

``results`` is the run-results dict produced by the pipeline (see the pipeline documentation for the
schema). Nothing in it is modified.

Plots are drawn with :class:`matplotlib.figure.Figure` + ``FigureCanvasAgg`` directly (never the
pyplot global state), so the caller's matplotlib backend is left alone. Korean text is rendered with
the NanumGothic font bundled with ``koreanize_matplotlib``.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import html as _html
import io
import json
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["summarize", "fasttext_effect", "write_report", "MIN_EFFECT", "SUMMARY_COLUMNS", "EFFECT_COLUMNS"]

#: Smallest difference (in accuracy / macro-F1) that can count as a real effect, whatever the spread.
MIN_EFFECT = 0.002
#: ``init`` value of the baseline row in :func:`summarize`.
BASELINE_INIT = "baseline"
DPI = 110
MAX_MESSAGE_CHARS = 300
MAX_MISCLASSIFIED_SHOWN = 15

SUMMARY_COLUMNS = [
    "model", "init", "n_seeds",
    "accuracy_mean", "accuracy_std", "macro_f1_mean", "macro_f1_std",
    "roc_auc_mean", "best_epoch_mean", "train_seconds_mean",
]
EFFECT_COLUMNS = [
    "model", "n_seeds", "paired",
    "accuracy_random", "accuracy_fasttext", "accuracy_diff", "accuracy_spread",
    "macro_f1_random", "macro_f1_fasttext", "macro_f1_diff", "macro_f1_spread",
    "verdict",
]

_INIT_ORDER = ("random", "fasttext")
# Okabe-Ito colour-blind-safe palette.
_INIT_COLOURS = {"random": "#0072B2", "fasttext": "#E69F00"}
_EXTRA_COLOURS = ["#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
_TRAIN_COLOUR, _VAL_COLOUR = "#0072B2", "#E69F00"


# ----------------------------------------------------------------------------------------------
# small numeric helpers
# ----------------------------------------------------------------------------------------------
def _num(x: Any) -> float:
    """float(x), or NaN for None / non-numbers / non-finite values."""
    if x is None or isinstance(x, bool):
        return math.nan
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def _mean(values: Iterable[float]) -> float:
    vals = _finite(values)
    return float(np.mean(vals)) if vals else math.nan


def _std(values: Iterable[float]) -> float:
    """Sample standard deviation (n-1); 0.0 for a single value, NaN for none."""
    vals = _finite(values)
    if not vals:
        return math.nan
    if len(vals) == 1:
        return 0.0
    return float(np.std(vals, ddof=1))


def _isnan(x: Any) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


# ----------------------------------------------------------------------------------------------
# grouping of runs
# ----------------------------------------------------------------------------------------------
def _runs(results: dict) -> list[dict]:
    return [r for r in (results.get("runs") or []) if isinstance(r, dict)]


def _group_runs(results: dict) -> dict[tuple[str, str], list[dict]]:
    """{(model, init): [runs]} in display order: models by first appearance, then random, fasttext, others."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in _runs(results):
        key = (str(run.get("model", "?")), str(run.get("init", "?")))
        groups.setdefault(key, []).append(run)
    models = list(dict.fromkeys(m for m, _ in groups))
    inits = list(dict.fromkeys(i for _, i in groups))

    def init_rank(i: str) -> tuple[int, int]:
        return (_INIT_ORDER.index(i), 0) if i in _INIT_ORDER else (len(_INIT_ORDER), inits.index(i))

    keys = sorted(groups, key=lambda k: (models.index(k[0]), init_rank(k[1])))
    return {k: groups[k] for k in keys}


def _test(run: dict | None) -> dict:
    t = (run or {}).get("test")
    return t if isinstance(t, dict) else {}


def _metric(run: dict, metric: str, split: str = "test") -> float:
    part = run.get(split)
    return _num(part.get(metric)) if isinstance(part, dict) else math.nan


def _first_seed_run(runs: Sequence[dict]) -> dict:
    """The run with the lowest seed (seed 0 normally); the first run if seeds are not comparable."""
    seeded = [r for r in runs if not _isnan(r.get("seed"))]
    if seeded:
        return min(seeded, key=lambda r: float(r["seed"]))
    return runs[0]


def _best_run(runs: Sequence[dict]) -> dict:
    """The run with the best *validation* macro-F1 (then validation accuracy) - not picked on the test set."""

    def key(r: dict) -> tuple[float, float]:
        f1, acc = _metric(r, "macro_f1", "val"), _metric(r, "accuracy", "val")
        return (-math.inf if math.isnan(f1) else f1, -math.inf if math.isnan(acc) else acc)

    best = runs[0]
    for r in runs[1:]:
        if key(r) > key(best):
            best = r
    return best


# ----------------------------------------------------------------------------------------------
# public: tables
# ----------------------------------------------------------------------------------------------
def summarize(results: dict) -> pd.DataFrame:
    """One row per (model, init) configuration plus one row for the baseline, best first.

    Columns: ``model, init, n_seeds, accuracy_mean, accuracy_std, macro_f1_mean, macro_f1_std,
    roc_auc_mean, best_epoch_mean, train_seconds_mean``. Metrics are *test*-set metrics averaged over
    the seeds (runs) of a configuration; ``*_std`` is the sample standard deviation across seeds
    (n-1 denominator) and is ``0.0`` - not NaN - for a single seed. ``roc_auc_mean`` is NaN when no
    run reports a ROC-AUC (e.g. multiclass). The baseline row has ``init == "baseline"``,
    ``n_seeds == 1``, std ``0.0`` and ``best_epoch_mean`` NaN. Rows are sorted by ``macro_f1_mean``
    then ``accuracy_mean``, both descending (ties keep display order).
    """
    rows = []
    for (model, init), runs in _group_runs(results).items():
        rows.append(_summary_row(model, init, runs))
    base = results.get("baseline")
    if isinstance(base, dict):
        test = _test(base)
        acc, f1 = _num(test.get("accuracy")), _num(test.get("macro_f1"))
        rows.append({
            "model": str(base.get("name") or "tfidf_logreg"), "init": BASELINE_INIT, "n_seeds": 1,
            "accuracy_mean": acc, "accuracy_std": 0.0 if not math.isnan(acc) else math.nan,
            "macro_f1_mean": f1, "macro_f1_std": 0.0 if not math.isnan(f1) else math.nan,
            "roc_auc_mean": _num(test.get("roc_auc")), "best_epoch_mean": math.nan,
            "train_seconds_mean": _num(base.get("train_seconds")),
        })
    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    float_cols = SUMMARY_COLUMNS[3:]
    df[float_cols] = df[float_cols].astype(float)
    df["n_seeds"] = df["n_seeds"].astype(int)
    df = df.sort_values(["macro_f1_mean", "accuracy_mean"], ascending=False, kind="mergesort",
                        na_position="last")
    return df.reset_index(drop=True)


def _summary_row(model: str, init: str, runs: Sequence[dict]) -> dict:
    acc = [_metric(r, "accuracy") for r in runs]
    f1 = [_metric(r, "macro_f1") for r in runs]
    return {
        "model": model, "init": init, "n_seeds": len(runs),
        "accuracy_mean": _mean(acc), "accuracy_std": _std(acc),
        "macro_f1_mean": _mean(f1), "macro_f1_std": _std(f1),
        "roc_auc_mean": _mean(_metric(r, "roc_auc") for r in runs),
        "best_epoch_mean": _mean(_num(r.get("best_epoch")) for r in runs),
        "train_seconds_mean": _mean(_num(r.get("train_seconds")) for r in runs),
    }


def _verdict(diff: float, spread: float) -> str:
    if math.isnan(diff):
        return "no clear difference"
    threshold = max(0.0 if math.isnan(spread) else spread, MIN_EFFECT)
    if abs(diff) <= threshold + 1e-12:  # tolerance for float rounding at the boundary
        return "no clear difference"
    return "helps" if diff > 0 else "hurts"


def fasttext_effect(results: dict) -> pd.DataFrame:
    """Effect of FastText-initialised embeddings, per model trained with both ``random`` and ``fasttext`` init.

    Columns: ``model, n_seeds, paired, accuracy_random, accuracy_fasttext, accuracy_diff,
    accuracy_spread, macro_f1_random, macro_f1_fasttext, macro_f1_diff, macro_f1_spread, verdict``.

    * ``*_diff`` = mean test metric of the fasttext runs minus mean test metric of the random runs.
    * ``paired`` is True when both inits were run with exactly the same seeds; then ``*_spread`` is
      the sample standard deviation (n-1) over seeds of the per-seed difference
      (fasttext[seed] - random[seed]). Otherwise - or with a single seed, where no spread can be
      estimated - ``*_spread`` is NaN.
    * ``n_seeds`` is the number of paired seeds (or the smaller run count when not paired).
    * ``verdict`` is decided on macro-F1 (accuracy if macro-F1 is missing): **"no clear difference"**
      when ``|diff| <= max(spread, 0.002)`` (a NaN spread counts as 0, i.e. the 0.002 floor applies);
      otherwise **"helps"** if the difference is positive and **"hurts"** if negative. This is a
      noise rule of thumb, not a significance test.

    Models appear in the order they first occur in ``results["runs"]``.
    """
    groups = _group_runs(results)
    rows = []
    for model in dict.fromkeys(m for m, _ in groups):
        rand, ft = groups.get((model, "random")), groups.get((model, "fasttext"))
        if not rand or not ft:
            continue
        seeds_r = [r.get("seed") for r in rand]
        seeds_f = [r.get("seed") for r in ft]
        paired = (
            all(not _isnan(s) for s in seeds_r + seeds_f)
            and len(set(seeds_r)) == len(seeds_r) and len(set(seeds_f)) == len(seeds_f)
            and set(seeds_r) == set(seeds_f)
        )
        row: dict[str, Any] = {"model": model, "n_seeds": len(seeds_r) if paired else min(len(rand), len(ft)),
                               "paired": bool(paired)}
        for metric in ("accuracy", "macro_f1"):
            vr = [_metric(r, metric) for r in rand]
            vf = [_metric(r, metric) for r in ft]
            row[f"{metric}_random"], row[f"{metric}_fasttext"] = _mean(vr), _mean(vf)
            row[f"{metric}_diff"] = _mean(vf) - _mean(vr)
            spread = math.nan
            if paired:
                by_r = dict(zip(seeds_r, vr))
                diffs = _finite(f - by_r[s] for s, f in zip(seeds_f, vf))
                if len(diffs) >= 2:
                    spread = float(np.std(diffs, ddof=1))
            row[f"{metric}_spread"] = spread
        if not math.isnan(row["macro_f1_diff"]):
            row["verdict"] = _verdict(row["macro_f1_diff"], row["macro_f1_spread"])
        else:
            row["verdict"] = _verdict(row["accuracy_diff"], row["accuracy_spread"])
        rows.append(row)
    df = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    df[[c for c in EFFECT_COLUMNS if c.startswith(("accuracy", "macro"))]] = \
        df[[c for c in EFFECT_COLUMNS if c.startswith(("accuracy", "macro"))]].astype(float)
    df["n_seeds"] = df["n_seeds"].astype(int)
    df["paired"] = df["paired"].astype(bool)
    return df


# ----------------------------------------------------------------------------------------------
# formatting
# ----------------------------------------------------------------------------------------------
_DASH = "—"


def _f3(x: Any) -> str:
    return _DASH if _isnan(x) else f"{float(x):.3f}"


def _pm(mean: Any, std: Any, n: int) -> str:
    if _isnan(mean):
        return _DASH
    if n > 1 and not _isnan(std):
        return f"{float(mean):.3f} ± {float(std):.3f}"
    return f"{float(mean):.3f}"


def _signed(x: Any, digits: int = 4) -> str:
    if _isnan(x):
        return _DASH
    s = f"{float(x):+.{digits}f}"
    return s.replace("-", "\u2212")


def _pct(x: Any, digits: int = 1) -> str:
    return _DASH if _isnan(x) else f"{100 * float(x):.{digits}f}%"


def _int(x: Any) -> str:
    if _isnan(x):
        return _DASH if x is None or not isinstance(x, str) else x
    v = float(x)
    return f"{int(v):,}" if v.is_integer() else f"{v:,.1f}"


def _secs(x: Any) -> str:
    if _isnan(x):
        return _DASH
    s = float(x)
    if s < 10:
        return f"{s:.2f} s"
    if s < 120:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


def _epoch(x: Any) -> str:
    if _isnan(x):
        return _DASH
    v = float(x)
    return str(int(v)) if v.is_integer() else f"{v:.1f}"


def _truncate(text: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    s = " ".join(str(text if text is not None else "").split())  # collapse newlines / runs of spaces
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def _config_name(model: str, init: str) -> str:
    return f"{model} + {init}"


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("_") or "x"


def _date(created: Any) -> str:
    if not created:
        return _DASH
    try:
        return _dt.datetime.fromisoformat(str(created)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(created)


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ----------------------------------------------------------------------------------------------
# a tiny document model rendered to both Markdown and HTML
# ----------------------------------------------------------------------------------------------
class _B(str):
    """Bold inline text."""


class _C(str):
    """Inline code."""


class _Badge(str):
    """Verdict badge."""


Inline = Any  # str | _B | _C | _Badge | list of those


@dataclass
class _Plot:
    path: Path
    rel: str
    data: bytes
    alt: str


def _md_text(s: str) -> str:
    return str(s).replace("<", "&lt;").replace(">", "&gt;")


def _md_inline(parts: Inline) -> str:
    if not isinstance(parts, (list, tuple)):
        parts = [parts]
    merged: list = []  # adjacent bold pieces would render as "**a****b**": merge them
    for p in parts:
        if isinstance(p, _B) and not isinstance(p, _Badge) and merged and type(merged[-1]) is _B:
            merged[-1] = _B(merged[-1] + p)
        else:
            merged.append(p)
    out = []
    for p in merged:
        if isinstance(p, _C):
            fence = "``" if "`" in p else "`"
            pad = " " if fence == "``" else ""
            out.append(f"{fence}{pad}{p}{pad}{fence}")
        elif isinstance(p, (_B, _Badge)):
            # CommonMark: "**" must not be next to inner whitespace -> move it outside
            core = str(p).strip()
            lead, trail = str(p)[: len(str(p)) - len(str(p).lstrip())], str(p)[len(str(p).rstrip()):]
            out.append(f"{lead}**{_md_text(core)}**{trail}" if core else str(p))
        else:
            out.append(_md_text(str(p)))
    return "".join(out)


def _md_cell(parts: Inline) -> str:
    return _md_inline(parts).replace("|", "\\|").replace("\n", " ")


_BADGE_CLASS = {"helps": "helps", "hurts": "hurts"}


def _html_inline(parts: Inline) -> str:
    if not isinstance(parts, (list, tuple)):
        parts = [parts]
    out = []
    for p in parts:
        esc = _html.escape(str(p), quote=True)
        if isinstance(p, _C):
            out.append(f"<code>{esc}</code>")
        elif isinstance(p, _Badge):
            out.append(f'<span class="badge {_BADGE_CLASS.get(str(p), "neutral")}">{esc}</span>')
        elif isinstance(p, _B):
            out.append(f"<strong>{esc}</strong>")
        else:
            out.append(esc)
    return "".join(out)


class _Doc:
    def __init__(self) -> None:
        self.blocks: list[tuple] = []
        self.toc: list[tuple[str, str]] = []

    def h2(self, title: str, anchor: str) -> None:
        self.toc.append((anchor, title))
        self.blocks.append(("h2", title, anchor))

    def h3(self, title: Inline) -> None:
        self.blocks.append(("h3", title))

    def p(self, *parts: Inline, cls: str | None = None) -> None:
        self.blocks.append(("p", list(parts), cls))

    def note(self, *parts: Inline) -> None:
        self.p(*parts, cls="note")

    def ul(self, items: list[Inline], cls: str | None = None) -> None:
        self.blocks.append(("ul", items, cls))

    def table(self, header: list[str], rows: list[list[Inline]], align: str,
              row_cls: list[str | None] | None = None) -> None:
        self.blocks.append(("table", header, rows, align, row_cls or [None] * len(rows)))

    def figure(self, plot: _Plot | None, caption: Inline) -> None:
        self.blocks.append(("figure", plot, caption))

    def cards(self, cards: list[tuple[Inline, _Plot | None, tuple | None]]) -> None:
        """cards: (title, plot, (header, rows, align) or None)."""
        self.blocks.append(("cards", cards))

    def pre(self, text: str, lang: str = "") -> None:
        self.blocks.append(("pre", text, lang))

    # -- Markdown --------------------------------------------------------------------------------
    def to_markdown(self, title: str, meta: Inline) -> str:
        out = [f"# {_md_text(title)}", "", _md_inline(meta), ""]
        for b in self.blocks:
            kind = b[0]
            if kind == "h2":
                out += [f"## {_md_text(b[1])}", ""]
            elif kind == "h3":
                out += [f"### {_md_inline(b[1])}", ""]
            elif kind == "p":
                text = _md_inline(b[1])
                out += [f"*{text}*" if b[2] == "note" and "*" not in text else text, ""]
            elif kind == "ul":
                out += [f"- {_md_inline(it)}" for it in b[1]] + [""]
            elif kind == "table":
                out += self._md_table(b[1], b[2], b[3]) + [""]
            elif kind == "figure":
                plot, caption = b[1], b[2]
                if plot is not None:
                    out += [f"![{_md_text(plot.alt)}]({plot.rel})", ""]
                out += [f"*{_md_inline(caption)}*", ""]
            elif kind == "cards":
                for title, plot, tab in b[1]:
                    out += [f"#### {_md_inline(title)}", ""]
                    if plot is not None:
                        out += [f"![{_md_text(plot.alt)}]({plot.rel})", ""]
                    if tab is not None:
                        out += self._md_table(*tab) + [""]
            elif kind == "pre":
                text, lang = b[1], b[2]
                longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
                fence = "`" * max(3, longest + 1)
                out += [f"{fence}{lang}", text, fence, ""]
        return "\n".join(out).rstrip() + "\n"

    @staticmethod
    def _md_table(header: list[str], rows: list[list[Inline]], align: str) -> list[str]:
        spec = {"l": ":---", "r": "---:", "m": ":---"}
        lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
                 "|" + "|".join(spec.get(a, ":---") for a in align) + "|"]
        for row in rows:
            lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
        return lines

    # -- HTML ------------------------------------------------------------------------------------
    def to_html(self, title: str, meta: Inline) -> str:
        body = [f"<h1>{_html.escape(title)}</h1>", f'<p class="meta">{_html_inline(meta)}</p>']
        if self.toc:
            links = " ".join(f'<a href="#{a}">{_html.escape(t)}</a>' for a, t in self.toc)
            body.append(f'<nav class="toc">{links}</nav>')
        for b in self.blocks:
            kind = b[0]
            if kind == "h2":
                body.append(f'<h2 id="{b[2]}">{_html.escape(b[1])}</h2>')
            elif kind == "h3":
                body.append(f"<h3>{_html_inline(b[1])}</h3>")
            elif kind == "p":
                cls = f' class="{b[2]}"' if b[2] else ""
                body.append(f"<p{cls}>{_html_inline(b[1])}</p>")
            elif kind == "ul":
                cls = f' class="{b[2]}"' if b[2] else ""
                items = "".join(f"<li>{_html_inline(it)}</li>" for it in b[1])
                body.append(f"<ul{cls}>{items}</ul>")
            elif kind == "table":
                body.append(self._html_table(b[1], b[2], b[3], b[4]))
            elif kind == "figure":
                body.append(self._html_figure(b[1], b[2]))
            elif kind == "cards":
                cards = []
                for title_, plot, tab in b[1]:
                    inner = [f"<h4>{_html_inline(title_)}</h4>"]
                    if plot is not None:
                        inner.append(self._html_img(plot))
                    if tab is not None:
                        inner.append(self._html_table(*tab, None))
                    cards.append('<div class="card">' + "".join(inner) + "</div>")
                body.append('<div class="cards">' + "".join(cards) + "</div>")
            elif kind == "pre":
                body.append(f"<pre>{_html.escape(b[1])}</pre>")
        return (
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body)
            + "\n</main>\n</body>\n</html>\n"
        )

    @staticmethod
    def _html_img(plot: _Plot) -> str:
        b64 = base64.b64encode(plot.data).decode("ascii")
        return f'<img src="data:image/png;base64,{b64}" alt="{_html.escape(plot.alt, quote=True)}">'

    def _html_figure(self, plot: _Plot | None, caption: Inline) -> str:
        img = self._html_img(plot) if plot is not None else ""
        return f"<figure>{img}<figcaption>{_html_inline(caption)}</figcaption></figure>"

    @staticmethod
    def _html_table(header, rows, align, row_cls) -> str:
        cls_of = {"r": ' class="num"', "m": ' class="msg"', "l": ""}
        head = "".join(f"<th{cls_of.get(a, '')}>{_html_inline(h)}</th>" for h, a in zip(header, align))
        body = []
        for i, row in enumerate(rows):
            rc = row_cls[i] if row_cls else None
            tr = f'<tr class="{rc}">' if rc else "<tr>"
            cells = "".join(f"<td{cls_of.get(a, '')}>{_html_inline(c)}</td>" for c, a in zip(row, align))
            body.append(tr + cells + "</tr>")
        return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table></div>")


_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--border:#d8dee4;--soft:#f6f8fa;--accent:#0969da;--best:#dafbe1;--base:#fff8c5}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--fg);line-height:1.55;font-size:15px;
font-family:system-ui,-apple-system,"Segoe UI","Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR","NanumGothic",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:28px 28px 72px}
h1{font-size:1.75rem;margin:.2em 0 .15em;line-height:1.25}
h2{font-size:1.3rem;margin:2.2em 0 .6em;padding-bottom:.3em;border-bottom:1px solid var(--border)}
h3{font-size:1.05rem;margin:1.6em 0 .5em}
h4{font-size:.95rem;margin:.1em 0 .5em}
.meta{color:var(--muted);margin:0 0 10px}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:.88rem;padding:8px 0 4px;border-bottom:1px solid var(--border)}
nav.toc a{color:var(--accent);text-decoration:none}
nav.toc a:hover{text-decoration:underline}
ul.headline{list-style:none;margin:18px 0;padding:14px 20px;background:#f0f7ff;border:1px solid #b6d4fe;border-left:5px solid var(--accent);border-radius:8px}
ul.headline li{margin:.45em 0}
.table-wrap{overflow-x:auto;margin:10px 0 8px}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:5px 11px;border-bottom:1px solid var(--border);text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;white-space:nowrap}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.msg{min-width:260px;max-width:620px;word-break:break-word}
tbody tr:hover td{background:#f3f6f9}
tr.best td{background:var(--best);font-weight:600}
tr.baseline td{background:var(--base)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;background:var(--soft);padding:1px 5px;border-radius:4px}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:.8rem;font-weight:600;white-space:nowrap}
.badge.helps{background:#dafbe1;color:#116329}
.badge.hurts{background:#ffebe9;color:#a40e26}
.badge.neutral{background:#eaeef2;color:#424a53}
figure{margin:14px 0 18px}
figure img,.card img{max-width:100%;height:auto;display:block}
figure img{border:1px solid var(--border);border-radius:6px}
figcaption,.note{color:var(--muted);font-size:.86rem}
figcaption{margin-top:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:16px;margin:12px 0}
.card{border:1px solid var(--border);border-radius:8px;padding:12px 14px}
.card table{font-size:.84rem}
pre{background:var(--soft);border:1px solid var(--border);border-radius:6px;padding:12px 14px;overflow:auto;max-height:520px;font-size:.82rem;line-height:1.45}
@media print{main{max-width:none;padding:0}nav.toc{display:none}pre{max-height:none}}
"""


# ----------------------------------------------------------------------------------------------
# plotting (Figure + FigureCanvasAgg; no pyplot)
# ----------------------------------------------------------------------------------------------
_FONT: str | None = None
_FONT_READY = False


def _korean_font() -> str | None:
    """Register the bundled Korean font (koreanize_matplotlib) once and return its family name."""
    global _FONT, _FONT_READY
    if _FONT_READY:
        return _FONT
    from matplotlib import font_manager

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # koreanize_matplotlib uses the deprecated distutils
            import koreanize_matplotlib  # noqa: F401  (registers NanumGothic)
    except Exception as exc:  # pragma: no cover - depends on the environment
        warnings.warn(f"koreanize_matplotlib could not be imported ({exc}); Korean text in plots may not render",
                      stacklevel=3)
    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "AppleGothic",
                 "Apple SD Gothic Neo", "UnDotum"):
        if cand in names:
            _FONT = cand
            break
    _FONT_READY = True
    return _FONT


@contextlib.contextmanager
def _plot_style():
    font = _korean_font()
    rc = {
        "font.family": ([font] if font else []) + ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "axes.spines.top": False, "axes.spines.right": False,
        "axes.titlesize": 10, "axes.titleweight": "bold", "axes.labelsize": 9,
        "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8,
        "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6,
        "axes.edgecolor": "#888888", "figure.facecolor": "white",
    }
    with matplotlib.rc_context(rc):
        yield


def _new_fig(w: float, h: float, **kw: Any) -> Figure:
    fig = Figure(figsize=(w, h), dpi=DPI, **kw)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    fig.clear()
    return buf.getvalue()


def _init_colour(init: str, inits: Sequence[str]) -> str:
    if init in _INIT_COLOURS:
        return _INIT_COLOURS[init]
    extras = [i for i in inits if i not in _INIT_COLOURS]
    return _EXTRA_COLOURS[extras.index(init) % len(_EXTRA_COLOURS)] if init in extras else "#777777"


def _plot_overview(summary: pd.DataFrame) -> Figure:
    neural = summary[summary["init"] != BASELINE_INIT]
    base = summary[summary["init"] == BASELINE_INIT]
    models = list(dict.fromkeys(neural["model"]))
    inits = [i for i in _INIT_ORDER if i in set(neural["init"])] + \
        [i for i in dict.fromkeys(neural["init"]) if i not in _INIT_ORDER]
    fig = _new_fig(max(8.0, 2.0 + 1.5 * len(models) * 2), 3.8, layout="constrained")
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
            bars = ax.bar(pos, np.nan_to_num(ys_a, nan=0.0), width * 0.92, color=_init_colour(init, inits),
                          yerr=es_a if es_a.any() else None, capsize=3, error_kw={"elinewidth": 1, "ecolor": "#333"},
                          label=init, zorder=2)
            handles[init] = bars
            for px, y, e in zip(pos, ys_a, es_a):
                if not math.isnan(y):
                    ax.annotate(f"{y:.3f}", (px, y + e), xytext=(0, 2), textcoords="offset points",
                                ha="center", va="bottom", fontsize=7, color="#333")
                    lows.append(y - e)
                    highs.append(y + e)
        if not base.empty and not _isnan(base[f"{metric}_mean"].iloc[0]):
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
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", bbox_to_anchor=(0.5, 1.0),
               ncol=len(handles), frameon=False, title="embedding init", title_fontsize=8)
    return fig


def _plot_curves(configs: list[tuple[str, str, dict]]) -> Figure:
    n = len(configs)
    per_row = 2 if n > 1 else 1
    nrows = math.ceil(n / per_row)
    fig = _new_fig(6.4 * per_row, 2.5 * nrows + 0.3, layout="constrained")
    axes = fig.subplots(nrows, 2 * per_row, squeeze=False)
    legend_handles = None
    for idx, (model, init, run) in enumerate(configs):
        r, c = divmod(idx, per_row)
        ax_loss, ax_acc = axes[r][2 * c], axes[r][2 * c + 1]
        hist = [h for h in (run.get("history") or []) if isinstance(h, dict)]
        seed = run.get("seed")
        label = f"{model} · {init}" + (f" (seed {seed})" if seed is not None else "")
        if not hist:
            for ax in (ax_loss, ax_acc):
                ax.text(0.5, 0.5, "no history recorded", ha="center", va="center", transform=ax.transAxes,
                        color="#777")
                ax.set_xticks([])
                ax.set_yticks([])
        epochs = np.array([_num(h.get("epoch", i + 1)) for i, h in enumerate(hist)], float)
        best = _num(run.get("best_epoch"))
        for ax, key, name in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
            if not hist:
                ax.set_title(f"{label} — {name}", fontsize=9)
                continue
            tr = np.array([_num(h.get(f"train_{key}")) for h in hist], float)
            va = np.array([_num(h.get(f"val_{key}")) for h in hist], float)
            l1, = ax.plot(epochs, tr, "-o", color=_TRAIN_COLOUR, ms=3, lw=1.5, label="train")
            l2, = ax.plot(epochs, va, "--o", color=_VAL_COLOUR, ms=3, lw=1.5, label="validation")
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
        fig.legend(legend_handles, [h.get_label() for h in legend_handles], loc="lower center",
                   bbox_to_anchor=(0.5, 1.0), ncol=len(legend_handles), frameon=False)
    return fig


def _plot_confusion(cm: Any, labels: Sequence[str], title: str) -> Figure:
    mat = np.asarray(cm, dtype=float)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {mat.shape}")
    k = mat.shape[0]
    names = [str(x) for x in labels] if len(labels) == k else [str(i) for i in range(k)]
    names = [s if len(s) <= 14 else s[:13] + "…" for s in names]
    size = max(3.3, 0.75 * k + 1.9)
    fig = _new_fig(size, size * 0.88, layout="constrained")
    ax = fig.add_subplot()
    rows = mat.sum(axis=1, keepdims=True)
    norm = np.divide(mat, rows, out=np.zeros_like(mat), where=rows > 0)
    ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    fs = 10 if k <= 3 else (8 if k <= 6 else 6)
    for i in range(k):
        for j in range(k):
            v = mat[i, j]
            count = f"{int(v):,}" if float(v).is_integer() else f"{v:.1f}"
            ax.text(j, i, f"{count}\n{norm[i, j]:.0%}", ha="center", va="center", fontsize=fs,
                    color="white" if norm[i, j] > 0.6 else "#1a1a1a")
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


def _plot_class_balance(counts: dict, labels: Sequence[str]) -> Figure:
    names = [l for l in labels if l in counts] + [l for l in counts if l not in labels]
    vals = np.array([_num(counts[l]) for l in names], float)
    vals = np.nan_to_num(vals)
    total = vals.sum() or 1.0
    fig = _new_fig(6.2, 0.45 * len(names) + 1.0, layout="constrained")
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


def _plot_lengths(lengths: dict) -> Figure:
    hist = lengths.get("histogram") or {}
    edges = np.array([_num(e) for e in hist.get("edges") or []], float)
    counts = np.array([_num(c) for c in hist.get("counts") or []], float)
    if len(edges) != len(counts) + 1 or len(counts) == 0:
        raise ValueError("length histogram needs len(edges) == len(counts) + 1")
    fig = _new_fig(7.2, 3.0, layout="constrained")
    ax = fig.add_subplot()
    ax.bar(edges[:-1], np.nan_to_num(counts), width=np.diff(edges), align="edge", color="#56B4E9",
           edgecolor="white", linewidth=0.5, zorder=2)
    ctx, med = _num(lengths.get("context_length")), _num(lengths.get("median"))
    if not math.isnan(med):
        ax.axvline(med, color="#555", ls=":", lw=1.2, label=f"median = {med:g}", zorder=3)
    if not math.isnan(ctx):
        ax.axvline(ctx, color="#D55E00", ls="--", lw=1.6, label=f"context length = {ctx:g}", zorder=3)
    ax.set_xlabel("tokens per message (train split)")
    ax.set_ylabel("messages")
    ax.legend(frameon=False)
    ax.grid(axis="x", visible=False)
    return fig


# ----------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------
def write_report(results: dict, out_dir: str | Path) -> dict[str, Any]:
    """Write ``out_dir/report.md``, ``out_dir/report.html`` and ``out_dir/plots/*.png``.

    ``report.html`` is one self-contained file (inline CSS, plots embedded as base64 PNG, no scripts,
    no external URLs or fonts); ``report.md`` links the PNGs in ``plots/`` relatively. Both contain the
    same sections. ``results`` is not modified. A plot that cannot be drawn (e.g. malformed input)
    is replaced by a note and a :class:`UserWarning`, so the rest of the report is still written.

    Returns ``{"html": Path, "md": Path, "plots": [Path, ...]}``.
    """
    out = Path(out_dir)
    plots_dir = out / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def plot(name: str, alt: str, fn, *args) -> _Plot | None:
        try:
            with _plot_style():
                data = _png(fn(*args))
        except Exception as exc:  # keep the report even if one plot fails
            warnings.warn(f"report: plot {name!r} skipped: {exc}", stacklevel=3)
            return None
        path = plots_dir / name
        path.write_bytes(data)
        written.append(path)
        return _Plot(path=path, rel=f"plots/{name}", data=data, alt=alt)

    ctx = _Context(results)
    doc = _Doc()
    _section_headline(doc, ctx)
    _section_summary(doc, ctx)
    _section_fasttext(doc, ctx)
    _section_overview(doc, ctx, plot)
    _section_curves(doc, ctx, plot)
    _section_confusion(doc, ctx, plot)
    _section_misclassified(doc, ctx)
    _section_data(doc, ctx, plot)
    _section_neighbours(doc, ctx)
    _section_repro(doc, ctx)

    title = f"Classification report — {ctx.name}"
    meta = ctx.meta_line()
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text(doc.to_markdown(title, meta), encoding="utf-8")
    html_path.write_text(doc.to_html(title, meta), encoding="utf-8")
    return {"html": html_path, "md": md_path, "plots": written}


class _Context:
    """Derived facts shared by the sections (computed once, read-only)."""

    def __init__(self, results: dict) -> None:
        self.r = results
        self.name = str(results.get("name") or "run")
        ds = results.get("dataset")
        self.ds: dict = ds if isinstance(ds, dict) else {}
        self.labels: list[str] = [str(x) for x in (self.ds.get("labels") or [])]
        self.groups = _group_runs(results)
        self.summary = summarize(results)
        self.effect = fasttext_effect(results)
        self.neural = self.summary[self.summary["init"] != BASELINE_INIT].reset_index(drop=True)
        base = self.summary[self.summary["init"] == BASELINE_INIT]
        self.base_row = base.iloc[0] if not base.empty else None
        self.best_row = self.neural.iloc[0] if not self.neural.empty else None
        self.best_key = (self.best_row["model"], self.best_row["init"]) if self.best_row is not None else None
        self.max_seeds = int(self.neural["n_seeds"].max()) if not self.neural.empty else 0
        split = self.ds.get("split") if isinstance(self.ds.get("split"), dict) else {}
        self.n_test = _num(split.get("test"))
        baseline = results.get("baseline")
        self.baseline: dict | None = baseline if isinstance(baseline, dict) else None

    def meta_line(self) -> list:
        parts: list = [f"Created {_date(self.r.get('created'))}"]
        src = self.ds.get("source")
        if src:
            parts += [" · dataset ", _C(str(src))]
        rows = _num(self.ds.get("rows"))
        if not math.isnan(rows):
            parts.append(f" ({int(rows):,} messages, {len(self.labels)} classes)")
        if self.r.get("device"):
            parts += [" · device ", _C(str(self.r.get("device")))]
        return parts

    def params(self, model: str, init: str) -> float:
        for run in self.groups.get((model, init), []):
            v = _num(run.get("params"))
            if not math.isnan(v):
                return v
        return math.nan


def _row_metric(row, metric: str) -> str:
    return _pm(row[f"{metric}_mean"], row[f"{metric}_std"], int(row["n_seeds"]))


def _section_headline(doc: _Doc, ctx: _Context) -> None:
    items: list = []
    best, base = ctx.best_row, ctx.base_row
    if best is None:
        items.append([_B("No neural runs"), " were recorded in these results."])
        if base is not None:
            items.append([_B("Baseline: "), f"{base['model']} reaches test accuracy {_f3(base['accuracy_mean'])}, "
                          f"macro-F1 {_f3(base['macro_f1_mean'])}."])
    else:
        n = int(best["n_seeds"])
        seeds_txt = f" (mean ± std over {n} seeds)" if n > 1 else " (single seed)"
        items.append([
            _B("Best configuration: "), _B(_config_name(best["model"], best["init"])),
            f" — test accuracy {_row_metric(best, 'accuracy')}, macro-F1 {_row_metric(best, 'macro_f1')}",
            seeds_txt + (f" on {int(ctx.n_test):,} test messages." if not math.isnan(ctx.n_test) else "."),
        ] + _runner_up(ctx))
    if base is None:
        items.append([_B("Baseline: "), "no TF-IDF baseline was run, so there is no simple bar to compare against."])
    elif best is not None:
        b_f1, b_acc = float(base["macro_f1_mean"]), float(base["accuracy_mean"])
        margin = float(best["macro_f1_mean"]) - b_f1
        n_beat = int((ctx.neural["macro_f1_mean"] > b_f1).sum())
        base_txt = f"TF-IDF + logistic-regression baseline (macro-F1 {_f3(b_f1)}, accuracy {_f3(b_acc)})"
        if math.isnan(margin):
            items.append([_B("Baseline: "), f"the {base_txt} could not be compared (missing macro-F1)."])
        elif margin > 0:
            noise = max(0.0 if _isnan(best["macro_f1_std"]) else float(best["macro_f1_std"]), MIN_EFFECT)
            if margin <= noise + 1e-12:
                items.append([_B("Baseline: "), f"the best configuration edges out the {base_txt} by only "
                              f"{_signed(margin)} macro-F1 — within the noise level (≤ max(std, {MIN_EFFECT})), "
                              "so treat them as tied. ",
                              f"{n_beat} of {len(ctx.neural)} neural configurations score above the baseline."])
            else:
                items.append([_B("Baseline: "), f"it beats the {base_txt} by {_signed(margin)} macro-F1 "
                              f"({_signed(float(best['accuracy_mean']) - b_acc)} accuracy). ",
                              f"{n_beat} of {len(ctx.neural)} neural configurations beat the baseline."])
        else:
            items.append([_B("Baseline: "), _B("no neural model beats the TF-IDF baseline"),
                          f" — the {base_txt} is ahead of the best neural configuration by "
                          f"{_signed(-margin)} macro-F1."])
    items.append([_B("FastText: "), _fasttext_sentence(ctx)])
    rnn = ctx.neural[ctx.neural["model"] == "rnn"]
    if not rnn.empty:
        row = rnn.iloc[0]
        items.append([_B("Plain RNN: "), f"{_config_name(row['model'], row['init'])} reaches test accuracy "
                      f"{_row_metric(row, 'accuracy')}. Every model reads packed sequences with their true lengths, "
                      "so padding never reaches the final state; a plain RNN fed long post-padded sequences "
                      "(the original design) forgets the message behind the padding."])
    doc.ul(items, cls="headline")


def _runner_up(ctx: _Context) -> list:
    if len(ctx.neural) < 2:
        return []
    best, second = ctx.neural.iloc[0], ctx.neural.iloc[1]
    gap = float(best["macro_f1_mean"]) - float(second["macro_f1_mean"])
    if math.isnan(gap):
        return []
    stds = [float(x) for x in (best["macro_f1_std"], second["macro_f1_std"]) if not _isnan(x)]
    noise = max(stds + [MIN_EFFECT])
    name = _config_name(second["model"], second["init"])
    if gap <= noise + 1e-12:
        return [f" The runner-up, {name} (macro-F1 {_row_metric(second, 'macro_f1')}), is only {gap:.4f} behind — "
                f"within the noise level (≤ {noise:.4f}), so the ranking between these two is not conclusive."]
    return [f" Runner-up: {name} (macro-F1 {_row_metric(second, 'macro_f1')}), {gap:.4f} behind."]


def _fasttext_sentence(ctx: _Context) -> str:
    eff = ctx.effect
    if eff.empty:
        has_ft = any(i == "fasttext" for _, i in ctx.groups)
        return ("FastText initialisation could not be assessed: no model was trained with both random and "
                "FastText-initialised embeddings." if has_ft else
                "FastText initialisation was not tested in this run (no model used FastText-initialised "
                "embeddings).")
    by: dict[str, list[str]] = {"helps": [], "hurts": [], "no clear difference": []}
    for _, row in eff.iterrows():
        by.setdefault(row["verdict"], []).append(f"{row['model']} ({_signed(row['macro_f1_diff'])})")
    phrases = []
    if by["helps"]:
        phrases.append(f"helps {_join(by['helps'])}")
    if by["hurts"]:
        phrases.append(f"hurts {_join(by['hurts'])}")
    if by["no clear difference"]:
        phrases.append(f"makes no clear difference for {_join(by['no clear difference'])}")
    s = "FastText initialisation " + "; ".join(phrases) + " (change in mean test macro-F1, FastText minus random)."
    if not by["helps"]:
        s += " It does not clearly help any model in this run."
    if int(eff["n_seeds"].max()) <= 1:
        s += " Only one seed per configuration, so these verdicts are indicative only."
    return s


def _section_summary(doc: _Doc, ctx: _Context) -> None:
    doc.h2("Summary of all configurations", "summary")
    s = ctx.summary
    if s.empty:
        doc.p("No results to summarise.")
        return
    has_auc = s["roc_auc_mean"].notna().any()
    header = ["#", "model", "init", "seeds", "test accuracy", "test macro-F1"]
    align = "rllrrr"
    if has_auc:
        header.append("ROC-AUC")
        align += "r"
    header += ["best epoch", "train time / run", "parameters"]
    align += "rrr"
    rows, classes = [], []
    for i, row in s.iterrows():
        is_base = row["init"] == BASELINE_INIT
        cells = [str(i + 1), _B(row["model"]) if i == 0 else row["model"],
                 "— (baseline)" if is_base else row["init"], str(int(row["n_seeds"])),
                 _row_metric(row, "accuracy"), _row_metric(row, "macro_f1")]
        if has_auc:
            cells.append(_f3(row["roc_auc_mean"]))
        cells += [_epoch(row["best_epoch_mean"]), _secs(row["train_seconds_mean"]),
                  _DASH if is_base else _int(ctx.params(row["model"], row["init"]))]
        rows.append(cells)
        classes.append("best" if i == 0 else ("baseline" if is_base else None))
    doc.table(header, rows, align, classes)
    notes = ["Ranked by mean test macro-F1, then accuracy (test set)."]
    if ctx.base_row is not None:
        notes.append(" The TF-IDF + logistic-regression baseline is the row marked “— (baseline)”.")
    if ctx.max_seeds > 1:
        notes.append(" ± is the standard deviation across seeds (sample std, n−1).")
    elif ctx.max_seeds == 1:
        notes.append(" Each configuration was trained once (one seed), so there is no spread estimate and "
                     "small differences may be noise.")
    if not math.isnan(ctx.n_test) and ctx.n_test > 0:
        notes.append(f" With {int(ctx.n_test):,} test messages, one message is worth "
                     f"{1 / ctx.n_test:.4f} accuracy.")
    doc.note(*notes)


def _section_fasttext(doc: _Doc, ctx: _Context) -> None:
    doc.h2("Does FastText initialisation help?", "fasttext-effect")
    eff = ctx.effect
    if eff.empty:
        doc.p(_fasttext_sentence(ctx))
        return
    doc.p(_fasttext_sentence(ctx))
    rows = []
    for _, row in eff.iterrows():
        seeds = f"{int(row['n_seeds'])}" + ("" if row["paired"] else " (unpaired)")
        rows.append([
            _B(row["model"]), seeds,
            _f3(row["accuracy_random"]), _f3(row["accuracy_fasttext"]), _signed(row["accuracy_diff"]),
            _DASH if _isnan(row["accuracy_spread"]) else f"{row['accuracy_spread']:.4f}",
            _f3(row["macro_f1_random"]), _f3(row["macro_f1_fasttext"]), _signed(row["macro_f1_diff"]),
            _DASH if _isnan(row["macro_f1_spread"]) else f"{row['macro_f1_spread']:.4f}",
            _Badge(row["verdict"]),
        ])
    doc.table(["model", "seeds", "acc. random", "acc. FastText", "Δ acc.", "spread",
               "macro-F1 random", "macro-F1 FastText", "Δ macro-F1", "spread", "verdict"],
              rows, "lrrrrrrrrrl")
    n_msg = ""
    if not math.isnan(ctx.n_test) and ctx.n_test > 0:
        n_msg = f" ({MIN_EFFECT} ≈ {MIN_EFFECT * ctx.n_test:.1f} of the {int(ctx.n_test):,} test messages)"
    doc.note(
        "How to read this: Δ = mean test score with FastText-initialised embeddings minus mean with random "
        "initialisation. “spread” is the standard deviation over seeds of the per-seed paired difference "
        "(same seed, both inits); it is “—” when the seeds do not match or there is only one seed. ",
        _B("Rule: "), f"the verdict uses macro-F1 and says “no clear difference” when |Δ| ≤ max(spread, "
        f"{MIN_EFFECT}){n_msg}; otherwise “helps” (Δ > 0) or “hurts” (Δ < 0). This is a rule of thumb "
        "against seed-to-seed noise, not a significance test.")
    ft = ctx.r.get("fasttext")
    if isinstance(ft, dict):
        doc.note(f"FastText vectors: source {ft.get('source', _DASH)}, dimension {_int(ft.get('dim'))}, "
                 f"{_int(ft.get('vectors_trained'))} vectors, covering {_pct(ft.get('coverage'))} of the vocabulary.")


def _section_overview(doc: _Doc, ctx: _Context, plot) -> None:
    doc.h2("Overview chart", "overview")
    if ctx.neural.empty:
        doc.p("No neural configurations to plot.")
        return
    p = plot("overview.png", "Test accuracy and macro-F1 of every configuration", _plot_overview, ctx.summary)
    cap = "Test accuracy (left) and macro-F1 (right) per model; bar colour = embedding initialisation"
    cap += "; dashed line = TF-IDF baseline." if ctx.base_row is not None else " (no baseline was run)."
    if ctx.max_seeds > 1:
        cap += " Bars show the mean over seeds, error bars ±1 std."
    cap += " Note: the y-axis is zoomed in and does not start at 0, to make small differences visible."
    doc.figure(p, cap if p is not None else "(overview chart could not be drawn — see warnings)")


def _section_curves(doc: _Doc, ctx: _Context, plot) -> None:
    doc.h2("Training curves", "curves")
    configs = [(m, i, _first_seed_run(runs)) for (m, i), runs in ctx.groups.items()]
    if not configs:
        doc.p("No training runs.")
        return
    p = plot("training_curves.png", "Training and validation loss and accuracy per epoch", _plot_curves, configs)
    cap = ("Loss and accuracy per epoch, train (solid) vs validation (dashed); the dotted line and ★ mark the "
           "selected best epoch.")
    if ctx.max_seeds > 1:
        cap += (" Several seeds were trained: only the first (lowest) seed of each configuration is shown; "
                "every run is listed in the table below.")
    doc.figure(p, cap if p is not None else "(training curves could not be drawn — see warnings)")
    rows = []
    for (m, i), runs in ctx.groups.items():
        for run in runs:
            stop = _epoch(run.get("epochs_run"))
            rows.append([f"{m} + {i}", _DASH if run.get("seed") is None else str(run.get("seed")),
                         _epoch(run.get("best_epoch")), stop,
                         _f3(_metric(run, "accuracy", "val")), _f3(_metric(run, "macro_f1", "val")),
                         _f3(_metric(run, "accuracy")), _f3(_metric(run, "macro_f1")), _secs(run.get("train_seconds"))])
    doc.h3("All runs")
    doc.table(["configuration", "seed", "best epoch", "epochs run", "val acc.", "val macro-F1",
               "test acc.", "test macro-F1", "train time"], rows, "lrrrrrrrr")


def _per_class_table(test: dict, labels: Sequence[str]) -> tuple | None:
    pc = test.get("per_class")
    if not isinstance(pc, dict) or not pc:
        return None
    names = [l for l in labels if l in pc] + [l for l in pc if l not in labels]
    rows = []
    for name in names:
        d = pc.get(name) or {}
        rows.append([str(name), _f3(d.get("precision")), _f3(d.get("recall")), _f3(d.get("f1")),
                     _int(d.get("support"))])
    return (["class", "precision", "recall", "F1", "support"], rows, "lrrrr")


def _section_confusion(doc: _Doc, ctx: _Context, plot) -> None:
    doc.h2("Confusion matrices and per-class scores", "confusion")
    cards = []
    for (m, i), runs in ctx.groups.items():
        run = _best_run(runs)
        seed = run.get("seed")
        title = f"{m} + {i}" + (f" (seed {seed})" if seed is not None else "")
        test = _test(run)
        p = None
        if test.get("confusion_matrix") is not None:
            p = plot(f"confusion_{_slug(m)}_{_slug(i)}.png", f"Confusion matrix {title}", _plot_confusion,
                     test["confusion_matrix"], ctx.labels, title)
        cards.append(([title] + ([" ", _Badge("best")] if (m, i) == ctx.best_key else []), p,
                      _per_class_table(test, ctx.labels)))
    if ctx.baseline is not None:
        test = _test(ctx.baseline)
        name = str(ctx.baseline.get("name") or "tfidf_logreg")
        p = None
        if test.get("confusion_matrix") is not None:
            p = plot("confusion_baseline.png", f"Confusion matrix {name}", _plot_confusion,
                     test["confusion_matrix"], ctx.labels, f"{name} (baseline)")
        cards.append(([f"{name} (baseline)"], p, _per_class_table(test, ctx.labels)))
    if not cards:
        doc.p("No confusion matrices available.")
        return
    doc.note("Rows = true class, columns = predicted class; each cell shows the count and the share of its row "
             "(i.e. recall for the diagonal). For configurations with several seeds the matrix is from the seed "
             "with the highest ", _B("validation"), " macro-F1 (not picked on the test set).")
    doc.cards(cards)


def _section_misclassified(doc: _Doc, ctx: _Context) -> None:
    doc.h2("Misclassified messages", "errors")
    if ctx.best_key is None:
        doc.p("No neural runs.")
        return
    run = _best_run(ctx.groups[ctx.best_key])
    mis = [x for x in (run.get("misclassified") or []) if isinstance(x, dict)]
    seed = run.get("seed")
    who = _config_name(*ctx.best_key) + (f" (seed {seed})" if seed is not None else "")
    total_err = None
    cm = _test(run).get("confusion_matrix")
    try:
        mat = np.asarray(cm, dtype=float)
        if mat.ndim == 2 and mat.shape[0] == mat.shape[1]:
            total_err = int(mat.sum() - np.trace(mat))
            total_all = int(mat.sum())
    except (TypeError, ValueError):
        total_err = None
    if not mis:
        doc.p(f"No misclassified messages were recorded for {who}.")
        return
    shown = mis[:MAX_MISCLASSIFIED_SHOWN]
    intro = f"A sample from the best configuration, {who}: showing {len(shown)} of the {len(mis)} recorded"
    if total_err is not None:
        intro += f"; the run misclassified {total_err:,} of {total_all:,} test messages in total"
    intro += f". Messages longer than {MAX_MESSAGE_CHARS} characters are truncated."
    doc.p(intro)
    rows = []
    for k, x in enumerate(shown, 1):
        rows.append([str(k), str(x.get("true", _DASH)), str(x.get("pred", _DASH)), _f3(x.get("prob")),
                     _truncate(x.get("text"))])
    doc.table(["#", "true", "predicted", "prob.", "message"], rows, "rllrm")
    doc.note("prob. = the probability the model reported with this prediction.")


def _section_data(doc: _Doc, ctx: _Context, plot) -> None:
    doc.h2("Data and vocabulary", "data")
    ds = ctx.ds
    if not ds:
        doc.p("No dataset information recorded.")
        return
    doc.p("Source ", _C(str(ds.get("source", _DASH))), f" (encoding {ds.get('encoding', _DASH)}; text column ",
          _C(str(ds.get("text_col", _DASH))), ", label column ", _C(str(ds.get("label_col", _DASH))), ").")
    doc.h3("Rows")
    rows = [["rows read", _int(ds.get("rows_read"))],
            ["dropped: missing text or label", _int(ds.get("dropped_missing"))],
            ["dropped: duplicates", _int(ds.get("dropped_duplicates"))],
            ["dropped: empty after cleaning", _int(ds.get("dropped_empty"))],
            [_B("rows used"), _B(_int(ds.get("rows")))]]
    doc.table(["", "messages"], rows, "lr")

    doc.h3("Class balance")
    counts = ds.get("class_counts") if isinstance(ds.get("class_counts"), dict) else {}
    if counts:
        total = sum(_finite(_num(v) for v in counts.values())) or 1.0
        names = [l for l in ctx.labels if l in counts] + [l for l in counts if l not in ctx.labels]
        pos = ds.get("positive_label")
        crow = [[str(n) + (" (positive)" if pos is not None and n == pos else ""), _int(counts[n]),
                 _pct(_num(counts[n]) / total)] for n in names]
        doc.table(["class", "messages", "share"], crow, "lrr")
        p = plot("class_balance.png", "Class balance", _plot_class_balance, counts, ctx.labels)
        if p is not None:
            doc.figure(p, "Messages per class after cleaning.")
    else:
        doc.p("No class counts recorded.")

    split = ds.get("split") if isinstance(ds.get("split"), dict) else {}
    if split:
        doc.h3("Splits")
        tot = sum(_finite(_num(split.get(k)) for k in ("train", "val", "test"))) or 1.0
        srows = [[k, _int(split.get(k)), _pct(_num(split.get(k)) / tot)] for k in ("train", "val", "test")
                 if k in split]
        doc.table(["split", "messages", "share"], srows, "lrr")
        src = str(split.get("test_source") or "")
        if src.startswith("file:"):
            doc.note("The test set comes from a separate file: ", _C(src[5:]), ".")
        elif src:
            doc.note("The test set is a held-out part of the same file (", _C(src), ").")

    lengths = ds.get("lengths") if isinstance(ds.get("lengths"), dict) else {}
    if lengths:
        doc.h3("Message length (tokens)")
        pct = lengths.get("percentile")
        mean_len = _num(lengths.get("mean"))
        lrows = [["mean", _DASH if math.isnan(mean_len) else f"{mean_len:.1f}"],
                 ["median", _epoch(lengths.get("median"))],
                 ["95th percentile", _epoch(lengths.get("p95"))],
                 ["max", _epoch(lengths.get("max"))],
                 [_B("context length used"), _B(_epoch(lengths.get("context_length")))]]
        doc.table(["token count (train split)", "tokens"], lrows, "lr")
        p = plot("lengths.png", "Histogram of tokens per message", _plot_lengths, lengths)
        cap = "Tokens per message in the training split; the dashed line is the context length"
        if pct is not None:
            cap += f" (chosen as the {_epoch(pct)}th percentile of training lengths)"
        cap += ". Longer messages are truncated to the context length, shorter ones padded."
        doc.figure(p, cap if p is not None else "(length histogram not available)")

    vocab = ds.get("vocab") if isinstance(ds.get("vocab"), dict) else {}
    if vocab:
        doc.h3("Vocabulary")
        vrows = [["vocabulary size", _int(vocab.get("size"))],
                 ["min_count (minimum frequency to keep a token)", _int(vocab.get("min_count"))],
                 ["rare tokens dropped (below min_count)", _int(vocab.get("rare_dropped"))],
                 ["coverage of train tokens", _pct(vocab.get("coverage_train"))],
                 ["coverage of test tokens", _pct(vocab.get("coverage_test"))]]
        doc.table(["", "value"], vrows, "lr")
        doc.note("Coverage = share of token occurrences that are in the vocabulary (the rest become the unknown "
                 "token).")


def _section_neighbours(doc: _Doc, ctx: _Context) -> None:
    doc.h2("FastText nearest neighbours", "neighbours")
    ft = ctx.r.get("fasttext")
    nb = ft.get("neighbours") if isinstance(ft, dict) else None
    if not isinstance(nb, dict) or not nb:
        doc.p("No FastText vectors in this run." if not isinstance(ft, dict) else "No neighbours recorded.")
        return
    rows = []
    for word, lst in nb.items():
        items = []
        for pair in lst or []:
            if isinstance(pair, (list, tuple)) and len(pair) >= 2:
                items.append(f"{pair[0]} ({_num(pair[1]):.2f})" if not _isnan(pair[1]) else str(pair[0]))
            else:
                items.append(str(pair))
        rows.append([_B(str(word)), ", ".join(items)])
    doc.table(["word", "nearest neighbours (cosine similarity)"], rows, "lm")
    doc.note("Neighbours of a few frequent words in the FastText space — a sanity check that the vectors "
             "capture meaning (related words should be close).")


def _section_repro(doc: _Doc, ctx: _Context) -> None:
    doc.h2("Reproducibility", "repro")
    ds, r = ctx.ds, ctx.r
    doc.table(["", ""], [
        ["run name", _C(ctx.name)],
        ["created", _date(r.get("created"))],
        ["dataset", _C(str(ds.get("source", _DASH)))],
        ["dataset sha256", _C(str(ds.get("sha256", _DASH)))],
        ["device", str(r.get("device", _DASH))],
    ], "ll")
    versions = r.get("versions") if isinstance(r.get("versions"), dict) else {}
    if versions:
        doc.h3("Package versions")
        doc.table(["package", "version"], [[str(k), str(v)] for k, v in versions.items()], "ll")
    timings = r.get("timings") if isinstance(r.get("timings"), dict) else {}
    if timings:
        doc.h3("Time per stage")
        total = sum(_finite(_num(v) for v in timings.values()))
        trows = [[str(k), _secs(v), _pct(_num(v) / total) if total > 0 else _DASH] for k, v in timings.items()]
        trows.append([_B("total"), _B(_secs(total)), ""])
        doc.table(["stage", "time", "share"], trows, "lrr")
    doc.h3("Exact configuration")
    cfg = r.get("config")
    doc.pre(json.dumps(cfg if cfg is not None else {}, indent=2, ensure_ascii=False, sort_keys=False, default=str),
            "json")
