"""The HTTP service (nlp_pp.deploy.serve): routes, limits, error format, micro-batching, a real server
process."""

from __future__ import annotations

import asyncio
import json
import math
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette >= 1.0 prefers httpx2 for its test client; httpx still works
    warnings.filterwarnings("ignore", message=".*httpx.*", category=Warning)
    from fastapi.testclient import TestClient

from nlp_pp.deploy.serve import MISSING_DEPS, MicroBatcher, ServiceUnavailable, create_app, serve
from nlp_pp.errors import ConfigError
from tests.serve_fake import LABELS, FakeClassifier

ROOT = Path(__file__).resolve().parent.parent
HAM, SPAM = LABELS


@pytest.fixture
def fake() -> FakeClassifier:
    return FakeClassifier(max_chars=20)


@pytest.fixture
def client(fake):
    with TestClient(create_app(fake, max_texts=8)) as c:
        yield c


def one_line(detail) -> str:
    assert isinstance(detail, str) and detail and "\n" not in detail, detail
    return detail


# -- routes ---------------------------------------------------------------------------------------


def test_predict_results_in_order_with_labels(client):
    texts = ["오늘 저녁 뭐 먹을래?", "[광고] 무료 쿠폰", "내일 봐", "광고 대출 상담"]
    r = client.post("/predict", json={"texts": texts})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["text"] for x in results] == texts
    assert [x["label"] for x in results] == [HAM, SPAM, HAM, SPAM]
    first = results[1]
    assert first["prob"] == pytest.approx(0.9)
    assert first["probs"] == {HAM: pytest.approx(0.1), SPAM: pytest.approx(0.9)}
    assert first["decision"] == {"positive_label": SPAM, "threshold": 0.5, "is_positive": True}
    assert first["truncated"] is False
    assert "explanation" not in first


def test_empty_string_is_classified(client, fake):
    r = client.post("/predict", json={"texts": ["", "광고"]})
    assert r.status_code == 200, r.text
    assert [x["label"] for x in r.json()["results"]] == [HAM, SPAM]
    assert fake.calls[-1][0] == ["", "광고"]


def test_long_texts_are_cut_and_flagged(client, fake):
    exact, long = "가" * 20, "광고" + "나" * 100
    r = client.post("/predict", json={"texts": [exact, long]})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["truncated"] for x in results] == [False, True]
    assert fake.calls[-1][0] == [exact, long[:20]]  # the classifier saw the cut text, like in training
    assert results[1]["label"] == SPAM


def test_max_chars_overrides_the_classifier(fake):
    with TestClient(create_app(fake, max_chars=3)) as c:
        r = c.post("/predict", json={"texts": ["abcd", "abc"]})
    assert [x["truncated"] for x in r.json()["results"]] == [True, False]
    assert fake.calls[-1][0] == ["abc", "abc"]


def test_explain_passes_through(client, fake):
    r = client.post("/predict", json={"texts": ["광고 입니다"], "explain": True})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["explanation"] == [
        {"token": "광고", "contribution": 1.0},
        {"token": "입니다", "contribution": -0.1},
    ]
    assert fake.calls[-1][1] is True


def test_too_many_texts_is_413(client, fake):
    assert client.post("/predict", json={"texts": ["a"] * 8}).status_code == 200
    n_calls = len(fake.calls)
    r = client.post("/predict", json={"texts": ["a"] * 9})
    assert r.status_code == 413
    detail = one_line(r.json()["detail"])
    assert "9" in detail and "8" in detail
    assert len(fake.calls) == n_calls  # rejected before the model


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"texts": []}, "'texts' is empty"),
        ({"texts": ["ok", 5]}, "'texts[1]' must be a string (got 5)"),
        ({"texts": [None]}, "'texts[0]' must be a string (got null)"),
        ({"texts": None}, "'texts' must be a list of strings (got null)"),
        ({"texts": "one text"}, "'texts' must be a list of strings"),
        ({}, "'texts' is missing"),
        ({"text": ["a"]}, "unknown field 'text'"),
        ({"texts": ["a"], "explain": "yes"}, "'explain' must be true or false"),
        (["a", "b"], "must be a JSON object"),
    ],
)
def test_invalid_bodies_are_422_with_a_clear_detail(client, fake, body, needle):
    r = client.post("/predict", json=body)
    assert r.status_code == 422, r.text
    payload = r.json()
    detail = one_line(payload["detail"])
    assert needle in detail, detail
    assert '{"texts": ["..."], "explain": false}' in detail
    assert payload["errors"] and all({"loc", "msg", "type"} <= set(e) for e in payload["errors"])
    assert fake.calls == []


