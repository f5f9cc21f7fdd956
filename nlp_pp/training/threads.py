"""How many threads torch uses, so that training keeps its pace on a machine shared with other work.

Why (BENCHMARKS.md, section ``contention``): torch's CPU kernels run on an OpenMP pool of as many
threads as there are cores (this build: GNU libgomp). Every small parallel region of a recurrent
step ends at a barrier where the first thread *spins*, waiting for the others. When another
CPU-bound process takes one of the cores, the thread the barrier waits for is not running, and
the spinning one burns the time slice it would have needed: on 2 cores BiGRU training took more
than 13x its idle time beside one other torch process. One thread keeps its pace beside others,
but on an idle machine every core is faster (the LSTM's oneDNN kernel most). So ``auto`` *adapts*:
:class:`ThreadGovernor` looks about once a second at how much CPU other processes take and uses
the cores they leave (every core on an idle machine, one thread when another process competes),
and the command line bounds OpenMP's spinning (``GOMP_SPINCOUNT``), so a barrier that waits for a
descheduled thread soon sleeps instead of burning a whole time slice.

Two steps, because OpenMP reads its environment once, when torch is imported:

1. :func:`prepare_environment` -- before ``import torch`` (``nlp_pp.cli.main`` calls it first
   thing). A program that imports torch itself must set ``GOMP_SPINCOUNT`` (or
   ``OMP_WAIT_POLICY``) in the environment before that import; nlp_pp cannot do it afterwards.
2. :func:`apply_threads` -- where a run starts (:func:`nlp_pp.training.experiment.run_experiment`,
   ``predict`` and ``serve``): decides the thread counts (:func:`decide_threads`), applies them,
   starts the governor in ``auto`` mode, and returns a :class:`ThreadSettings` record for the log
   and ``metrics.json``. Loops that run many small steps call :func:`adapt` (a no-op unless a
   governor runs; it looks at the machine at most once per :data:`ADAPT_SECONDS`).

Who decides, first match wins: an explicit number (``--threads N``, fixed), the environment
variable ``NLP_PP_THREADS``, ``OMP_NUM_THREADS`` when set, else ``auto`` (adaptive, never more than
the cores this process may use, as its CPU affinity and cgroup CPU quota allow).

This module imports only the standard library and nlp_pp's torch-free modules at import time, so the
command line can use it before torch is loaded.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError
from ..results import ThreadSettings

log = logging.getLogger(__name__)

AUTO = "auto"
ENV_THREADS = "NLP_PP_THREADS"  # a user's thread count for every nlp_pp run (an integer >= 1, or auto)
SPIN_COUNT = "10000"  # libgomp spins this long (not its 300,000) before a waiting thread sleeps
MAX_THREADS = max(1, os.cpu_count() or 1)  # more threads than cores only adds contention (and 10**6 kills)
ADAPT_SECONDS = 1.0  # how often an adaptive run looks at the machine (a /proc/stat read)

_prepared: dict[str, str | None] | None = (
    None  # what prepare_environment found or set, when it ran before torch
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


def ranks_here(environ: Mapping[str, str] | None = None) -> int:
    """Training processes ``torchrun`` started on this machine (``LOCAL_WORLD_SIZE``; 1 without torchrun).

    Under torchrun each rank runs on its share of the cores, ``cores // ranks_here()`` (at least one).

    >>> ranks_here({"LOCAL_WORLD_SIZE": "2"}), ranks_here({})
    (2, 1)
    """
    environ = os.environ if environ is None else environ
    try:
        return max(1, int(environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


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
    (8, 'auto')

    An explicit number is used as given up to the machine's cores (:data:`MAX_THREADS`); ``auto``
    starts with ``cores`` (default: :func:`available_cores`) and adapts (:class:`ThreadGovernor`).
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
    if omp == 1 and ranks_here(environ) > 1:
        omp = None  # torchrun's own default for every rank, not the user's choice: each rank takes its share
    if omp is not None:
        return min(omp, MAX_THREADS), "OMP_NUM_THREADS"
    cores = available_cores() if cores is None else cores
    return max(1, cores), AUTO  # to begin with; the governor adapts it


# --------------------------------------------------------------------------- applying


def prepare_environment(environ: dict[str, str] | None = None) -> bool:
    """Bound OpenMP's spinning at barriers (``GOMP_SPINCOUNT``) unless the user chose a wait policy.

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
        environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    if environ is os.environ:
        _prepared = {"omp_wait_policy": _policy_text(environ), "omp_env": "environment" if user else "nlp_pp"}
    return True


def _initial_environment(path: str | Path = "/proc/self/environ") -> dict[str, str] | None:
    """The environment this process started with (Linux), or ``None``: what any library saw when it loaded."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _policy_text(environ: Mapping[str, str]) -> str | None:
    """``OMP_WAIT_POLICY=X`` and/or ``GOMP_SPINCOUNT=N`` as set in ``environ`` (``None``: neither)."""
    parts = [f"{k}={environ[k]}" for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if environ.get(k)]
    return ", ".join(parts) or None


def _wait_policy() -> tuple[str | None, str]:
    """OpenMP's wait settings as it read them, and who set them (see :attr:`ThreadSettings.omp_env`)."""
    if _prepared is not None:
        return _prepared["omp_wait_policy"], str(_prepared["omp_env"])
    now = _policy_text(os.environ)
    start = _initial_environment()
    if start is not None and _policy_text(start) == now:  # in force since the process started
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
    cores = max(1, cores // ranks_here(os.environ if environ is None else environ))  # a torchrun rank's share
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
        adaptive=source == AUTO and cores > 1,
    )
    global _governor
    _governor = ThreadGovernor(cores) if settings.adaptive else None
    log.info("%s", settings.describe())
    return settings


# --------------------------------------------------------------------------- adapting


def _cpu_busy_seconds(path: str | Path = "/proc/stat") -> float | None:
    """CPU time the whole machine spent busy since boot, in seconds (``None`` where /proc/stat is missing)."""
    try:
        with open(path, encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    jiffies = [int(x) for x in fields[1:8]]  # user nice system idle iowait irq softirq
    return (sum(jiffies) - jiffies[3] - jiffies[4]) / (os.sysconf("SC_CLK_TCK") or 100)


class ThreadGovernor:
    """Use the cores other processes leave: every one on an idle machine, fewer when others compete.

    :meth:`step` looks at most every ``interval`` seconds: the CPU the machine spent busy minus the
    CPU this process spent is what others took, in cores; the thread count becomes ``cores`` minus
    that (rounded, at least 1). Two nlp_pp processes on 2 cores so settle on one thread each.
    """

    def __init__(self, cores: int, interval: float = ADAPT_SECONDS):
        self.cores, self.interval = cores, interval
        self.switches = 0
        self._last = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float | None, float]:
        t = os.times()
        return time.monotonic(), _cpu_busy_seconds(), t.user + t.system

    def step(self) -> None:
        now = time.monotonic()
        if now - self._last[0] < self.interval:
            return
        sample = self._sample()
        (t0, busy0, own0), (t1, busy1, own1) = self._last, sample
        self._last = sample
        if busy0 is None or busy1 is None or t1 <= t0:
            return
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0)
        want = max(1, min(self.cores, self.cores - int(others + 0.5)))
        import torch

        if want != torch.get_num_threads():
            torch.set_num_threads(want)
            self.switches += 1
            log.debug("threads: %d intra-op (other processes use %.1f cores)", want, others)


_governor: ThreadGovernor | None = None


def adapt() -> None:
    """Let the running governor look at the machine (cheap: a clock read unless a second has passed)."""
    if _governor is not None:
        _governor.step()
