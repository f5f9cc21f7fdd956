"""Preprocessing on a Dask cluster: the same chunks, the same worker function, the same order.

When one machine's cores are not enough, ``--cluster ADDRESS`` sends the chunks of texts that
:func:`nlp_pp.text.parallel.imap_chunks` would give a local process pool to the workers of a Dask
distributed cluster instead -- an engine users already run -- and reads the results back in input
order as they are needed (a bounded number of chunks in flight), so the token arrays and the cache
entries are byte for byte those of a local run. Each worker process keeps one MeCab tokenizer for
every chunk it is given (:func:`nlp_pp.text.tokenize._tokenizer_for`).

``ADDRESS`` is a running scheduler's address (``tcp://host:8786``; every worker needs nlp_pp
installed, the same version as the run), or ``local:N``: a local cluster of ``N`` worker processes
(one thread each) that the run starts and stops. Dask is the optional extra ``pip install
".[cluster]"``; without it ``--cluster`` fails at once with an error saying so.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress

from ..errors import ConfigError, NlpPpError, RunError, first_line

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 20.0  # seconds to reach a scheduler before giving up
INSTALL_HINT = 'pip install "nlp_pp[cluster]" (or pip install ".[cluster]" in a checkout)'
_LOCAL = re.compile(r"local:(\d+)\Z")
_ADDRESS = re.compile(r"(?:(tcp|tls|inproc|ucx|ws|wss)://)?[^\s/:]+(?::\d{1,5})?/?\Z")


def check_spec(spec: str) -> str:
    """``local:N`` (N >= 1) or a scheduler address; anything else is a :class:`ConfigError`."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("--cluster needs local:N or a scheduler address such as tcp://host:8786")
    spec = spec.strip()
    m = _LOCAL.match(spec)
    if m:
        if not 1 <= int(m.group(1)) <= 1024:
            raise ConfigError(f"--cluster {spec}: the number of local workers must be 1 to 1024")
        return spec
    if spec.startswith("local") or not _ADDRESS.match(spec):
        raise ConfigError(
            f"--cluster {spec!r} is neither local:N nor a scheduler address such as tcp://host:8786"
        )
    return spec


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            f"--cluster needs Dask distributed, which is not installed: {INSTALL_HINT}"
        ) from None
    return distributed


class DaskMap:
    """A connection to a Dask cluster (started here for ``local:N``) that maps chunks in order.

    Use as a context manager: the client is closed, and a local cluster stopped, on the way out.
    """

    def __init__(self, spec: str, *, timeout: float | None = None):
        self.spec = check_spec(spec)
        self.timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self.client = None
        self.cluster = None

    def __enter__(self) -> DaskMap:
        distributed = _distributed()
        m = _LOCAL.match(self.spec)
        try:
            if m:
                self.cluster = distributed.LocalCluster(
                    n_workers=int(m.group(1)),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = distributed.Client(self.cluster, timeout=self.timeout)
            else:
                self.client = distributed.Client(self.spec, timeout=self.timeout)
            workers = len(self.client.scheduler_info().get("workers", {}))
        except (OSError, TimeoutError, ValueError) as e:
            self.close()
            why = first_line(e) or type(e).__name__
            raise ConfigError(f"--cluster {self.spec}: cannot reach the Dask scheduler ({why})") from None
        except BaseException:  # anything else (Ctrl-C while starting): no local worker is left running
            self.close()
            raise
        log.info("preprocessing on the Dask cluster %s (%d workers)", self.spec, workers)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            with suppress(Exception):
                self.client.close()
            self.client = None
        if self.cluster is not None:
            with suppress(Exception):
                self.cluster.close()
            self.cluster = None

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {}))) if self.client else 1

    def imap(
        self, func: Callable[[list], list], chunks: Iterable[list], *, max_pending: int | None = None
    ) -> Iterator[list]:
        """Yield ``func(chunk)`` for each chunk, in input order, with at most ``max_pending`` in flight
        (default: 2 per worker). A worker that dies (or a chunk that fails) is a :class:`RunError`."""
        distributed = _distributed()
        limit = max_pending or 2 * self.workers
        pending: deque = deque()
        try:
            for chunk in chunks:
                pending.append(self.client.submit(func, chunk, pure=False))
                if len(pending) >= limit:
                    yield self._result(pending.popleft(), distributed)
            while pending:
                yield self._result(pending.popleft(), distributed)
        finally:
            for future in pending:
                with suppress(Exception):
                    future.cancel()

    def _result(self, future, distributed):
        try:
            return future.result()
        except distributed.KilledWorker as e:
            raise RunError(
                f"--cluster {self.spec}: a worker died while preprocessing ({first_line(e)}); "
                "nothing was cached, run again"
            ) from None
        except (OSError, distributed.comm.CommClosedError, TimeoutError) as e:
            raise RunError(
                f"--cluster {self.spec}: lost the connection to the cluster while preprocessing "
                f"({first_line(e) or type(e).__name__}); nothing was cached, run again"
            ) from None
        except NlpPpError:
            raise
        except Exception as e:  # raised on a worker: e.g. nlp_pp or MeCab missing or of another version
            raise RunError(
                f"--cluster {self.spec}: a worker failed while preprocessing ({type(e).__name__}: "
                f"{first_line(e)}); check that every worker has the same nlp_pp installed; nothing was "
                "cached"
            ) from None
