"""Put the winner to work: export directories, load_classifier on them, and the HTTP service as a real
process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipeline
from nlp_pp import load_classifier
from nlp_pp.errors import RunError

pytestmark = pytest.mark.slow  # trains a tiny run first

pytest.importorskip("onnxruntime")
from tests.conftest import ROOT, SAMPLE  # noqa: E402

TEXTS = pd.read_csv(SAMPLE)["content"].tolist()[:400]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    code = pipeline.main(
        [
            "--data",
            str(SAMPLE),
            "--max-rows",
            "600",
            "--epochs",
            "2",
            "--fasttext-epochs",
            "1",
            "--emb-dim",
            "16",
            "--hidden",
            "16",
            "--models",
            "gru,lstm,wide_gru,jamo_gru",
            "--ngram-buckets",
            "4096",
            "--n-jobs",
            "1",
            "--out",
            str(out),
            "--name",
            "r",
            "--no-cache",
        ]
    )
    assert code == 0
    return out / "r"


@pytest.mark.parametrize(
    "model",
    [
        "gru-fasttext-seed0",
        "lstm-random-seed0",
        "wide_gru-fasttext-seed0",
        "jamo_gru-random-seed0",
        "tfidf_logreg",
        "ensemble",
    ],
)
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_export_agrees_with_its_run(run, tmp_path, model, fmt, capsys):
    out = tmp_path / "export"
    assert (
        pipeline.main(["export", "--run", str(run), "--model", model, "--format", fmt, "--out", str(out)])
        == 0
    )
    original, exported = (
        load_classifier(run, model=model),
        load_classifier(out, trust_torchscript=fmt == "torchscript"),
    )
    a, b = original.predict_proba(TEXTS), exported.predict_proba(TEXTS)
    assert np.abs(a - b).max() < 1e-4 and (a.argmax(1) == b.argmax(1)).all()
    assert (exported.threshold, exported.temperature, exported.labels) == (
        original.threshold,
        original.temperature,
        original.labels,
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == model and manifest["backend"] == fmt and manifest["versions"]["nlp_pp"]
    assert set(manifest["files"]) == {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    rows = {f"{r['model']}-{r['init']}-seed{r['seed']}": r for r in metrics["runs"]}
    rows.update(tfidf_logreg=metrics["baseline"], ensemble=metrics["ensemble"])
    assert manifest["source"]["metrics"]["test"]["accuracy"] == rows[model]["test"]["accuracy"]


@pytest.mark.parametrize(
    "model", ["lstm-fasttext-seed0", "wide_gru-fasttext-seed0", "jamo_gru-fasttext-seed0"]
)
def test_int8_export_runs_and_mostly_agrees(run, tmp_path, model):
    out = tmp_path / "q"
    assert (
        pipeline.main(
            ["export", "--run", str(run), "--model", model, "--quantize", "int8", "--out", str(out)]
        )
        == 0
    )
    assert list((out / "models").glob("*.int8.onnx"))
    a = load_classifier(run, model=model).predict_proba(TEXTS)
    b = load_classifier(out).predict_proba(TEXTS)
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.95 and np.abs(a - b).max() < 0.05


def test_a_changed_file_in_an_export_is_refused(run, tmp_path):
    out = tmp_path / "e"
    assert pipeline.main(["export", "--run", str(run), "--model", "gru-random-seed0", "--out", str(out)]) == 0
    vocab = out / "vocab.json"
    vocab.write_text(vocab.read_text(encoding="utf-8").replace("<UNK>", "<UNK2>", 1), encoding="utf-8")
    with pytest.raises(RunError, match="changed since the export"):
        load_classifier(out)


def test_a_torchscript_member_is_read_only_when_trusted(run, tmp_path, capsys):
    """An export's manifest cannot vouch for its own files: a .pt member (a program) needs the caller's
    consent."""
    out = tmp_path / "ts"
    assert (
        pipeline.main(
            [
                "export",
                "--run",
                str(run),
                "--model",
                "gru-random-seed0",
                "--format",
                "torchscript",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with pytest.raises(RunError, match="TorchScript program, which runs code when loaded"):
        load_classifier(out)
    assert pipeline.main(["predict", "--run", str(out), "무료 쿠폰"]) == 2
    assert "--trust-torchscript" in capsys.readouterr().err
    assert pipeline.main(["predict", "--run", str(out), "--trust-torchscript", "무료 쿠폰"]) == 0


@pytest.mark.parametrize(
    "model, change, needle",
    [
        (
            "ensemble",
            lambda m: m.update(weights=m["weights"] + [0.5]),
            "manifest.json is corrupt",
        ),  # one per member
        ("ensemble", lambda m: m.update(threshold="high"), "temperature or threshold .* out of range"),
        ("ensemble", lambda m: m.update(threshold=1.5), "temperature or threshold .* out of range"),
        ("ensemble", lambda m: m.update(temperature=0), "temperature or threshold .* out of range"),
        ("gru-random-seed0", lambda m: m["files"].pop("vocab.json"), "vocab.json without its SHA-256"),
    ],
)
def test_a_damaged_manifest_is_one_error(run, tmp_path, model, change, needle):
    out = tmp_path / "e"
    assert pipeline.main(["export", "--run", str(run), "--model", model, "--out", str(out)]) == 0
    path = out / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(RunError, match=needle):
        load_classifier(out)


def test_a_damaged_onnx_graph_is_one_error(run, tmp_path):
    import hashlib

    out = tmp_path / "e"
    assert pipeline.main(["export", "--run", str(run), "--model", "gru-random-seed0", "--out", str(out)]) == 0
    graph = next((out / "models").glob("*.onnx"))
    graph.write_bytes(b"not an onnx graph")
    path = out / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"][str(graph.relative_to(out))] = hashlib.sha256(graph.read_bytes()).hexdigest()
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(RunError, match="cannot be loaded as a model"):
        load_classifier(out)


def test_export_errors(run, tmp_path, capsys):
    (tmp_path / "exists").mkdir()
    (tmp_path / "afile").write_text("x")
    for args, needle in [
        (["--out", str(tmp_path / "exists")], "exists; choose a new directory"),
        (
            ["--out", str(tmp_path / "x"), "--format", "torchscript", "--quantize", "int8"],
            "for --format onnx only",
        ),
        (["--out", str(tmp_path / "y"), "--model", "../etc"], "is not a saved model name"),
        (["--out", str(tmp_path / "afile" / "sub")], "cannot create it"),
    ]:
        assert pipeline.main(["export", "--run", str(run), *args]) == 2
        assert needle in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".*.tmp"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize("model", ["gru-fasttext-seed0", "wide_gru-fasttext-seed0"])
def test_serve_an_export_as_a_real_process(run, tmp_path, model):
    pytest.importorskip("fastapi")
    out = tmp_path / "export"
    assert pipeline.main(["export", "--run", str(run), "--model", model, "--out", str(out)]) == 0
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "pipeline.py"),
            "serve",
            "--model-dir",
            str(out),
            "--port",
            str(port),
            "--max-texts",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if _request(f"{base}/health")[1] == {"status": "ok"}:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        status, body = _request(f"{base}/predict", {"texts": ["오늘 저녁 같이 먹자", "[광고] 무료 대출", ""]})
        assert status == 200 and len(body["results"]) == 3
        expected = load_classifier(out).predict(["오늘 저녁 같이 먹자", "[광고] 무료 대출", ""])
        for got, want in zip(body["results"], expected):
            assert got["label"] == want["label"] and got["prob"] == pytest.approx(want["prob"], abs=1e-6)
            assert got["decision"] == want["decision"]
        assert _request(f"{base}/predict", {"texts": ["a"] * 9})[0] == 413
        assert _request(f"{base}/predict", {"texts": [1]})[0] == 422
        status, meta = _request(f"{base}/metadata")
        assert status == 200 and meta["model"] == model and meta["versions"]["nlp_pp"]
        with urllib.request.urlopen(f"{base}/openapi.json", timeout=30) as resp:
            assert "/predict" in json.loads(resp.read())["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_needs_a_model_and_a_free_port(run, tmp_path, capsys):
    pytest.importorskip("fastapi")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert pipeline.main(["serve", "--run", str(run), "--port", str(port)]) == 2
        assert "is in use" in capsys.readouterr().err
    assert pipeline.main(["serve", "--model-dir", str(tmp_path / "none")]) == 2
    assert "export directory not found" in capsys.readouterr().err


def test_export_details_int8_baseline_permissions_and_log(run, tmp_path, capsys):
    import os
    import stat

    assert (
        pipeline.main(
            [
                "export",
                "--run",
                str(run),
                "--model",
                "tfidf_logreg",
                "--quantize",
                "int8",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 2
    )
    assert "has none (export it without --quantize)" in capsys.readouterr().err
    old = os.umask(0o022)
    try:
        out = tmp_path / "q"
        args = ["export", "--run", str(run), "--model", "gru-random-seed0", "--quantize", "int8"]
        assert pipeline.main([*args, "--out", str(out)]) == 0
    finally:
        os.umask(old)
    err = capsys.readouterr().err
    assert "quantised" in err and ".tmp" not in err  # the log names no temporary directory
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()} == {0o644}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["quantize"] == "int8" and manifest["source"]["run"] == run.name


def test_a_partial_run_exports_with_a_warning(run, tmp_path, capsys):
    import shutil

    partial = tmp_path / "r.partial"
    shutil.copytree(run, partial)
    args = ["export", "--run", str(partial), "--model", "gru-random-seed0", "--out", str(tmp_path / "e")]
    assert pipeline.main(args) == 0
    assert "unfinished run (.partial)" in capsys.readouterr().err


def test_an_export_carries_its_stopword_list(tmp_path, capsys):
    stop = tmp_path / "stop.txt"
    stop.write_text("광고\n무료\n", encoding="utf-8")
    args = ["--data", str(SAMPLE), "--max-rows", "200", "--epochs", "1", "--fasttext-epochs", "1"]
    args += ["--emb-dim", "8", "--hidden", "8", "--models", "gru", "--inits", "random", "--n-jobs", "1"]
    args += ["--stopwords", str(stop), "--no-baseline", "--no-ensemble", "--no-cache"]
    assert pipeline.main([*args, "--out", str(tmp_path / "runs"), "--name", "s"]) == 0
    out = tmp_path / "e"
    assert pipeline.main(["export", "--run", str(tmp_path / "runs" / "s"), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["preprocess"]["stopwords"] == "stopwords.txt" and "stopwords.txt" in manifest["files"]
    texts = ["무료 광고 쿠폰 받으세요", "오늘 저녁 같이 먹자"]
    before = load_classifier(out).predict_proba(texts)
    stop.write_text("쿠폰\n", encoding="utf-8")  # the run's file changes: the export does not
    np.testing.assert_array_equal(load_classifier(out).predict_proba(texts), before)
    stop.unlink()
    np.testing.assert_array_equal(load_classifier(out).predict_proba(texts), before)
    # the run directory carries its own copy too: the original file is gone, the run still predicts the same
    run = tmp_path / "runs" / "s"
    info = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert info["preprocess"]["stopwords"] == "stopwords.txt" and (run / "stopwords.txt").is_file()
    np.testing.assert_allclose(load_classifier(run).predict_proba(texts), before, atol=1e-5)  # eager vs ONNX
    # and never reads a list outside itself, whatever run.json says
    for outside in ("/etc/passwd", "../stop.txt", str(tmp_path / "stop.txt")):
        (run / "run.json").write_text(
            json.dumps({**info, "preprocess": {**info["preprocess"], "stopwords": outside}}), encoding="utf-8"
        )
        with pytest.raises(RunError, match="names a stopword list outside its directory"):
            load_classifier(run)
    assert pipeline.main(["serve", "--model-dir", str(tmp_path / "none")]) == 2
    assert "export directory not found" in capsys.readouterr().err
