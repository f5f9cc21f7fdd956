"""Order-preserving parallel map over chunks of texts, with a tqdm progress bar.

:func:`imap_chunks` is the one pool helper: it takes chunks from any iterable lazily and keeps at
most ``max_pending`` of them in flight, so a corpus streamed from disk is never held in memory
whole. :func:`map_chunks` is the in-memory form (a list in, a list out) built on it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import TypeVar

from tqdm.auto import tqdm

from ..errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Number of CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def resolve_n_jobs(n_jobs: int | None) -> int:
    """``None``, 0 or -1 mean every available core; a positive number is used as given (capped)."""
    if n_jobs is None or n_jobs in (0, -1):
        return available_cores()
    if not isinstance(n_jobs, int) or n_jobs < -1:
        raise ConfigError(f"n_jobs must be a positive integer, or -1 for all cores (got {n_jobs!r})")
    return min(n_jobs, available_cores() * 4)


def imap_chunks(
    func: Callable[[list[T]], list[R]],
    chunks: Iterable[list[T]],
    *,
    n_jobs: int | None = 1,
    max_pending: int | None = None,
    progress: bool = False,
    desc: str = "",
    total: int | None = None,
) -> Iterator[list[R]]:
    """Yield ``func(chunk)`` for each chunk of ``chunks``, in input order, computing ahead in processes.

    Parameters
    ----------
    func : callable
        list -> list of equal length; picklable (a module-level function or a
        :func:`functools.partial` of one) when it runs in a pool.
    chunks : iterable of lists
        Consumed lazily: at most ``max_pending`` chunks (and their results) are held at a time,
        whatever the length of the iterable.
    n_jobs : int, optional
        Worker processes (``None``, 0 or -1: every core). With 1, or when ``chunks`` holds a single
        chunk, everything runs in the calling process.
    max_pending : int, optional
        Chunks submitted but not yet yielded; default ``2 x workers`` (each worker has one chunk
        queued behind the one it works on).
    progress : bool
        Show a tqdm bar (items, i.e. the lengths of the chunks) when stderr is a terminal.
    desc : str
        The bar's label.
    total : int, optional
        Number of items, for the bar (unknown: the bar counts without a total).

    Yields
    ------
    list
        ``func(chunk)``, one per chunk, in the order of ``chunks``.

    Notes
    -----
    The pool uses ``fork`` where the platform has it: workers inherit loaded dictionaries instead
    of re-importing them. If ``func`` raises, the chunks not yet started are cancelled and the
    exception propagates; closing the generator early does the same.
    """
    jobs = resolve_n_jobs(n_jobs)
    if max_pending is not None and (
        isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1
    ):
        raise ConfigError(f"max_pending must be a positive integer (got {max_pending!r})")
    workers = min(jobs, len(chunks)) if isinstance(chunks, Sized) else jobs
    return _imap(func, chunks, workers, max_pending or 2 * workers, progress, desc, total)


def _imap(
    func: Callable[[list[T]], list[R]],
    chunks: Iterable[list[T]],
    workers: int,
    limit: int,
    progress: bool,
    desc: str,
    total: int | None,
) -> Iterator[list[R]]:
    it = iter(chunks)
    head = list(islice(it, 2))  # a single chunk is not worth a pool
    with tqdm(total=total, desc=desc, disable=None if progress else True, unit="text") as bar:
        if workers <= 1 or len(head) <= 1:
            for chunk in _chain(head, it):
                result = func(chunk)
                bar.update(len(chunk))
                yield result
            return
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else None)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        pending: deque[tuple[int, Future]] = deque()
        try:
            source = _chain(head, it)
            for chunk in source:
                pending.append((len(chunk), pool.submit(func, chunk)))
                if len(pending) >= limit:
                    size, future = pending.popleft()
                    result = future.result()
                    bar.update(size)
                    yield result
            while pending:
                size, future = pending.popleft()
                result = future.result()
                bar.update(size)
                yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _chain(head: list[T], rest: Iterator[T]) -> Iterator[T]:
    yield from head
    yield from rest


def map_chunks(
    func: Callable[[list[T]], list[R]],
    items: Sequence[T],
    *,
    n_jobs: int | None = 1,
    chunk_size: int = 2000,
    progress: bool = False,
    desc: str = "",
) -> list[R]:
    """Apply ``func`` (list -> list of equal length) to chunks of ``items``; results keep input order.

    ``progress=True`` shows a tqdm bar when stderr is a terminal. Runs in the calling process when
    ``n_jobs`` resolves to 1 or the input fits in one chunk, otherwise in a process pool (see
    :func:`imap_chunks`). ``func`` must be picklable (a module-level function or a
    :func:`functools.partial` of one).
    """
    items = list(items)
    n = len(items)
    chunks = [items[i : i + chunk_size] for i in range(0, n, chunk_size)]
    out: list[R] = []
    for result in imap_chunks(func, chunks, n_jobs=n_jobs, progress=progress, desc=desc, total=n):
        out.extend(result)
    return out
