"""How numbers, times and texts appear in the report (an em dash for anything missing)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Any

DASH = "—"
MAX_MESSAGE_CHARS = 300


def isnan(x: Any) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def f3(x: Any) -> str:
    return DASH if isnan(x) else f"{float(x):.3f}"


def pm(mean: Any, std: Any, n: int) -> str:
    """``0.953 ± 0.004`` over several seeds, ``0.953`` for one."""
    if isnan(mean):
        return DASH
    if n > 1 and not isnan(std):
        return f"{float(mean):.3f} ± {float(std):.3f}"
    return f"{float(mean):.3f}"


def signed(x: Any, digits: int = 4) -> str:
    """``+0.0123`` / ``−0.0123``; a difference that rounds to zero is ``±0.0000``."""
    if isnan(x):
        return DASH
    s = f"{float(x):+.{digits}f}"
    if float(s) == 0:
        return "±" + s[1:]
    return s.replace("-", "\u2212")


def pct(x: Any, digits: int = 1) -> str:
    return DASH if isnan(x) else f"{100 * float(x):.{digits}f}%"


def count(x: Any) -> str:
    if isnan(x):
        return DASH
    v = float(x)
    return f"{int(v):,}" if v.is_integer() else f"{v:,.1f}"


def secs(x: Any) -> str:
    if isnan(x):
        return DASH
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


def epoch(x: Any) -> str:
    if isnan(x):
        return DASH
    v = float(x)
    return str(int(v)) if v.is_integer() else f"{v:.1f}"


def truncate(text: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One line (newlines and tabs become spaces), at most ``limit`` characters."""
    s = " ".join(str(text if text is not None else "").split())
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def config_name(model: str, init: str) -> str:
    return f"{model} + {init}"


def slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("_") or "x"


def date(created: Any) -> str:
    if not created:
        return DASH
    try:
        return dt.datetime.fromisoformat(str(created)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(created)


def join(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
