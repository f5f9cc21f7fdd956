"""The FastAPI half of :mod:`nlp_pp.deploy.serve`: schemas, routes, error handlers.

Imported only by :func:`nlp_pp.deploy.serve.create_app`, so FastAPI and pydantic stay optional. Use
:mod:`nlp_pp.deploy.serve`; this module's names are not a public API.
"""

from __future__ import annotations

import html
import json
import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .batcher import Classifier, ClassifierError, MicroBatcher, ServiceUnavailable

logger = logging.getLogger("nlp_pp.deploy.serve")  # one logger for the whole service

EXAMPLE_BODY = '{"texts": ["..."], "explain": false}'
PARSE_ERROR = "There was an error parsing the body"  # FastAPI's bare 400 for a body it could not read


class SafeJSONResponse(JSONResponse):
    """JSON that can always be sent: a string that is not valid Unicode (a lone surrogate such as
    ``\\ud800`` in an unknown field's name) is escaped instead of failing the response with a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _valid_unicode(text: str) -> str:
    """A text that can be encoded (no lone surrogate such as ``\\ud800``, which JSON allows but
    Unicode text cannot hold)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise PydanticCustomError(
            "unpaired_surrogate",
            "holds an unpaired surrogate (U+{code}) at character {pos}, which is not text",
            {"code": f"{ord(text[e.start]):04X}", "pos": e.start},
        ) from None
    return text


Text = Annotated[StrictStr, AfterValidator(_valid_unicode)]


# -- schemas ------------------------------------------------------------------------------------


class PredictRequest(BaseModel):
    """Texts to classify."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"texts": ["오늘 저녁 같이 먹을래?", "[광고] 무료 쿠폰 지급 이벤트"], "explain": False}
            ]
        },
    )

    texts: list[Text] = Field(
        min_length=1,
        description="The texts, at least one. Texts longer than the server's max_chars are cut (and flagged "
        "`truncated`); an empty string is allowed.",
    )
    explain: StrictBool = Field(False, description="Also return per-token contributions (slower).")


class Decision(BaseModel):
    """The thresholded yes/no decision for the positive label."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    positive_label: str
    threshold: float
    is_positive: bool


class TokenContribution(BaseModel):
    """How much one token pushed the prediction."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    token: str
    contribution: float


class Prediction(BaseModel):
    """The classification of one text."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    text: str | None = Field(
        None,
        description="The text as it was classified: the request's text, cut to the server's max_chars "
        "(see `truncated`); results are also in the order of the request.",
    )
    label: str = Field(description="The predicted label.")
    prob: float | None = Field(description="Calibrated probability of `label` (null if the model has none).")
    probs: dict[str, float] = Field(description="Probability of every label.")
    decision: Decision | None = Field(None, description="Thresholded decision, or null.")
    explanation: list[TokenContribution] | None = Field(
        None, description="Per-token contributions; only present when the request had `explain: true`."
    )
    truncated: bool = Field(description="True if the text was longer than max_chars and was cut.")


class PredictResponse(BaseModel):
    """One result per text, in the order of the request."""

    results: list[Prediction]


class ErrorItem(BaseModel):
    """One problem with the request body."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every error: a one-line `detail`; 422 also lists each problem in `errors`."""

    detail: str
    errors: list[ErrorItem] | None = None


class Health(BaseModel):
    """Liveness: ``ok``, or ``stuck`` (HTTP 503) while a batch has run longer than the batch timeout."""

    status: str = "ok"
    detail: str | None = None


# -- validation messages ------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A short JSON-like rendering of a bad input value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 30 else value[:30] + "...", ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _where(loc: tuple) -> str:
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _explain_error(err: dict) -> str:
    """One clause that says what is wrong with the body and what to send instead."""
    kind = err.get("type", "")
    where = _where(tuple(err.get("loc", ())))
    got = _show(err.get("input"))
    if kind == "json_invalid":
        why = (err.get("ctx") or {}).get("error", "syntax error")
        pos = err.get("loc", ())[-1] if err.get("loc") else None
        at = f" at character {pos}" if isinstance(pos, int) else ""
        return f"the body is not valid JSON ({why}{at})"
    if kind == "missing":
        return "the request body is missing" if not where else f"'{where}' is missing"
    if not where and kind in ("model_attributes_type", "dict_type", "model_type"):
        if isinstance(err.get("input"), (bytes, bytearray)):  # FastAPI did not parse it: not sent as JSON
            return "the body was not sent as JSON; send it with Content-Type: application/json"
        return f"the body must be a JSON object (got {got})"
    if kind == "list_type":
        return f"'{where}' must be a list of strings (got {got})"
    if kind == "string_type":
        return f"'{where}' must be a string (got {got})"
    if kind == "too_short" and where == "texts":
        return "'texts' is empty; send at least one text"
    if kind == "bool_type":
        return f"'{where}' must be true or false (got {got})"
    if kind == "unpaired_surrogate":
        return f"'{where}' {err.get('msg', 'is not valid Unicode text')}; send valid Unicode text"
    if kind == "extra_forbidden":
        return f"unknown field '{where}'; the body takes only 'texts' and 'explain'"
    return f"'{where or 'body'}': {err.get('msg', 'invalid')}"


