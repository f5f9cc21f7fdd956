"""Human-readable report of one run: ``report.md`` + a single self-contained ``report.html``.

The report answers two questions first -- *which configuration is best (on the validation split)?*
and *does FastText initialisation help?* -- and then shows the evidence.

Modules: :mod:`.view` (the input as typed :class:`~nlp_pp.results.Metrics`), :mod:`.analysis` (pure
tables: ``summarize``, ``fasttext_effect``), :mod:`.document` (one document model rendered to
Markdown and HTML, with one escaping point each), :mod:`.plots`, :mod:`.context` (what every section
reads), the sections (:mod:`.answers`, :mod:`.decisions`, :mod:`.evidence`, in the order of
:mod:`.sections`), and ``report.css``.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from ..results import Metrics
from .analysis import EFFECT_COLUMNS, MIN_EFFECT, SUMMARY_COLUMNS, fasttext_effect, summarize
from .document import Document, Plot
from .view import as_metrics

__all__ = ["EFFECT_COLUMNS", "MIN_EFFECT", "SUMMARY_COLUMNS", "fasttext_effect", "summarize", "write_report"]

log = logging.getLogger(__name__)


def write_report(results: Metrics | dict, out_dir: str | Path) -> dict[str, Any]:
    """Write ``out_dir/report.md``, ``out_dir/report.html`` and ``out_dir/plots/*.png``.

    ``report.html`` is one self-contained file (inline CSS, plots embedded as base64 PNG, no
    scripts, no external URLs or fonts); ``report.md`` links the PNGs in ``plots/``. ``results``
    (:class:`~nlp_pp.results.Metrics`, or a ``metrics.json`` dict) is not modified. A plot that cannot
    be drawn is replaced by a note and a :class:`UserWarning`, so the rest of the report is still
    written.

    Returns ``{"html": Path, "md": Path, "plots": [Path, ...]}``.
    """
    from . import plots, sections

    out = Path(out_dir)
    plots_dir = out / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def plot(name: str, alt: str, fn, *args) -> Plot | None:
        try:
            with plots.plot_style():
                data = plots.png(fn(*args))
        except Exception as exc:  # keep the report even if one plot fails
            warnings.warn(f"report: plot {name!r} skipped: {exc}", stacklevel=3)
            return None
        path = plots_dir / name
        path.write_bytes(data)
        written.append(path)
        return Plot(path=path, rel=f"plots/{name}", data=data, alt=alt)

    ctx = sections.Context(as_metrics(results), plot)
    doc = Document()
    for section in sections.ALL:
        section(doc, ctx)
    title = f"Classification report — {ctx.r.name}"
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text(doc.to_markdown(title, ctx.meta_line()), encoding="utf-8")
    html_path.write_text(doc.to_html(title, ctx.meta_line()), encoding="utf-8")
    return {"html": html_path, "md": md_path, "plots": written}
