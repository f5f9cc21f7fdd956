"""How many threads torch uses, decided once per run so that training degrades gracefully under contention.

Why (BENCHMARKS.md, section ``contention``): torch's CPU kernels run on an OpenMP pool of as many
threads as there are cores (this build: GNU libgomp). Every small parallel region of a recurrent
step ends at a barrier where the first thread *spins*, waiting for the others. When another
CPU-bound process takes one of the cores, the thread the barrier waits for is not running, and
the spinning one burns the time slice it would have needed: on 2 cores BiGRU training took 26x its
idle time beside one other torch process. One thread loses little on an idle machine (the GRU
nothing, the LSTM's oneDNN kernel up to ~1.6x) and keeps its pace beside others, so a run uses one
intra-op thread unless told otherwise, and the command line also makes OpenMP's waiting threads
sleep instead of spin (``OMP_WAIT_POLICY=PASSIVE``), which keeps an explicit ``--threads N``
graceful too.

Two steps, because OpenMP reads its environment once, when torch is imported:

1. :func:`prepare_environment` -- before ``import torch`` (``nlp_pp.cli.main`` calls it first
   thing). A program that imports torch itself must set ``OMP_WAIT_POLICY`` in the environment
   before that import (or in the shell); nlp_pp cannot do it for it afterwards.
2. :func:`apply_threads` -- where a run starts (:func:`nlp_pp.training.experiment.run_experiment`,
   ``predict`` and ``serve``): decides the thread counts (:func:`decide_threads`), applies them to
   torch and returns a :class:`ThreadSettings` record for the log and ``metrics.json``.

Who decides, first match wins: an explicit number (``--threads N``), the environment variable
``NLP_PP_THREADS``, ``OMP_NUM_THREADS`` when set, else ``auto``: one thread (never more than the
cores this process may use, as its CPU affinity and cgroup CPU quota allow).

This module imports only the standard library and nlp_pp's torch-free modules at import time, so the
command line can use it before torch is loaded.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError
from ..results import ThreadSettings

log = logging.getLogger(__name__)

AUTO = "auto"
ENV_THREADS = "NLP_PP_THREADS"  # a user's thread count for every nlp_pp run (an integer >= 1, or auto)
WAIT_POLICY = "PASSIVE"  # OpenMP threads waiting at a barrier sleep instead of spinning
MAX_THREADS = max(1, os.cpu_count() or 1)  # more threads than cores only adds contention (and 10**6 kills)
AUTO_THREADS = (
    1  # intra-op threads in auto mode (BENCHMARKS.md, contention: as fast idle, not slowed beside others)
)

_prepared: dict[str, str | None] | None = (
    None  # what prepare_environment found or set, when it ran before torch
)


def describe_record(record: object) -> str:
    """``metrics.json``'s ``threads`` in words: a :meth:`ThreadSettings.to_dict` dict, or the plain
    intra-op count that earlier runs recorded; ``""`` for anything else.

    >>> describe_record({"intra_op": 1, "inter_op": 1, "source": "auto", "omp_wait_policy": "PASSIVE"})
    '1 intra-op, 1 inter-op (auto; OMP_WAIT_POLICY=PASSIVE)'
    >>> describe_record(2)
    '2 intra-op'
    """
    if isinstance(record, int) and not isinstance(record, bool):
        return f"{record} intra-op"
    if not isinstance(record, Mapping):
        return ""
    wait = record.get("omp_wait_policy")
    return (
        f"{record.get('intra_op', '?')} intra-op, {record.get('inter_op', '?')} inter-op "
        f"({record.get('source', '?')}; {f'OMP_WAIT_POLICY={wait}' if wait else 'OMP_WAIT_POLICY unset'})"
    )


# --------------------------------------------------------------------------- cores


def cgroup_cpu_limit(
    root: str | Path = "/sys/fs/cgroup", proc_cgroup: str | Path = "/proc/self/cgroup"
) -> float | None:
    """The CPU quota of this process's cgroup in cores (``2.5`` = 250 ms per 100 ms), or ``None`` without one.

    Reads cgroup v2's ``cpu.max`` (``"max 100000"`` = no quota) of this process's cgroup and its
    parents, else v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; the smallest quota found wins.
    """
    root = Path(root)
    limits: list[float] = []
    rel = ""
    try:
        for line in Path(proc_cgroup).read_text().splitlines():
            if line.startswith("0::"):
                rel = line[3:].strip().lstrip("/")
    except OSError:
        pass
    # v2: the process's own cgroup and every parent up to the mounted root
    parts = [p for p in rel.split("/") if p]
    for depth in range(len(parts), -1, -1):
        limit = _read_quota_v2(root.joinpath(*parts[:depth], "cpu.max"))
        if limit is not None:
            limits.append(limit)
    # v1
    for d in (root / "cpu", root / "cpu,cpuacct"):
        limit = _read_quota_v1(d)
        if limit is not None:
            limits.append(limit)
    return min(limits) if limits else None


def _read_quota_v2(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _read_quota_v1(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cores(
    *, cgroup_root: str | Path = "/sys/fs/cgroup", proc_cgroup: str | Path = "/proc/self/cgroup"
) -> int:
    """Cores this process may use: its CPU affinity mask, capped by a cgroup CPU quota (rounded up); at least
    1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit(cgroup_root, proc_cgroup)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


# --------------------------------------------------------------------------- deciding


