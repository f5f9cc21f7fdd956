"""HTTP service around a trained classifier: ``POST /predict``, ``GET /health``, ``GET /metadata``.

The service needs FastAPI and uvicorn (``pip install 'nlp_pp[serve]'``); they are imported only when
:func:`create_app` or :func:`serve` is called, so the core install works without them.

Endpoints
---------
``POST /predict``
    Body ``{"texts": ["...", ...], "explain": false}``; answer ``{"results": [{...}, ...]}``, one result
    per text and in the same order. Each result is the classifier's dict (``label``, ``prob``,
    ``probs``, ``decision``, ``explanation`` when ``explain`` is true) plus ``truncated``: texts longer
    than ``max_chars`` are cut to their first ``max_chars`` characters, exactly like in training, and
    flagged instead of rejected. An empty string is a valid text.
``GET /health``
    ``{"status": "ok"}``.
``GET /metadata``
    ``classifier.metadata()`` as it is.
``GET /docs``, ``GET /openapi.json``
    The interactive documentation and the OpenAPI schema.

Errors
------
Every error is a JSON object with a one-line ``detail`` string:

* 413 -- more than ``max_texts`` texts in one request;
* 422 -- a body that is not what ``/predict`` takes: not JSON, not an object, ``texts`` missing,
  ``null``, not a list, an *empty list*, an item that is not a string, ``explain`` not a boolean, an
  unknown field. ``errors`` lists each problem (``loc``, ``msg``, ``type``) as well;
* 500 -- the classifier raised or returned something malformed (the request fails, the server goes on);
* 503 -- the server is shutting down.

Micro-batching
--------------
Concurrent ``/predict`` requests are classified together: each request puts its texts on an asyncio
queue and waits on a future; one worker task takes the first waiting request, keeps collecting for up
to ``max_wait_ms`` milliseconds or until ``max_batch`` texts are waiting, runs ``classifier.predict``
once on all of them in a worker thread (the event loop never blocks) and hands every request its own
slice of the results. A request larger than ``max_batch`` is split over several calls. Requests with
``explain=true`` are batched only with each other. If a batch of several requests fails, each request
is retried alone, so one bad request cannot fail its neighbours. Only one ``predict`` call runs at a
time, so the classifier does not have to be thread-safe.

Examples
--------
>>> from nlp_pp.deploy.serve import serve                       # doctest: +SKIP
>>> serve(classifier, port=8000)                         # doctest: +SKIP

The application alone, e.g. to mount it or run it under another server:

>>> from nlp_pp.deploy.serve import create_app                  # doctest: +SKIP
>>> app = create_app(classifier, max_texts=64)           # doctest: +SKIP
"""

from __future__ import annotations

import errno
import logging
import math
import socket
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .batcher import BatchTimeout, Classifier, ClassifierError, MicroBatcher, ServiceUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

logger = logging.getLogger(__name__)

MISSING_DEPS = "serving needs FastAPI and uvicorn: pip install 'nlp_pp[serve]'"

__all__ = [
    "MISSING_DEPS",
    "BatchTimeout",
    "Classifier",
    "ClassifierError",
    "MicroBatcher",
    "ServiceUnavailable",
    "create_app",
    "serve",
]


# -- application --------------------------------------------------------------------------------


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer (got {value!r})")
    return value


def _seconds(name: str, value: Any, *, zero: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        raise ConfigError(f"{name} must be a number {'>=' if zero else '>'} 0 (got {value!r})")
    return float(value)


def body_limit(max_texts: int, max_chars: int) -> int:
    """The most bytes a ``/predict`` body of ``max_texts`` texts of ``max_chars`` characters can need:
    12 bytes per character (a character outside the BMP, JSON-escaped as two ``\\uXXXX``), plus
    quotes and commas, plus the object around them."""
    return max_texts * (12 * max_chars + 16) + 4096


def _app_module():
    """The FastAPI part (imported on first use), or a ConfigError naming the extra to install."""
    try:
        import_module("uvicorn")
        return import_module("nlp_pp.deploy.app")
    except ImportError as e:
        if e.name and e.name.split(".")[0] in (
            "fastapi",
            "starlette",
            "pydantic",
            "pydantic_core",
            "uvicorn",
        ):
            raise ConfigError(MISSING_DEPS) from None
        raise


def create_app(
    classifier: Classifier,
    *,
    max_texts: int = 256,
    max_chars: int | None = None,
    max_batch: int = 256,
    max_wait_ms: float = 2.0,
    max_body_bytes: int | None = None,
    body_timeout: float = 30.0,
    batch_timeout: float = 30.0,
) -> FastAPI:
    """Build the FastAPI application that serves ``classifier``.

    Parameters
    ----------
    classifier : Classifier
        A loaded model (see :class:`Classifier`).
    max_texts : int
        Most texts one request may send; more is HTTP 413.
    max_chars : int, optional
        Texts longer than this are cut (flagged ``"truncated": true``). Default ``classifier.max_chars``.
    max_batch : int
        Most texts per ``classifier.predict`` call.
    max_wait_ms : float
        How long the batcher waits for more requests before it runs a batch (0 disables waiting).
    max_body_bytes : int, optional
        Largest request body; more is HTTP 413, without reading it. Default: what ``max_texts``
        texts of ``max_chars`` characters can need (:func:`body_limit`).
    body_timeout : float
        Seconds a request's body may take to arrive completely; slower is HTTP 408.
    batch_timeout : float
        Seconds one ``classifier.predict`` call may take; its requests then fail with 503 and the
        server reports itself stuck (``GET /health`` answers 503) until the call returns.

    Returns
    -------
    fastapi.FastAPI
        The app; its lifespan starts and stops the micro-batch worker. ``app.state.batcher`` is the
        :class:`MicroBatcher`.

    Raises
    ------
    ConfigError
        FastAPI or uvicorn is not installed, or a limit is invalid.
    """
    module = _app_module()
    for name in ("predict", "metadata"):
        if not callable(getattr(classifier, name, None)):
            raise ConfigError(f"the classifier has no {name}() method; pass a loaded classifier")
    if max_chars is None:
        max_chars = getattr(classifier, "max_chars", None)
        if max_chars is None:
            raise ConfigError("the classifier has no max_chars; pass max_chars=")
    _positive_int("max_chars", max_chars)
    _positive_int("max_texts", max_texts)
    _positive_int("max_batch", max_batch)
    if max_body_bytes is None:
        max_body_bytes = body_limit(max_texts, max_chars)
    _positive_int("max_body_bytes", max_body_bytes)
    body_timeout = _seconds("body_timeout", body_timeout)
    batch_timeout = _seconds("batch_timeout", batch_timeout)
    if (
        isinstance(max_wait_ms, bool)
        or not isinstance(max_wait_ms, (int, float))
        or not math.isfinite(max_wait_ms)
        or max_wait_ms < 0
    ):
        raise ConfigError(f"max_wait_ms must be a number >= 0 (got {max_wait_ms!r})")
    batcher = MicroBatcher(
        classifier, max_batch=max_batch, max_wait_ms=float(max_wait_ms), timeout=batch_timeout
    )
    return module.build_app(
        classifier,
        batcher,
        max_texts=max_texts,
        max_chars=max_chars,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
    )


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (like uvicorn binds it), or a one-line ConfigError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except socket.gaierror:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host!r}: not a known host name or address; pass --host"
        ) from None
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is in use; pass --port with a free port (or stop the other server)"
            ) from None
        if e.errno == errno.EACCES:
            raise ConfigError(
                f"no permission to listen on port {port} on {host}; pass --port 1024 or higher"
            ) from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(f"{host} is not an address of this machine; pass --host 127.0.0.1") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