@pytest.mark.parametrize(
    "content, headers, needles",
    [
        (b'{"texts": ["a"', {"content-type": "application/json"}, ["not valid JSON"]),
        (b"\xff\xfe", {"content-type": "application/json"}, ["not valid JSON"]),
        (b'{"texts": ["a"]}', {"content-type": "text/plain"}, ["Content-Type: application/json"]),
        (b"", {"content-type": "application/json"}, ["body is missing"]),
        (b"5", {"content-type": "application/json"}, ["must be a JSON object (got 5)"]),
        # older FastAPI (0.115 here) reads a JSON null body as a missing body
        (
            b"null",
            {"content-type": "application/json"},
            ["must be a JSON object (got null)", "body is missing"],
        ),
    ],
)
def test_bad_json_is_422(client, content, headers, needles):
    r = client.post("/predict", content=content, headers=headers)
    assert r.status_code == 422, r.text
    detail = one_line(r.json()["detail"])
    assert any(n in detail for n in needles), detail


def test_json_without_content_type(client):
    """A body not sent as JSON is a 422 that says how to send it, whatever FastAPI's version."""
    for headers in (
        {},
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
    ):
        r = client.post("/predict", content=b'{"texts": ["a"]}', headers=headers)
        assert r.status_code == 422, r.text
        assert "send it with Content-Type: application/json" in one_line(r.json()["detail"])
    ok = client.post(
        "/predict", content=b'{"texts": ["a"]}', headers={"content-type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 200 and ok.json()["results"][0]["text"] == "a"


def test_health_metadata_docs(client, fake):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/metadata").json() == fake.metadata()
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/predict"]["post"]
    assert set(post["responses"]) >= {"200", "413", "422", "500"}
    schemas = spec["components"]["schemas"]
    assert {"PredictRequest", "PredictResponse", "Prediction", "ErrorResponse"} <= set(schemas)
    assert schemas["PredictRequest"]["properties"]["texts"]["minItems"] == 1
    assert "at most 8 texts" in spec["info"]["description"]


def test_works_without_lifespan(fake):
    """A client that skips the lifespan (no ``with``) still gets answers: the worker starts on demand."""
    c = TestClient(create_app(fake))
    for _ in range(2):  # each request may run on a new event loop
        r = c.post("/predict", json={"texts": ["광고"]})
        assert r.status_code == 200 and r.json()["results"][0]["label"] == SPAM


def test_lifespan_starts_and_stops_the_worker(fake):
    app = create_app(fake)
    batcher = app.state.batcher
    with TestClient(app) as c:
        assert batcher.running
        assert c.get("/health").status_code == 200
    assert not batcher.running


# -- classifier failures ------------------------------------------------------------------------


def test_classifier_error_is_500_and_the_next_request_works():
    fake = FakeClassifier(fail_on="boom")
    with TestClient(create_app(fake)) as c:
        r = c.post("/predict", json={"texts": ["ok", "boom"]})
        assert r.status_code == 500
        detail = one_line(r.json()["detail"])
        assert "RuntimeError" in detail and "boom" in detail and "second line" not in detail
        r = c.post("/predict", json={"texts": ["ok"]})
        assert r.status_code == 200 and r.json()["results"][0]["label"] == HAM


class _Broken(FakeClassifier):
    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def predict(self, texts, *, explain=False):
        out = super().predict(texts, explain=explain)
        if self.mode == "count":
            return out[:-1]
        if self.mode == "label":
            del out[0]["label"]
        if self.mode == "nan":
            out[0]["prob"] = math.nan
        if self.mode == "type":
            out[0] = "spam"
        if self.mode == "none":
            return None
        return out

    def metadata(self):
        if self.mode == "metadata":
            raise KeyError("threshold")
        return super().metadata()


@pytest.mark.parametrize(
    "mode, needle",
    [
        ("count", "1 results for 2 texts"),
        ("label", "label"),
        ("nan", "prob"),
        ("type", "str"),
        ("none", "NoneType"),
    ],
)
def test_malformed_classifier_output_is_500(mode, needle):
    with TestClient(create_app(_Broken(mode))) as c:
        r = c.post("/predict", json={"texts": ["a", "b"]})
        assert r.status_code == 500, r.text
        assert needle in one_line(r.json()["detail"])
        assert c.get("/health").status_code == 200


def test_metadata_error_is_500():
    with TestClient(create_app(_Broken("metadata"))) as c:
        r = c.get("/metadata")
    assert r.status_code == 500 and "KeyError" in one_line(r.json()["detail"])


# -- micro-batching -----------------------------------------------------------------------------


async def _post_all(app, bodies: list[dict]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return await asyncio.gather(*(c.post("/predict", json=b) for b in bodies))


def test_concurrent_requests_are_batched():
    fake = FakeClassifier(delay=0.02)
    app = create_app(fake, max_wait_ms=5)
    bodies = [{"texts": [f"광고 {i}", f"안녕 {i}"]} for i in range(20)]
    responses = asyncio.run(_post_all(app, bodies))
    for body, r in zip(bodies, responses):
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["text"] for x in results] == body["texts"]  # each request got its own slice
        assert [x["label"] for x in results] == [SPAM, HAM]
    assert sum(fake.batch_sizes) == 40
    assert len(fake.calls) < len(bodies), fake.batch_sizes
    assert max(fake.batch_sizes) > 2


def test_concurrent_requests_from_threads_are_batched():
    fake = FakeClassifier(delay=0.01)
    n = 48
    with TestClient(create_app(fake, max_wait_ms=5)) as c:

        def one(i: int) -> list[str]:
            r = c.post("/predict", json={"texts": [f"t{i}-0", f"광고 t{i}-1", f"t{i}-2"]})
            assert r.status_code == 200, r.text
            return [x["text"] for x in r.json()["results"]]

        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(one, range(n)))
    assert got == [[f"t{i}-0", f"광고 t{i}-1", f"t{i}-2"] for i in range(n)]
    assert sum(fake.batch_sizes) == 3 * n
    assert len(fake.calls) < n, fake.batch_sizes


def test_requests_larger_than_max_batch_are_split():
    fake = FakeClassifier()
    texts = [f"{i} 광고" if i % 3 == 0 else str(i) for i in range(10)]
    with TestClient(create_app(fake, max_batch=4)) as c:
        r = c.post("/predict", json={"texts": texts})
    assert r.status_code == 200
    assert [x["text"] for x in r.json()["results"]] == texts
    assert fake.batch_sizes == [4, 4, 2]


def test_explain_requests_are_batched_apart():
    fake = FakeClassifier(delay=0.01)
    app = create_app(fake, max_wait_ms=5)
    bodies = [
        {"texts": [f"e{i} 광고"], "explain": True} if i % 2 else {"texts": [f"p{i}"]} for i in range(16)
    ]
    responses = asyncio.run(_post_all(app, bodies))
    for body, r in zip(bodies, responses):
        assert r.status_code == 200
        result = r.json()["results"][0]
        assert result["text"] == body["texts"][0]
        assert ("explanation" in result) == body.get("explain", False)
    for texts, explain in fake.calls:
        assert all(t.startswith("e" if explain else "p") for t in texts), fake.calls


def test_one_failing_request_does_not_fail_its_batch_neighbours():
    fake = FakeClassifier(delay=0.01, fail_on="boom")
    app = create_app(fake, max_wait_ms=10)
    bodies = [{"texts": ["boom" if i == 3 else f"ok {i}"]} for i in range(8)]
    responses = asyncio.run(_post_all(app, bodies))
    assert [r.status_code for r in responses] == [500 if i == 3 else 200 for i in range(8)]
    assert [r.json()["results"][0]["text"] for i, r in enumerate(responses) if i != 3] == [
        f"ok {i}" for i in range(8) if i != 3
    ]


def test_stop_fails_waiting_requests_instead_of_hanging():
    async def scenario():
        fake = FakeClassifier(delay=0.2)
        batcher = MicroBatcher(fake, max_batch=4, max_wait_ms=0)
        await batcher.start()
        first = asyncio.ensure_future(batcher.predict(["a"] * 6))  # two calls: 4 in flight, 2 waiting
        await asyncio.sleep(0.05)
        await batcher.stop()
        with pytest.raises(ServiceUnavailable):
            await asyncio.wait_for(first, 1)
        with pytest.raises(ServiceUnavailable):
            await batcher.predict(["b"])
        await batcher.start()  # and it can start again
        assert len(await batcher.predict(["c"])) == 1
        await batcher.stop()

    asyncio.run(scenario())


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(max_texts=0), "max_texts"),
        (dict(max_batch=-1), "max_batch"),
        (dict(max_chars="50"), "max_chars"),
        (dict(max_wait_ms=-1), "max_wait_ms"),
        (dict(max_wait_ms=math.inf), "max_wait_ms"),
    ],
)
def test_bad_limits_are_config_errors(fake, kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        create_app(fake, **kwargs)


def test_not_a_classifier_is_a_config_error():
    with pytest.raises(ConfigError, match="predict"):
        create_app(object())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_a_busy_port_is_a_config_error(fake):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError) as e:
            serve(fake, port=port)
    assert str(e.value).startswith(f"port {port} on 127.0.0.1 is in use; pass --port")


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(port=70000), "port"),
        (dict(port="80"), "port"),
        (dict(max_text=3), "unknown serve option"),
        (dict(log_level="loud"), "log_level"),
        (dict(host="no-such-host.invalid"), "host"),
    ],
)
def test_serve_rejects_bad_options_before_starting(fake, kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        serve(fake, **kwargs)


def test_core_install_does_not_need_fastapi():
    code = (
        "import sys\n"
        "import nlp_pp.deploy.serve as s\n"
        "assert not {'fastapi', 'uvicorn', 'pydantic', 'starlette'} & set(sys.modules), 'imported eagerly'\n"
        "sys.modules['fastapi'] = None\n"
        "from tests.serve_fake import FakeClassifier\n"
        "for f in (s.create_app, s.serve):\n"
        "    try:\n"
        "        f(FakeClassifier())\n"
        "    except s.ConfigError as e:\n"
        "        assert str(e) == s.MISSING_DEPS, e\n"
        "    else:\n"
        "        raise AssertionError('no ConfigError')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert MISSING_DEPS == "serving needs FastAPI and uvicorn: pip install 'nlp_pp[serve]'"


# -- a real server process ----------------------------------------------------------------------


def _start(port: int, log: Path, options: str = "") -> subprocess.Popen:
    with open(log, "wb") as f:
        return subprocess.Popen(
            [sys.executable, "-c", f"from tests.serve_fake import main; main({port}{options})"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=f,
            stderr=subprocess.STDOUT,
        )


def _wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if json.load(r) == {"status": "ok"}:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"server not ready after {timeout} s: {log.read_text(errors='replace')}")


def test_real_server_process(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc = _start(port, log)
    try:
        _wait_ready(proc, url, log)
        req = urllib.request.Request(
            url + "/predict",
            method="POST",
            data=json.dumps({"texts": ["안녕", "[광고] 쿠폰"]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
            results = json.load(r)["results"]
        assert [x["label"] for x in results] == [HAM, SPAM]
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(
                urllib.request.Request(
                    url + "/predict", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
                ),
                timeout=10,
            )
        assert e.value.code == 422 and "'texts' is missing" in json.load(e.value)["detail"]
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            raise
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal so the exit status says so
    assert code in (0, -signal.SIGTERM), log.read_text(errors="replace")


def test_real_server_on_a_busy_port_exits_2_with_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-c", f"from tests.serve_fake import main; main({port})"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 2
    assert (
        r.stderr == f"error: port {port} on 127.0.0.1 is in use; pass --port with a free port "
        "(or stop the other server)\n"
    )
    assert r.stdout == ""


def test_real_server_thread_keeps_answering_concurrent_clients(tmp_path):
    """A few dozen concurrent loopback requests against uvicorn in this process: all answered, batched."""
    import uvicorn

    fake = FakeClassifier(delay=0.01)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(fake, max_wait_ms=5), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.02)

        def one(i: int) -> str:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/predict",
                method="POST",
                data=json.dumps({"texts": [f"광고 {i}"]}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)["results"][0]["text"]

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(one, range(64))) == [f"광고 {i}" for i in range(64)]
        assert len(fake.calls) < 64
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()


# -- hostile requests and clients (issue 21) -----------------------------------------------------


def test_a_lone_surrogate_is_422_and_the_server_goes_on(client, fake):
    r = client.post(
        "/predict", content=b'{"texts": ["ok", "\\ud800"]}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert "'texts[1]' holds an unpaired surrogate (U+D800)" in one_line(r.json()["detail"])
    assert fake.calls == []
    r = client.post("/predict", content=b'{"\\udfff": 1}', headers={"content-type": "application/json"})
    assert r.status_code == 422 and one_line(r.json()["detail"])  # not a 500
    assert client.post("/predict", json={"texts": ["a"]}).status_code == 200


def test_explain_on_a_model_that_cannot_explain_is_422():
    fake = FakeClassifier(can_explain=False)
    with TestClient(create_app(fake)) as c:
        r = c.post("/predict", json={"texts": ["a"], "explain": True})
        assert r.status_code == 422 and "cannot explain" in one_line(r.json()["detail"])
        assert fake.calls == [] and c.post("/predict", json={"texts": ["a"]}).status_code == 200


class _HtmlLabels(FakeClassifier):
    labels = ["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))"]


def test_labels_stay_out_of_the_docs_and_nothing_is_fetched_from_the_network():
    with TestClient(create_app(_HtmlLabels())) as c:
        spec = c.get("/openapi.json").json()
        assert "<img" not in json.dumps(spec) and "javascript:" not in json.dumps(spec)
        docs = c.get("/docs")
        assert docs.status_code == 200 and "<img" not in docs.text
        assert "http://" not in docs.text.replace("http://HOST:PORT", "") and "https://" not in docs.text
        assert "<script" not in docs.text and c.get("/redoc").status_code == 404


def test_a_body_larger_than_the_texts_can_need_is_413(fake):
    app = create_app(fake, max_texts=2, max_chars=10)  # 2 x (12 x 10 + 16) + 4096 bytes
    with TestClient(app) as c:
        big = json.dumps({"texts": ["a" * 5000]}).encode()
        r = c.post("/predict", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "larger than 4368 bytes" in one_line(r.json()["detail"])
        r = c.post("/predict", json={"texts": ["a" * 100]})  # long, but within the limit: cut and flagged
        assert r.status_code == 200 and r.json()["results"][0]["truncated"] is True
    assert fake.calls == [(["a" * 10], False)]


def test_head_health_and_bodies_fastapi_cannot_parse_are_answered(fake):
    with TestClient(create_app(fake, max_chars=5000)) as client:
        assert client.head("/health").status_code == 200
        for body in (b'{"texts": ["\xff"]}', b"[" * 100_000 + b"]" * 100_000):
            r = client.post("/predict", content=body, headers={"content-type": "application/json"})
            assert r.status_code == 422, r.text
            assert "not valid JSON" in one_line(r.json()["detail"])


@pytest.mark.slow
def test_a_batch_that_takes_too_long_is_503_and_health_says_stuck():
    fake = FakeClassifier(delay=1.5)
    with TestClient(create_app(fake, batch_timeout=0.2, max_wait_ms=0)) as c:
        t0 = time.monotonic()
        r = c.post("/predict", json={"texts": ["a"]})
        assert r.status_code == 503 and "did not finish this batch within 0.2 s" in r.json()["detail"]
        assert time.monotonic() - t0 < 1.2
        health = c.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "stuck"
        assert c.post("/predict", json={"texts": ["b"]}).status_code == 503  # fails fast while stuck
        time.sleep(1.5)
        assert c.get("/health").json() == {"status": "ok"}
        fake.delay = 0
        assert c.post("/predict", json={"texts": ["c"]}).status_code == 200


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(body_timeout=0), "body_timeout"),
        (dict(batch_timeout=-1), "batch_timeout"),
        (dict(max_body_bytes=0), "max_body_bytes"),
    ],
)
def test_bad_timeouts_are_config_errors(fake, kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        create_app(fake, **kwargs)


def test_an_empty_host_is_refused_and_every_interface_is_warned_about(fake, monkeypatch, caplog):
    import uvicorn

    with pytest.raises(ConfigError, match="--host must be an address"):
        serve(fake, host="", port=0)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)  # bind, then stop
    with pytest.raises(ConfigError, match="did not start"):
        serve(fake, host="0.0.0.0", port=0)
    assert "no authentication" in caplog.text


def _slow_clients(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")  # no end
        socks.append(s)
    return socks


def _closed_by_server(s: socket.socket, timeout: float) -> bool:
    s.settimeout(timeout)
    try:
        return s.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.mark.slow  # a real server process and timeouts of a few seconds
def test_slow_clients_are_timed_out_and_a_stuck_server_still_stops(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc = _start(port, log, ", delay=1000, header_timeout=1, body_timeout=1, batch_timeout=1")
    try:
        _wait_ready(proc, url, log)
        socks = _slow_clients(port, 50)
        half = socket.create_connection(("127.0.0.1", port), timeout=5)
        half.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"texts": '
        )
        assert all(_closed_by_server(s, 5) for s in socks)
        half.settimeout(5)
        assert b"408" in half.recv(4096).split(b"\r\n")[0]
        for s in [*socks, half]:
            s.close()
        with pytest.raises(urllib.error.HTTPError) as e:  # the model hangs: 503 after the batch timeout
            urllib.request.urlopen(
                urllib.request.Request(
                    url + "/predict",
                    data=b'{"texts": ["a"]}',
                    method="POST",
                    headers={"Content-Type": "application/json"},
                ),
                timeout=10,
            )
        assert e.value.code == 503
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "/health", timeout=5)
        assert e.value.code == 503 and json.load(e.value)["status"] == "stuck"
        t0 = time.monotonic()
        proc.terminate()
        code = proc.wait(timeout=20)
        assert code in (0, -signal.SIGTERM) and time.monotonic() - t0 < 15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
