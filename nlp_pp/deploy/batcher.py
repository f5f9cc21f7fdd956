"""Micro-batching of concurrent requests for one classifier: what the HTTP service needs besides FastAPI.

:class:`MicroBatcher` collects the texts of concurrent requests, runs ``classifier.predict`` once
on all of them in a worker thread and hands every request its own slice (see :mod:`.serve`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..errors import first_line

logger = logging.getLogger("nlp_pp.deploy.serve")  # one logger for the whole service


@runtime_checkable
class Classifier(Protocol):
    """What the service needs from a trained model.

    Attributes
    ----------
    labels : list of str
        The class names, e.g. ``["일상대화", "스팸문자"]``.
    max_chars : int
        Texts longer than this are cut to their first ``max_chars`` characters (as in training).
    """

    labels: list[str]
    max_chars: int

    def predict(self, texts: list[str], *, explain: bool = False) -> list[dict]:
        """Classify ``texts``; one dict per text, in order.

        Each dict has ``label`` (str), ``prob`` (calibrated probability of ``label``, or None),
        ``probs`` ({label: probability}), ``decision`` (``{"positive_label", "threshold",
        "is_positive"}`` or None) and, when ``explain`` is true, ``explanation``
        (``[{"token": str, "contribution": float}, ...]``).
        """
        ...

    def metadata(self) -> dict:
        """JSON-ready facts about the model: name, labels, threshold, temperature, versions, source run."""
        ...


class ClassifierError(RuntimeError):
    """The classifier raised, or returned something that is not one result per text (HTTP 500)."""


class ServiceUnavailable(RuntimeError):
    """The batcher was stopped (server shutting down) before a request was answered, or the model is
    stuck on an earlier batch (HTTP 503)."""


class BatchTimeout(ServiceUnavailable):
    """A ``predict`` call ran longer than the batch timeout (HTTP 503); the batcher is stuck until it
    returns."""


@dataclass(eq=False)
class _Job:
    """One request waiting in the batcher: its texts, its future and the results filled in so far."""

    texts: list[str]
    explain: bool
    future: asyncio.Future
    offset: int = 0  # texts before this index have been handed to a predict call
    filled: int = 0
    results: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.results = [None] * len(self.texts)

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


class MicroBatcher:
    """Collects the texts of concurrent requests and classifies them in few ``predict`` calls.

    Parameters
    ----------
    classifier : Classifier
        The model; its ``predict`` runs in a worker thread, one call at a time.
    max_batch : int
        At most this many texts per ``predict`` call (larger requests are split).
    max_wait_ms : float
        How long the worker waits for more requests after the first one arrived. 0 takes only what is
        already queued; larger values trade latency for bigger batches.
    timeout : float
        Seconds one ``predict`` call may take. A call that takes longer fails its requests with
        :class:`BatchTimeout`; until it returns (threads cannot be stopped) the batcher is *stuck*:
        :attr:`stuck_for` says for how long, and new requests fail at once with
        :class:`ServiceUnavailable`. Each call runs in a daemon thread, so a stuck call never keeps
        the process from exiting.

    Notes
    -----
    The worker starts with :meth:`start` (the app's lifespan) or, if that was skipped, on the first
    :meth:`predict` call. ``calls`` counts ``predict`` calls and ``batch_sizes`` keeps the size of the
    last 1000 of them, for monitoring and tests.
    """

    def __init__(
        self, classifier: Classifier, *, max_batch: int = 256, max_wait_ms: float = 2.0, timeout: float = 30.0
    ):
        self.classifier = classifier
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.timeout = float(timeout)
        self._stuck_since: float | None = None
        self._stuck_call: asyncio.Future | None = None
        self.calls = 0
        self.batch_sizes: deque[int] = deque(maxlen=1000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None
        self._getter: asyncio.Task | None = None
        self._pending: deque[_Job] = deque()
        self._inflight: list[_Job] = []
        self._closed = False

    @property
    def stuck_for(self) -> float | None:
        """Seconds the current ``predict`` call has run past its start, if it exceeded the timeout."""
        if self._stuck_since is None:
            return None
        return time.monotonic() - self._stuck_since

    @property
    def running(self) -> bool:
        """True while the worker task is alive."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the worker task on the running event loop (again, after :meth:`stop`)."""
        self._closed = False
        self._ensure_worker()

    async def stop(self) -> None:
        """Stop the worker; requests still waiting fail with :class:`ServiceUnavailable`.

        A ``predict`` call already running in its thread is not interrupted (threads cannot be), but
        nobody waits for it.
        """
        self._closed = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # pragma: no cover - the worker catches its own errors
                logger.exception("micro-batch worker failed")
        self._fail_all(ServiceUnavailable("the server is shutting down; retry on another instance"))

    async def predict(self, texts: list[str], explain: bool = False) -> list[dict]:
        """Classify ``texts`` together with whatever other requests are waiting.

        Raises
        ------
        ClassifierError
            The classifier raised or returned a wrong number of results.
        ServiceUnavailable
            The batcher is stopped.
        """
        if self._closed:
            raise ServiceUnavailable("the server is shutting down; retry on another instance")
        if self._stuck_since is not None:
            raise ServiceUnavailable(
                f"the model has been running one batch for {self.stuck_for:.0f} s (batch timeout "
                f"{self.timeout:g} s); this server cannot answer until it returns: restart it"
            )
        if not texts:
            return []
        self._ensure_worker()
        assert self._queue is not None
        job = _Job(list(texts), bool(explain), asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        return await job.future

    # -- worker ---------------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        """Start the worker on the running loop unless it already runs there.

        A new loop (e.g. a test client without lifespan, one loop per request) gets a fresh queue and
        worker; a crashed worker is replaced.
        """
        loop = asyncio.get_running_loop()
        if self._loop is loop and self.running:
            return
        if self._loop is not loop:
            self._queue = asyncio.Queue()
            self._getter = None
            self._pending.clear()
            self._inflight = []
            self._loop = loop
        self._task = loop.create_task(self._work(), name="nlp_pp-microbatch")

    def _fail_all(self, exc: BaseException) -> None:
        jobs = list(self._pending) + list(self._inflight)
        self._pending.clear()
        self._inflight = []
        if self._getter is not None:
            self._getter.cancel()
            self._getter = None
        if self._queue is not None:
            while not self._queue.empty():
                jobs.append(self._queue.get_nowait())
        for job in jobs:
            job.fail(exc)

    def _drain(self) -> None:
        assert self._queue is not None
        while not self._queue.empty():
            self._pending.append(self._queue.get_nowait())

    async def _next(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: forever) for one more queued request."""
        assert self._queue is not None
        if self._getter is None:  # one get() task survives timeouts, so no request is ever lost
            self._getter = asyncio.ensure_future(self._queue.get())
        done, _ = await asyncio.wait({self._getter}, timeout=timeout)
        if not done:
            return False
        self._pending.append(self._getter.result())
        self._getter = None
        return True

    def _ready(self, explain: bool) -> tuple[int, bool]:
        """Texts waiting at the head of the queue with this ``explain`` flag, and whether a request
        with the other flag waits behind them (then waiting longer cannot grow the batch)."""
        n = 0
        for job in self._pending:
            if job.future.done():
                continue
            if job.explain != explain:
                return n, True
            n += len(job.texts) - job.offset
            if n >= self.max_batch:
                break
        return n, False

    def _take(self, explain: bool) -> list[tuple[_Job, int, int]]:
        """Pop up to ``max_batch`` texts from the head of the queue: ``(job, start, end)`` parts."""
        parts: list[tuple[_Job, int, int]] = []
        n = 0
        while self._pending and n < self.max_batch:
            job = self._pending[0]
            if job.future.done():  # cancelled by its client, or failed in an earlier part
                self._pending.popleft()
                continue
            if job.explain != explain:
                break
            k = min(len(job.texts) - job.offset, self.max_batch - n)
            parts.append((job, job.offset, job.offset + k))
            job.offset += k
            n += k
            if job.offset == len(job.texts):
                self._pending.popleft()
        return parts

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                self._drain()
                while not any(not j.future.done() for j in self._pending):
                    self._pending.clear()
                    await self._next(None)
                head = next(j for j in self._pending if not j.future.done())
                deadline = loop.time() + self.max_wait
                while True:
                    self._drain()
                    n, blocked = self._ready(head.explain)
                    remaining = deadline - loop.time()
                    if n >= self.max_batch or blocked or remaining <= 0:
                        break
                    await self._next(remaining)
                if self._stuck_call is not None:  # one call at a time: wait for the stuck one
                    await asyncio.wait({self._stuck_call})
                parts = self._take(head.explain)
                if parts:
                    await self._run(parts, head.explain)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not leave requests hanging
                logger.exception("micro-batch worker error")
                self._fail_all(ClassifierError("internal error in the micro-batch worker"))

    async def _predict(self, texts: list[str], explain: bool) -> list[dict]:
        t0 = time.perf_counter()
        self.calls += 1
        self.batch_sizes.append(len(texts))
        call = self._start_call(texts, explain)
        try:
            out = await asyncio.wait_for(asyncio.shield(call), self.timeout)
        except asyncio.TimeoutError:
            started = time.monotonic() - self.timeout
            self._stuck_since, self._stuck_call = started, call
            call.add_done_callback(self._unstuck)
            logger.error(
                "classifier.predict has run %g s on %d texts (the batch timeout): the server is stuck "
                "until it returns (GET /health answers 503)",
                self.timeout,
                len(texts),
            )
            raise BatchTimeout(
                f"the model did not finish this batch within {self.timeout:g} s; the server is stuck: "
                "restart it"
            ) from None
        except Exception as e:
            logger.error(
                "classifier.predict failed on %d texts: %s", len(texts), first_line(e, with_type=True)
            )
            logger.debug("traceback", exc_info=e)
            raise ClassifierError(f"the classifier failed: {first_line(e, with_type=True)}") from None
        if isinstance(out, (str, bytes)) or not isinstance(out, Sequence):
            try:
                out = list(out)
            except TypeError:
                raise ClassifierError(
                    f"the classifier returned {type(out).__name__}, not a list of results"
                ) from None
        if len(out) != len(texts):
            raise ClassifierError(f"the classifier returned {len(out)} results for {len(texts)} texts")
        logger.debug(
            "predict: %d texts%s in %.1f ms",
            len(texts),
            " (explain)" if explain else "",
            (time.perf_counter() - t0) * 1000,
        )
        return list(out)

    def _start_call(self, texts: list[str], explain: bool) -> asyncio.Future:
        """Run ``classifier.predict`` in a new daemon thread; a future of its result on this loop."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(result, error) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        def target() -> None:
            try:
                result, error = self.classifier.predict(texts, explain=explain), None
            except BaseException as e:  # handed to the event loop, which re-raises it in _predict
                result, error = None, e
            try:
                loop.call_soon_threadsafe(settle, result, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

        threading.Thread(target=target, name="nlp_pp-predict", daemon=True).start()
        return future

    def _unstuck(self, call: asyncio.Future) -> None:
        if not call.cancelled():
            call.exception()  # retrieved: the late result or error of a timed-out call is dropped
        if self._stuck_call is call:
            logger.warning("the stuck predict call returned after %.0f s; serving again", self.stuck_for or 0)
            self._stuck_since, self._stuck_call = None, None

    async def _run(self, parts: list[tuple[_Job, int, int]], explain: bool) -> None:
        texts = [t for job, a, b in parts for t in job.texts[a:b]]
        self._inflight = [job for job, _, _ in parts]
        try:
            try:
                out = await self._predict(texts, explain)
            except BatchTimeout as e:  # these requests, and every one waiting behind them, fail now
                for job, _, _ in parts:
                    job.fail(e)
                self._fail_all(e)
                return
            except ClassifierError as e:
                if len({id(job) for job, _, _ in parts}) == 1:
                    parts[0][0].fail(e)
                    return
                # several requests: retry each alone, so only the one that breaks the model fails
                for job, a, b in parts:
                    if job.future.done():
                        continue
                    try:
                        self._fill(job, a, await self._predict(job.texts[a:b], explain))
                    except (ClassifierError, BatchTimeout) as e1:
                        job.fail(e1)
                        if isinstance(e1, BatchTimeout):  # the rest would wait behind a stuck call
                            for other, _, _ in parts:
                                other.fail(e1)
                            self._fail_all(e1)
                            return
                return
            i = 0
            for job, a, b in parts:
                self._fill(job, a, out[i : i + b - a])
                i += b - a
        finally:
            self._inflight = []

    @staticmethod
    def _fill(job: _Job, start: int, results: list[dict]) -> None:
        if job.future.done():
            return
        job.results[start : start + len(results)] = results
        job.filled += len(results)
        if job.filled == len(job.texts):
            job.future.set_result(job.results)
