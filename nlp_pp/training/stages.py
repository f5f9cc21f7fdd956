"""Named stages of a run (load, preprocess, vocabulary, ...), for whoever wants to watch them.

A run marks where each stage starts and ends with :func:`stage`. Nothing happens unless an observer
was installed with :func:`observe` -- ``bench/bench_scale.py`` installs one to measure each stage's
seconds and peak memory at growing data sizes (BENCHMARKS.md, "scale"). The observer is called with
``(name, "start" | "end")``; an observer that raises is removed and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

STAGES = (
    "load",
    "preprocess",
    "fasttext",
    "vocabulary",
    "encoding",
    "baseline",
    "epoch",
    "predict",
    "decisions",
    "report",
)

_observer: Callable[[str, str], None] | None = None


def observe(callback: Callable[[str, str], None] | None) -> None:
    """Call ``callback(name, "start"/"end")`` at every stage boundary from now on (``None``: stop)."""
    global _observer
    _observer = callback


def _notify(name: str, event: str) -> None:
    global _observer
    if _observer is None:
        return
    try:
        _observer(name, event)
    except Exception as e:  # an observer never breaks a run
        log.warning("stage observer failed (%s); removed", e)
        _observer = None


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Mark the code inside as stage ``name`` (one of :data:`STAGES`)."""
    _notify(name, "start")
    try:
        yield
    finally:
        _notify(name, "end")


def release_freed_memory() -> None:
    """Hand the heap memory freed by a stage back to the system (glibc ``malloc_trim``; elsewhere nothing).

    A stage that builds and drops many small objects -- the parsed CSV's millions of strings --
    leaves their pages with the allocator, which keeps them: the process's resident memory stays at
    the stage's peak though the objects are gone. Measured on a million messages: 755 -> 540 MiB
    after preparing the data.
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)
