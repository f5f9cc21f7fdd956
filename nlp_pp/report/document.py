"""A small document model rendered to both Markdown and HTML, with one escaping point per format.

Sections add blocks (headings, paragraphs, tables, figures) whose inline content is plain text
(:class:`str`), bold (:class:`Bold`), code (:class:`Code`) or a verdict badge (:class:`Badge`).
Plain text can hold anything the user's data holds -- a label, a file name, a message -- so it is
escaped where it is rendered: :func:`md_text` for Markdown (every character that could start
markup, a link, an image, raw HTML or an autolink is backslash-escaped), :func:`html_text` for HTML.
Both first show Unicode's invisible direction controls (:func:`visible_controls`): a right-to-left
override in a label or message would otherwise reorder the rest of a table row as displayed.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


class Bold(str):
    """Bold inline text."""


class Code(str):
    """Inline code."""


class Badge(str):
    """A verdict badge ("helps", "hurts", "no clear difference")."""


class Weighted(str):
    """A token highlighted by its contribution: warm when it pushed toward the label, cool when away."""

    weight: float

    def __new__(cls, text: str, weight: float) -> Weighted:
        obj = super().__new__(cls, text)
        obj.weight = float(weight)
        return obj


Inline = Any  # str | Bold | Code | Badge, or a list of those


@dataclass
class Plot:
    """A rendered figure: PNG bytes, its file in ``plots/`` and its alt text."""

    path: Path
    rel: str
    data: bytes
    alt: str


# Characters that start inline markup anywhere (emphasis, code, links, images, raw HTML, entities,
# table cells, strikethrough), and the ones autolinking reads: a dot before a letter (domains), the
# colon of "://", and "@" (e-mail addresses).
_MD_INLINE = re.compile(r"""([\\`*\[\]<>!~|&@]|(?<!\w)_|_(?!\w)|\.(?=[A-Za-z])|:(?=//))""")
# Block markup a paragraph could start with: headings, quotes, lists, rules.
_MD_LINE_START = re.compile(r"^(\s*)(?:([#>+\-=])|(\d+)([.)]))")


# Unicode's bidirectional formatting characters: embeddings, overrides, isolates and marks.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(text: str) -> str:
    """``text`` with each invisible direction control shown as its code point.

    >>> visible_controls("abc\u202edef")
    'abc[U+202E]def'
    """
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(text))


def html_text(text: str) -> str:
    """Plain text for HTML (attributes included)."""
    return html.escape(visible_controls(text), quote=True)


def md_text(text: str) -> str:
    """Plain text for Markdown: every character that could start inline markup is backslash-escaped.

    >>> print(md_text("![x](http://e.com/a.png) <b>"))
    \\!\\[x\\](http\\://e\\.com/a\\.png) \\<b\\>
    """
    return _MD_INLINE.sub(r"\\\1", " ".join(visible_controls(text).splitlines()))


def md_block(text: str) -> str:
    """A rendered paragraph that must not start block markup (a heading, quote, list or rule).

    >>> print(md_block("1. # not a list"))
    1\\. # not a list
    """
    return _MD_LINE_START.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)), text
    )


def md_code(text: str, in_table: bool = False) -> str:
    """A Markdown code span that holds ``text`` whatever backticks it contains.

    In a table cell a ``|`` must be escaped even inside a code span (GitHub tables split on it).
    """
    text = " ".join(visible_controls(text).splitlines())
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.strip()) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_inline(parts: Inline, in_table: bool = False) -> str:
    if not isinstance(parts, (list, tuple)):
        parts = [parts]
    merged: list = []  # adjacent bold pieces would render as "**a****b**": merge them
    for p in parts:
        if type(p) is Bold and merged and type(merged[-1]) is Bold:
            merged[-1] = Bold(merged[-1] + p)
        else:
            merged.append(p)
    out = []
    for p in merged:
        if isinstance(p, Code):
            out.append(md_code(p, in_table))
        elif isinstance(p, Weighted):
            out.append(md_text(p) + (f"⟨{p.weight:+.2f}⟩" if abs(p.weight) >= 0.01 else ""))
        elif isinstance(p, (Bold, Badge)):
            core = str(p).strip()  # CommonMark: "**" must not touch inner whitespace
            lead, trail = str(p)[: len(p) - len(str(p).lstrip())], str(p)[len(str(p).rstrip()) :]
            out.append(f"{lead}**{md_text(core)}**{trail}" if core else str(p))
        else:
            out.append(md_text(str(p)))
    return "".join(out)


def _md_cell(parts: Inline) -> str:
    return _md_inline(parts, in_table=True)


def _html_inline(parts: Inline) -> str:
    if not isinstance(parts, (list, tuple)):
        parts = [parts]
    out = []
    for p in parts:
        esc = html_text(str(p))
        if isinstance(p, Code):
            out.append(f"<code>{esc}</code>")
        elif isinstance(p, Weighted):
            alpha = min(1.0, abs(p.weight) / 0.3)
            rgb = "213,94,0" if p.weight > 0 else "0,114,178"
            out.append(
                f'<mark style="background:rgba({rgb},{alpha:.2f})" title="{p.weight:+.3f}">{esc}</mark>'
            )
        elif isinstance(p, Badge):
            cls = {"helps": "helps", "hurts": "hurts"}.get(str(p), "neutral")
            out.append(f'<span class="badge {cls}">{esc}</span>')
        elif isinstance(p, Bold):
            out.append(f"<strong>{esc}</strong>")
        else:
            out.append(esc)
    return "".join(out)


def _css() -> str:
    return resources.files(__package__).joinpath("report.css").read_text(encoding="utf-8")


class Document:
    """Blocks of a report, rendered by :meth:`to_markdown` and :meth:`to_html`."""

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

    def table(
        self, header: list[str], rows: list[list[Inline]], align: str, row_cls: list[str | None] | None = None
    ) -> None:
        """``align``: one letter per column, ``l`` left, ``r`` right (numbers), ``m`` a message."""
        self.blocks.append(("table", header, rows, align, row_cls or [None] * len(rows)))

    def figure(self, plot: Plot | None, caption: Inline) -> None:
        self.blocks.append(("figure", plot, caption))

    def cards(self, cards: list[tuple[Inline, Plot | None, tuple | None]]) -> None:
        """Side-by-side cards: (title, plot, (header, rows, align) or None)."""
        self.blocks.append(("cards", cards))

    def pre(self, text: str, lang: str = "") -> None:
        self.blocks.append(("pre", text, lang))

    # -- Markdown --------------------------------------------------------------------------------

    def to_markdown(self, title: str, meta: Inline) -> str:
        out = [f"# {md_text(title)}", "", md_block(_md_inline(meta)), ""]
        for b in self.blocks:
            kind = b[0]
            if kind == "h2":
                out += [f"## {md_text(b[1])}", ""]
            elif kind == "h3":
                out += [f"### {_md_inline(b[1])}", ""]
            elif kind == "p":
                text = md_block(_md_inline(b[1]))
                out += [f"*{text}*" if b[2] == "note" and not text.startswith("**") else text, ""]
            elif kind == "ul":
                out += [f"- {md_block(_md_inline(it))}" for it in b[1]] + [""]
            elif kind == "table":
                out += self._md_table(b[1], b[2], b[3]) + [""]
            elif kind == "figure":
                plot, caption = b[1], b[2]
                if plot is not None:
                    out += [f"![{md_text(plot.alt)}]({plot.rel})", ""]
                out += [f"*{_md_inline(caption)}*", ""]
            elif kind == "cards":
                for title_, plot, tab in b[1]:
                    out += [f"#### {_md_inline(title_)}", ""]
                    if plot is not None:
                        out += [f"![{md_text(plot.alt)}]({plot.rel})", ""]
                    if tab is not None:
                        out += self._md_table(*tab) + [""]
            elif kind == "pre":
                text, lang = visible_controls(b[1]), b[2]
                longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
                fence = "`" * max(3, longest + 1)
                out += [f"{fence}{lang}", text, fence, ""]
        return "\n".join(out).rstrip() + "\n"

    @staticmethod
    def _md_table(header: list[str], rows: list[list[Inline]], align: str) -> list[str]:
        spec = {"l": ":---", "r": "---:", "m": ":---"}
        lines = [
            "| " + " | ".join(_md_cell(h) for h in header) + " |",
            "|" + "|".join(spec.get(a, ":---") for a in align) + "|",
        ]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        return lines

    # -- HTML ------------------------------------------------------------------------------------

    def to_html(self, title: str, meta: Inline) -> str:
        body = [f"<h1>{html_text(title)}</h1>", f'<p class="meta">{_html_inline(meta)}</p>']
        if self.toc:
            links = " ".join(f'<a href="#{a}">{html_text(t)}</a>' for a, t in self.toc)
            body.append(f'<nav class="toc">{links}</nav>')
        for b in self.blocks:
            kind = b[0]
            if kind == "h2":
                body.append(f'<h2 id="{b[2]}">{html_text(b[1])}</h2>')
            elif kind == "h3":
                body.append(f"<h3>{_html_inline(b[1])}</h3>")
            elif kind in ("p", "ul"):
                cls = f' class="{b[2]}"' if b[2] else ""
                if kind == "p":
                    body.append(f"<p{cls}>{_html_inline(b[1])}</p>")
                else:
                    body.append(
                        f"<ul{cls}>" + "".join(f"<li>{_html_inline(it)}</li>" for it in b[1]) + "</ul>"
                    )
            elif kind == "table":
                body.append(self._html_table(b[1], b[2], b[3], b[4]))
            elif kind == "figure":
                img = self._html_img(b[1]) if b[1] is not None else ""
                body.append(f"<figure>{img}<figcaption>{_html_inline(b[2])}</figcaption></figure>")
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
                body.append(f"<pre>{html_text(b[1])}</pre>")
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html_text(title)}</title>\n<style>{_css()}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body)
            + "\n</main>\n</body>\n</html>\n"
        )

    @staticmethod
    def _html_img(plot: Plot) -> str:
        b64 = base64.b64encode(plot.data).decode("ascii")
        return f'<img src="data:image/png;base64,{b64}" alt="{html_text(plot.alt)}">'

    @staticmethod
    def _html_table(header, rows, align, row_cls) -> str:
        cls_of = {"r": ' class="num"', "m": ' class="msg"', "l": ""}
        head = "".join(f"<th{cls_of.get(a, '')}>{_html_inline(h)}</th>" for h, a in zip(header, align))
        body = []
        for i, row in enumerate(rows):
            rc = row_cls[i] if row_cls else None
            cells = "".join(f"<td{cls_of.get(a, '')}>{_html_inline(c)}</td>" for c, a in zip(row, align))
            body.append((f'<tr class="{rc}">' if rc else "<tr>") + cells + "</tr>")
        return (
            f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )
