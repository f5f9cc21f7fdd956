"""Order-preserving parallel map over chunks of texts, with a tqdm progress bar."""
from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from tqdm.auto import tqdm

from .errors import ConfigError

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

    ``progress=True`` shows a tqdm bar when stderr is a terminal. Runs in the calling process when ``n_jobs`` resolves to 1 or the input fits in one chunk,
    otherwise in a process pool (``fork`` where the platform has it: workers inherit loaded
    dictionaries instead of re-importing them). ``func`` must be picklable (a module-level
    function or a :func:`functools.partial` of one).
    """
    jobs = resolve_n_jobs(n_jobs)
    items = list(items)
    n = len(items)
    chunks = [items[i:i + chunk_size] for i in range(0, n, chunk_size)]
    out: list[R] = []
    with tqdm(total=n, desc=desc, disable=None if progress else True, unit="text") as bar:
        if jobs == 1 or len(chunks) <= 1:
            for chunk in chunks:
                out.extend(func(chunk))
                bar.update(len(chunk))
            return out
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), mp_context=ctx) as pool:
            for chunk, result in zip(chunks, pool.map(func, chunks)):
                out.extend(result)
                bar.update(len(chunk))
    return out
