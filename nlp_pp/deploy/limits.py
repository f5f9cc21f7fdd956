"""Limits of the HTTP service against slow or greedy clients: request-body size and time, header time.

Imported only when the service is built (it needs Starlette's ASGI types and uvicorn's h11 protocol),
so the core install works without them.

* :class:`BodyLimits` -- ASGI middleware: a request body larger than ``max_bytes`` is answered 413
  (at once when ``Content-Length`` says so, else as soon as that many bytes arrived), and a body that
  has not arrived completely within ``timeout`` seconds is answered 408. The body is read before the
  application sees it, so a client that sends half a body holds no route and no batch.
* :func:`timed_h11_protocol` -- uvicorn's h11 protocol with a deadline for a request's headers:
  uvicorn closes an idle keep-alive connection, but waits forever for the rest of a request's
  headers, so a few hundred half-sent requests held as many descriptors for as long as their clients
  liked (and under a descriptor limit, ``/health`` stopped answering).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


async def _send_json(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    """ASGI middleware: read each request body completely first, within ``max_bytes`` and ``timeout``."""

    def __init__(self, app: Any, *, max_bytes: int, timeout: float) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = (
            f"the request body is larger than {self.max_bytes} bytes, the limit of this server; send fewer "
            "or shorter texts per request"
        )
        headers = dict(scope.get("headers", ()))
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if scope.get("method") == "POST" and not (ctype == b"application/json" or ctype.endswith(b"+json")):
            # one behaviour whatever FastAPI's version (older ones parsed such a body anyway)
            await _send_json(
                send,
                422,
                "invalid request: the body was not sent as JSON; send it with Content-Type: application/json",
            )
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await _send_json(send, 413, too_large)
                    return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise asyncio.TimeoutError
                message = await asyncio.wait_for(receive(), remaining)
            except asyncio.TimeoutError:
                await _send_json(
                    send,
                    408,
                    f"the request body did not arrive within {self.timeout:g} s; send it at once",
                )
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_json(send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)


def timed_h11_protocol(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol that closes a connection whose request headers did not arrive completely
    within ``header_timeout`` seconds of the connection, or of the end of the previous response."""

    class TimedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _armed_cycle: Any = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._armed_cycle = self.cycle
            self._header_timer = self.loop.call_later(header_timeout, self._on_header_timeout)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _on_header_timeout(self) -> None:
            self._header_timer = None
            # no request began since the timer was armed: its headers are still incomplete (or the
            # connection idles longer than the keep-alive timeout would allow anyway)
            if self.cycle is self._armed_cycle and not self.transport.is_closing():
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return TimedH11Protocol