def ipaddress_is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    classifier: Classifier,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    header_timeout: float = 10.0,
    max_connections: int = 256,
    **limits: Any,
) -> None:
    """Serve ``classifier`` over HTTP with uvicorn until interrupted (Ctrl-C or SIGTERM).

    Parameters
    ----------
    classifier : Classifier
        A loaded model (see :class:`Classifier`).
    host : str
        Address to listen on. The default is loopback only; pass ``"0.0.0.0"`` to accept other machines
        (there is no authentication: put a proxy in front; a warning says so). An empty host is refused
        (it would mean every interface).
    port : int
        TCP port (0 picks a free one and logs it).
    log_level : str
        uvicorn's log level: ``"critical"``, ``"error"``, ``"warning"``, ``"info"``, ``"debug"``.
    header_timeout : float
        Seconds a client may take to send a request's headers (from connecting, or from the end of
        its previous answer); the connection is closed then.
    max_connections : int
        Most connections and requests at once (uvicorn's ``limit_concurrency``): more are answered
        503 at once instead of holding memory and descriptors.
    **limits
        ``max_texts``, ``max_chars``, ``max_batch``, ``max_wait_ms``, ``max_body_bytes``,
        ``body_timeout``, ``batch_timeout``, as in :func:`create_app`.

    Raises
    ------
    ConfigError
        FastAPI/uvicorn missing, an invalid limit, an unknown option, or the port cannot be used
        (e.g. ``port 8000 on 127.0.0.1 is in use; pass --port ...``). The port is bound before uvicorn
        starts, so these come before any server output.

    Notes
    -----
    On SIGINT or SIGTERM uvicorn stops accepting connections, finishes the requests in flight, stops
    the batcher, and then re-raises the signal: Ctrl-C ends in ``KeyboardInterrupt`` and SIGTERM ends
    the process with status 143 (-15), as for any program killed by it.
    """
    known = {
        "max_texts",
        "max_chars",
        "max_batch",
        "max_wait_ms",
        "max_body_bytes",
        "body_timeout",
        "batch_timeout",
    }
    unknown = sorted(set(limits) - known)
    if unknown:
        raise ConfigError(f"unknown serve option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be an integer from 0 to 65535 (got {port!r})")
    levels = ("critical", "error", "warning", "info", "debug", "trace")
    if log_level not in levels:
        raise ConfigError(f"log_level must be one of {', '.join(levels)} (got {log_level!r})")
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(
            f"--host must be an address such as 127.0.0.1 (this machine only) or 0.0.0.0 (got {host!r})"
        )
    header_timeout = _seconds("header_timeout", header_timeout)
    _positive_int("max_connections", max_connections)
    app = create_app(classifier, **limits)
    import uvicorn

    from .limits import timed_h11_protocol

    sock = _bind(host, port)
    try:
        bound_port = sock.getsockname()[1]
        if not ipaddress_is_loopback(host):
            logger.warning(
                "listening on %s: other machines can reach this service, which has no authentication; "
                "put it behind a proxy that authenticates, or use --host 127.0.0.1",
                host,
            )
        batch_timeout = app.state.batcher.timeout
        config = uvicorn.Config(
            app,
            host=host,
            port=bound_port,
            log_level=log_level,
            lifespan="on",
            http=timed_h11_protocol(header_timeout),
            limit_concurrency=max_connections,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=max(1, math.ceil(batch_timeout + 5)),
        )
        server = uvicorn.Server(config)
        logger.info(
            "serving on http://%s:%d (docs at /docs)", host if ":" not in host else f"[{host}]", bound_port
        )
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise ConfigError(f"the server on {host}:{bound_port} did not start; see the log above")