def validation_detail(errors: list[dict], limit: int = 3) -> str:
    """The one-line ``detail`` of a 422 answer."""
    clauses = list(dict.fromkeys(_explain_error(e) for e in errors))
    text = "; ".join(clauses[:limit])
    if len(clauses) > limit:
        text += f" (and {len(clauses) - limit} more)"
    return f"invalid request: {text}; expected a JSON object like {EXAMPLE_BODY}"


def _error_items(errors: list[dict]) -> list[dict]:
    return [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]


# -- application --------------------------------------------------------------------------------


def _error(description: str) -> dict:
    return {"model": ErrorResponse, "description": description}


def build_app(
    classifier: Classifier,
    batcher: MicroBatcher,
    *,
    max_texts: int,
    max_chars: int,
    max_body_bytes: int,
    body_timeout: float,
) -> FastAPI:
    """Wire the routes; called by :func:`nlp_pp.deploy.serve.create_app` after it checked the limits."""
    from .limits import BodyLimits

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        logger.info(
            "micro-batching: max_batch=%d, max_wait_ms=%g, batch timeout %g s; max_texts=%d, max_chars=%d, "
            "max_body_bytes=%d",
            batcher.max_batch,
            batcher.max_wait * 1000,
            batcher.timeout,
            max_texts,
            max_chars,
            max_body_bytes,
        )
        try:
            yield
        finally:
            await batcher.stop()
            logger.info("micro-batching stopped after %d predict calls", batcher.calls)

    can_explain = bool(getattr(classifier, "can_explain", True))
    limits = (
        f"at most {max_texts} texts and {max_body_bytes} bytes per request (more is HTTP 413); texts "
        f"longer than {max_chars} characters are cut and flagged `truncated`. Concurrent requests are "
        f"batched together (up to {batcher.max_batch} texts, waiting at most {batcher.max_wait * 1000:g} ms)."
    )
    # The labels are not part of the description: it is rendered as Markdown (and HTML) by
    # documentation viewers, and a label is whatever the training data held. GET /metadata lists them.
    app = FastAPI(
        title="nlp_pp classifier",
        description="Korean text classification; the labels are listed by `GET /metadata`.\n\n"
        f"Limits: {limits}",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's /docs and /redoc load their JavaScript from a CDN: see docs() below
        redoc_url=None,
        default_response_class=SafeJSONResponse,
    )
    app.add_middleware(BodyLimits, max_bytes=max_body_bytes, timeout=body_timeout)
    app.state.batcher = batcher
    app.state.classifier = classifier
    app.state.max_texts = max_texts
    app.state.max_chars = max_chars

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        return SafeJSONResponse(
            status_code=422, content={"detail": validation_detail(errors), "errors": _error_items(errors)}
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == PARSE_ERROR:  # FastAPI could not read the body
            cause = exc.__cause__
            why = (
                "it is not UTF-8 text"
                if isinstance(cause, UnicodeDecodeError)
                else "it is nested too deeply"
                if isinstance(cause, RecursionError)
                else f"{cause.__class__.__name__}"
                if cause is not None
                else "unreadable"
            )
            error = {"loc": ["body"], "msg": f"the body is not valid JSON: {why}", "type": "json_invalid"}
            detail = (
                f"invalid request: the body is not valid JSON ({why}); expected a JSON object like "
                f"{EXAMPLE_BODY}"
            )
            return SafeJSONResponse(status_code=422, content={"detail": detail, "errors": [error]})
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return SafeJSONResponse(
            status_code=exc.status_code, content={"detail": detail}, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:  # a bug in a route
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return SafeJSONResponse(
            status_code=500, content={"detail": f"internal server error ({exc.__class__.__name__})"}
        )

    @app.post(
        "/predict",
        response_model=PredictResponse,
        summary="Classify texts",
        responses={
            413: _error(f"More than {max_texts} texts, or a body of more than {max_body_bytes} bytes."),
            422: _error("The body is not valid: see `detail`."),
            500: _error("The classifier failed on this request."),
            503: _error("The server is shutting down, or the model is stuck on an earlier batch."),
        },
    )
    async def predict(body: PredictRequest) -> Any:
        """Classify every text; one result per text, in order.

        Concurrent requests are classified together in micro-batches. Texts longer than the server's
        `max_chars` are cut to that many characters (as in training) and flagged `truncated: true`.
        An empty list is rejected (422).
        """
        n = len(body.texts)
        if n > max_texts:
            raise HTTPException(
                413,
                f"too many texts: {n} in one request, the limit is {max_texts}; "
                f"send at most {max_texts} per request",
            )
        if body.explain and not can_explain:
            name = getattr(classifier, "name", "this model")
            raise HTTPException(
                422,
                f"invalid request: {name} cannot explain its predictions (explanations need a neural "
                'model); send "explain": false',
            )
        texts = [t[:max_chars] for t in body.texts]
        truncated = [len(t) > max_chars for t in body.texts]
        try:
            raw = await batcher.predict(texts, explain=body.explain)
        except ClassifierError as e:
            raise HTTPException(500, str(e)) from None
        except ServiceUnavailable as e:
            raise HTTPException(503, str(e)) from None
        try:
            results = []
            for r, cut in zip(raw, truncated):
                if not isinstance(r, dict):
                    raise TypeError(f"a result is {type(r).__name__}, not a dict")
                results.append(Prediction.model_validate({**r, "truncated": cut}))
            response = PredictResponse(results=results)
        except (ValidationError, TypeError) as e:
            msg = e.errors()[0] if isinstance(e, ValidationError) else None
            why = f"{_where(('body',) + tuple(msg['loc']))}: {msg['msg']}" if msg else str(e)
            logger.error("malformed classifier result: %s", e)
            raise HTTPException(500, f"the classifier returned a malformed result ({why})") from None
        exclude = None if body.explain else {"results": {"__all__": {"explanation"}}}
        return SafeJSONResponse(response.model_dump(mode="json", exclude=exclude, exclude_none=False))

    @app.api_route(
        "/health",
        methods=["GET", "HEAD"],
        response_model=Health,
        summary="Liveness check",
        responses={503: {"model": Health, "description": "A batch has run longer than the batch timeout."}},
    )
    async def health() -> Any:
        """`{"status": "ok"}` while the server answers; 503 `{"status": "stuck"}` while the model has been
        running one batch for longer than the batch timeout."""
        stuck = batcher.stuck_for
        if stuck is not None:
            return SafeJSONResponse(
                status_code=503,
                content={
                    "status": "stuck",
                    "detail": f"the model has been running one batch for {stuck:.0f} s "
                    f"(batch timeout {batcher.timeout:g} s); restart the server",
                },
            )
        return SafeJSONResponse({"status": "ok"})

    @app.get(
        "/metadata", summary="Model metadata", responses={500: _error("The classifier's metadata() failed.")}
    )
    async def metadata() -> Any:
        """`classifier.metadata()`: model name, labels, threshold, temperature, versions, source run."""
        try:
            return SafeJSONResponse(jsonable_encoder(classifier.metadata()))
        except Exception as e:
            logger.exception("classifier.metadata() failed")
            raise HTTPException(
                500,
                f"the classifier's metadata failed: {e.__class__.__name__}: "
                f"{(str(e).splitlines() or [''])[0]}",
            ) from None

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def docs() -> Any:
        return HTMLResponse(docs_page(limits))

    return app


def docs_page(limits: str) -> str:
    """A small documentation page that works offline: no script, no style sheet, nothing fetched.

    FastAPI's own ``/docs`` (Swagger UI) and ``/redoc`` load their JavaScript from a CDN and show a
    blank page without network access. The machine-readable description is ``/openapi.json``; load
    it into any OpenAPI viewer you run yourself.
    """
    e = html.escape
    example = json.dumps(
        {"texts": ["오늘 저녁 같이 먹을래?", "[광고] 무료 쿠폰 지급"], "explain": False}, ensure_ascii=False
    )
    rows = [
        ("POST", "/predict", 'classify texts: body {"texts": [...], "explain": false}; one result per text'),
        ("GET", "/health", '{"status": "ok"}; 503 {"status": "stuck"} while a batch hangs'),
        ("GET", "/metadata", "the model: name, labels, threshold, temperature, preprocessing, versions"),
        ("GET", "/openapi.json", "the OpenAPI schema of every route, request and answer"),
    ]
    table = "\n".join(
        f"<tr><td>{e(m)}</td><td><code>{e(p)}</code></td><td>{e(d)}</td></tr>" for m, p, d in rows
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>nlp_pp classifier</title>'
        "</head><body>\n<h1>nlp_pp classifier</h1>\n"
        f"<table>\n<tr><th>method</th><th>path</th><th>what</th></tr>\n{table}\n</table>\n"
        f"<p>Limits: {e(limits)}</p>\n"
        "<p>Errors are JSON objects with a one-line <code>detail</code>: 413 too large, 422 invalid body, "
        "500 the classifier failed, 503 shutting down or stuck.</p>\n"
        f"<p>Example:</p>\n<pre>curl -s -X POST -H 'Content-Type: application/json' "
        f"-d '{e(example)}' http://HOST:PORT/predict</pre>\n"
        '<p>The full schema is <a href="openapi.json">/openapi.json</a>; this page loads nothing from the '
        "network (an interactive viewer would need a CDN).</p>\n</body></html>\n"
    )