def parse_threads(value: object, where: str, *, cap: bool = True) -> int | str:
    """``"auto"`` or an integer >= 1 from an option or an environment variable; :class:`ConfigError`
    otherwise."""
    number = value
    if isinstance(value, str):
        if value.strip().lower() == AUTO:
            return AUTO
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ConfigError(f"{where} must be an integer >= 1 or auto (got {value!r})")
    if cap and number > MAX_THREADS:
        raise ConfigError(f"{where} must be at most {MAX_THREADS}, this machine's cores (got {value!r})")
    return number


def _omp_num_threads(environ: Mapping[str, str]) -> int | None:
    """The first level of ``OMP_NUM_THREADS`` (``"4,2"`` -> 4) when it is a positive integer."""
    text = environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    try:
        n = int(text)
    except ValueError:
        return None
    return n if n >= 1 else None


def decide_threads(
    requested: int | str = AUTO, *, environ: Mapping[str, str] | None = None, cores: int | None = None
) -> tuple[int, str]:
    """``(intra-op threads, source)`` for a run; nothing is applied.

    >>> decide_threads(1, environ={}, cores=2)
    (1, 'option')
    >>> decide_threads("auto", environ={"NLP_PP_THREADS": "1", "OMP_NUM_THREADS": "2"}, cores=8)
    (1, 'NLP_PP_THREADS')
    >>> decide_threads("auto", environ={"OMP_NUM_THREADS": "1"}, cores=8)
    (1, 'OMP_NUM_THREADS')
    >>> decide_threads("auto", environ={}, cores=8)
    (1, 'auto')

    An explicit number is used as given up to the machine's cores (:data:`MAX_THREADS`); ``auto``
    never uses more than ``cores`` (default: :func:`available_cores`).
    """
    environ = os.environ if environ is None else environ
    asked = parse_threads(requested, "--threads")
    if asked != AUTO:
        return int(asked), "option"
    if environ.get(ENV_THREADS, "").strip():
        from_env = parse_threads(environ[ENV_THREADS], ENV_THREADS, cap=False)
        if from_env != AUTO:  # a machine-wide setting from elsewhere: at most this machine's cores
            return min(int(from_env), MAX_THREADS), ENV_THREADS
    omp = _omp_num_threads(environ)
    if omp is not None:
        return min(omp, MAX_THREADS), "OMP_NUM_THREADS"
    cores = available_cores() if cores is None else cores
    return max(1, min(AUTO_THREADS, cores)), AUTO


# --------------------------------------------------------------------------- applying


def prepare_environment(environ: dict[str, str] | None = None) -> bool:
    """Make OpenMP's idle threads sleep (``OMP_WAIT_POLICY=PASSIVE``) unless the user chose a policy.

    Must run before ``import torch`` (the OpenMP runtime reads it once, when torch loads it): returns
    ``False`` and changes nothing when torch is already imported. A user's own ``OMP_WAIT_POLICY`` or
    ``GOMP_SPINCOUNT`` is kept.
    """
    global _prepared
    environ = os.environ if environ is None else environ
    if "torch" in sys.modules:
        return False
    user = environ.get("OMP_WAIT_POLICY") or environ.get("GOMP_SPINCOUNT")
    if not user:
        environ["OMP_WAIT_POLICY"] = WAIT_POLICY
    if environ is os.environ:
        _prepared = {
            "omp_wait_policy": environ.get("OMP_WAIT_POLICY"),
            "omp_env": "environment" if user else "nlp_pp",
        }
    return True


def _initial_environment(path: str | Path = "/proc/self/environ") -> dict[str, str] | None:
    """The environment this process started with (Linux), or ``None``: what any library saw when it loaded."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _wait_policy() -> tuple[str | None, str]:
    """``OMP_WAIT_POLICY`` as OpenMP read it, and who set it (see :attr:`ThreadSettings.omp_env`)."""
    if _prepared is not None:
        return _prepared["omp_wait_policy"], str(_prepared["omp_env"])
    now = os.environ.get("OMP_WAIT_POLICY")
    start = _initial_environment()
    if start is not None and start.get("OMP_WAIT_POLICY") == now:  # in force since the process started
        return now, "environment"
    return now, "unknown"


def apply_threads(
    requested: int | str = AUTO, *, environ: Mapping[str, str] | None = None, cores: int | None = None
) -> ThreadSettings:
    """Decide the thread counts (:func:`decide_threads`), apply them to torch, log and return them.

    Sets torch's intra-op threads (which also sets MKL's and OpenMP's) and, when torch has not used
    its inter-op pool yet, one inter-op thread (nlp_pp runs no inter-op work). Raises
    :class:`ConfigError` for a bad ``requested`` or ``NLP_PP_THREADS``.
    """
    import torch

    cores = available_cores() if cores is None else cores
    intra, source = decide_threads(requested, environ=environ, cores=cores)
    if torch.get_num_threads() != intra:
        torch.set_num_threads(intra)
    if torch.get_num_interop_threads() != 1:
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # the inter-op pool was used or set before: it keeps its size
            pass
    policy, omp_env = _wait_policy()
    settings = ThreadSettings(
        intra_op=torch.get_num_threads(),
        inter_op=torch.get_num_interop_threads(),
        omp_wait_policy=policy,
        omp_env=omp_env,
        source=source,
        cores=cores,
    )
    log.info("%s", settings.describe())
    return settings
