"""Shared fixtures and sample builders of the test suite.

Helpers are imported explicitly (``from tests.conftest import fails_with``); fixtures (``http_dir``)
are found by pytest. Nothing here reads the shared benchmark data.
"""

from __future__ import annotations

import os

# The suite runs many tiny models: one torch thread each is fastest, and OpenMP's waiting threads must
# not spin while other work shares the cores (nlp_pp.training.threads explains why). Set before torch loads.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import functools
import http.server
import socket
import threading
from pathlib import Path

import pandas as pd
import pytest

import pipeline


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The suite's tiny models run fastest on one thread (a run sets its own: nlp_pp.training.threads)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "spam_sample.csv"  # the embedded synthetic sample

# the smallest comparison that still runs every stage: one tiny model, one epoch, nothing cached
FAST = [
    "--epochs",
    "1",
    "--fasttext-epochs",
    "1",
    "--emb-dim",
    "8",
    "--hidden",
    "8",
    "--n-jobs",
    "1",
    "--no-cache",
    "--models",
    "rnn",
    "--inits",
    "random",
    "--no-baseline",
]


def fails_with(args: list[str], capsys, *needles: str, out: Path | None = None) -> str:
    """Run the CLI, expect exit code 2 and a one-line message (the last line) containing every needle."""
    code = pipeline.main(args + (["--out", str(out)] if out is not None else []))
    err = capsys.readouterr().err
    assert code == 2, err
    # progress lines may come first; the failure itself is one line, the last
    lines = err.strip().split("\n")
    assert lines[-1].startswith("error: ") and sum("error" in line for line in lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)
    if out is not None:
        assert not out.exists() or list(out.iterdir()) == [], "a failed run must leave nothing behind"
    return err


def write_csv(
    path: Path, rows: list[tuple[str, str]], encoding: str = "utf-8", cols=("content", "class")
) -> Path:
    if any("\x00" in field for row in rows for field in row):
        # Python 3.10's csv writer (under pandas' to_csv) cannot write NUL ("need to escape"): quote by hand
        def quote(field: str) -> str:
            return '"' + field.replace('"', '""') + '"'

        lines = [",".join(quote(c) for c in cols)] + [",".join(quote(f) for f in row) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding=encoding, newline="")
        return path
    pd.DataFrame(rows, columns=list(cols)).to_csv(path, index=False, encoding=encoding)
    return path


def mixed_rows(n: int = 40) -> list[tuple[str, str]]:
    ham = ["오늘 저녁에 같이 밥 먹자", "내일 회의 몇 시야", "엄마 집에 도착했어", "주말에 영화 보러 갈래"]
    spam = [
        "[광고] 저금리 대출 상담 010-1234-5678",
        "무료 쿠폰 지급 이벤트 클릭",
        "고수익 부업 모집 연락주세요",
        "카지노 첫충 보너스 지급",
    ]
    return [(f"{ham[i % 4]} {i}", "일상대화") for i in range(n)] + [
        (f"{spam[i % 4]} {i}", "스팸문자") for i in range(n)
    ]


def one_line_error(exc_info, *needles: str) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    for n in needles:
        assert n in msg, (n, msg)
    return msg


@pytest.fixture
def http_dir(tmp_path):
    """Serve ``tmp_path`` on 127.0.0.1 (ephemeral port); yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
