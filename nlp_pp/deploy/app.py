"""The FastAPI half of :mod:`nlp_pp.deploy.serve`: schemas, routes, error handlers.

Imported only by :func:`nlp_pp.deploy.serve.create_app`, so FastAPI and pydantic stay optional. Use
:mod:`nlp_pp.deploy.serve`; this module's names are not a public API.
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from .batcher import Classifier, ClassifierError, MicroBatcher, ServiceUnavailable

logger = logging.getLogger("nlp_pp.deploy.serve")  # one logger for the whole service

EXAMPLE_BODY = '{"texts": ["..."], "explain": false}'


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

    texts: list[StrictStr] = Field(
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
    """Liveness."""

    status: str = "ok"


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


def build_app(classifier: Classifier, batcher: MicroBatcher, *, max_texts: int, max_chars: int) -> FastAPI:
    """Wire the routes; called by :func:`nlp_pp.deploy.serve.create_app` after it checked the limits."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        logger.info(
            "micro-batching: max_batch=%d, max_wait_ms=%g; max_texts=%d, max_chars=%d",
            batcher.max_batch,
            batcher.max_wait * 1000,
            max_texts,
            max_chars,
        )
        try:
            yield
        finally:
            await batcher.stop()
            logger.info("micro-batching stopped after %d predict calls", batcher.calls)

    labels = ", ".join(map(str, getattr(classifier, "labels", []) or [])) or "?"
    app = FastAPI(
        title="nlp_pp classifier",
        description=(
            f"Korean text classification (labels: {labels}).\n\n"
            f"Limits: at most {max_texts} texts per request (more is HTTP 413); texts longer than "
            f"{max_chars} characters are cut and flagged `truncated`. Concurrent requests are "
            f"batched together (up to {batcher.max_batch} texts, waiting at most "
            f"{batcher.max_wait * 1000:g} ms)."
        ),
        lifespan=lifespan,
    )
    app.state.batcher = batcher
    app.state.classifier = classifier
    app.state.max_texts = max_texts
    app.state.max_chars = max_chars

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        return JSONResponse(
            status_code=422, content={"detail": validation_detail(errors), "errors": _error_items(errors)}
        )

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:  # a bug in a route
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            status_code=500, content={"detail": f"internal server error ({exc.__class__.__name__})"}
        )

    @app.post(
        "/predict",
        response_model=PredictResponse,
        summary="Classify texts",
        responses={
            413: _error(f"More than {max_texts} texts."),
            422: _error("The body is not valid: see `detail`."),
            500: _error("The classifier failed on this request."),
            503: _error("The server is shutting down."),
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
        return JSONResponse(response.model_dump(mode="json", exclude=exclude))

    @app.get("/health", response_model=Health, summary="Liveness check")
    async def health() -> Any:
        """`{"status": "ok"}` while the server runs."""
        return {"status": "ok"}

    @app.get(
        "/metadata", summary="Model metadata", responses={500: _error("The classifier's metadata() failed.")}
    )
    async def metadata() -> Any:
        """`classifier.metadata()`: model name, labels, threshold, temperature, versions, source run."""
        try:
            return JSONResponse(jsonable_encoder(classifier.metadata()))
        except Exception as e:
            logger.exception("classifier.metadata() failed")
            raise HTTPException(
                500,
                f"the classifier's metadata failed: {e.__class__.__name__}: "
                f"{(str(e).splitlines() or [''])[0]}",
            ) from None

    return app
