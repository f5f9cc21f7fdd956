"""Every bad input or option: one line on stderr, exit code 2, nothing written (issue: every failure
explained)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import pipeline
from tests.conftest import FAST, ROOT, SAMPLE, fails_with, mixed_rows, write_csv  # noqa: F401


def test_missing_file(tmp_path, capsys):
    fails_with(["--data", str(tmp_path / "nope.csv")], capsys, "file not found", out=tmp_path / "runs")


def test_directory_instead_of_file(tmp_path, capsys):
    fails_with(["--data", str(tmp_path)], capsys, "is a directory", out=tmp_path / "runs")


def test_unreachable_url(tmp_path, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fails_with(
        ["--data", f"http://127.0.0.1:{port}/spam.csv"], capsys, "cannot download", out=tmp_path / "runs"
    )


def test_binary_junk(tmp_path, capsys):
    p = tmp_path / "junk.csv"
    p.write_bytes(bytes(range(256)) * 10)
    fails_with(["--data", str(p)], capsys, "binary", out=tmp_path / "runs")


def test_undecodable_encoding(tmp_path, capsys):
    p = tmp_path / "utf16.csv"
    p.write_text("content,class\n안녕,일상대화\n", encoding="utf-16-be")
    fails_with(["--data", str(p)], capsys, "is UTF-16 encoded", out=tmp_path / "runs")
    p2 = tmp_path / "latin.csv"
    p2.write_bytes("content,class\n\xff\xfe\xfa,x\n".encode("latin-1"))
    fails_with(["--data", str(p2), "--encoding", "utf-8"], capsys, "cannot decode", out=tmp_path / "runs")


def test_empty_file(tmp_path, capsys):
    p = tmp_path / "empty.csv"
    p.write_text("")
    fails_with(["--data", str(p)], capsys, "empty", out=tmp_path / "runs")


def test_header_only(tmp_path, capsys):
    p = tmp_path / "header.csv"
    p.write_text("content,class\n", encoding="utf-8")
    fails_with(["--data", str(p)], capsys, "no data rows", out=tmp_path / "runs")


def test_missing_columns_are_listed(tmp_path, capsys):
    p = write_csv(tmp_path / "cols.csv", mixed_rows(5), cols=("message", "label"))
    fails_with(
        ["--data", str(p)],
        capsys,
        "'content'",
        "'class'",
        "message, label",
        "--text-col",
        out=tmp_path / "runs",
    )
    fails_with(["--data", str(p), "--text-col", "message"], capsys, "'class'", out=tmp_path / "runs")


def test_all_texts_empty_after_cleaning(tmp_path, capsys):
    rows = [("😀😀 ♥♥ .", "일상대화") for _ in range(20)] + [("🎉🎉 ☆ ;", "스팸문자") for _ in range(20)]
    rows = [(t + " " * i, c) for i, (t, c) in enumerate(rows)]  # distinct texts, same content
    p = write_csv(tmp_path / "emoji.csv", rows)
    fails_with(["--data", str(p), *FAST], capsys, "empty after cleaning", out=tmp_path / "runs")


def test_only_one_class(tmp_path, capsys):
    p = write_csv(tmp_path / "one.csv", [(f"메시지 {i}", "일상대화") for i in range(30)])
    fails_with(["--data", str(p)], capsys, "only one class", "일상대화", out=tmp_path / "runs")


def test_class_too_small(tmp_path, capsys):
    p = write_csv(tmp_path / "small.csv", mixed_rows(20) + [("이상한 메시지", "기타")])
    fails_with(["--data", str(p)], capsys, "'기타' has 1 row", out=tmp_path / "runs")


def test_positive_label_with_too_many_labels(tmp_path, capsys):
    rows = mixed_rows(20) + [(f"질문 있어요 {i}", "문의") for i in range(20)]
    p = write_csv(tmp_path / "three.csv", rows)
    fails_with(
        ["--data", str(p), "--positive-label", "스팸문자", *FAST],
        capsys,
        "exactly two labels",
        "3",
        out=tmp_path / "runs",
    )
    fails_with(
        ["--data", str(p), "--positive-label", "광고", *FAST],
        capsys,
        "not among the labels",
        out=tmp_path / "runs",
    )


def test_test_data_with_unknown_labels(tmp_path, capsys):
    train = write_csv(tmp_path / "train.csv", mixed_rows(20))
    test = write_csv(tmp_path / "test.csv", [("새로운 메시지", "기타"), ("또 다른 메시지", "일상대화")])
    fails_with(
        ["--data", str(train), "--test-data", str(test), *FAST],
        capsys,
        "not in the training data",
        "기타",
        out=tmp_path / "runs",
    )


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--epochs", "0"], "--epochs"),
        (
            ["--models", "lstm,transformer"],
            "--models must be a comma-separated list of values from rnn, lstm, gru, "
            "cnn, hybrid, avg, wide_gru, jamo_gru (or all), each at most once, not empty (got ('lstm', "
            "'transformer'): unknown value 'transformer')",
        ),
        (["--models", ""], "(got (): it is empty)"),
        (["--inits", "glove"], "--inits must be a comma-separated list of values from random, fasttext"),
        (
            ["--seeds", "a,b"],
            "--seeds must be a comma-separated list of values that are each an integer >= 0",
        ),
        (["--bidirectional", "maybe"], "unrecognized arguments: maybe"),
        (["--lr", "-1"], "--lr"),
        (["--lr-decay", "0"], "--lr-decay"),
        (["--monitor", "f1"], "--monitor"),
        (["--dropout", "1.5"], "--dropout"),
        (["--batch-size", "0"], "--batch-size"),
        (["--device", "cuda:0"], "CUDA is not available"),
        (["--device", "tpu"], "device"),
        (["--max-rows", "3"], "--max-rows"),
        (["--val-size", "0.9", "--test-size", "0.5"], "--val-size"),
        (["--stopwords", "/no/such/list.txt"], "stopword file not found"),
        (["--config", "/no/such/file.toml"], "config file not found"),
    ],
)
def test_invalid_options(args, needle, tmp_path, capsys):
    if needle == "CUDA is not available":
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
    fails_with(["--data", str(SAMPLE), *args], capsys, needle, out=tmp_path / "runs")


@pytest.mark.slow
def test_odd_texts_run(tmp_path, capsys):
    """Numbers, emoji-only, control characters and a 1 MB message: no error, the long one truncated."""
    rows = mixed_rows(60)
    rows += [
        ("1234567890", "일상대화"),
        ("😀😀😀", "일상대화"),
        ("제어\x00\x07문자\x1b 포함", "스팸문자"),
        ("대출 " * 350_000, "스팸문자"),
    ]
    p = write_csv(tmp_path / "odd.csv", rows)
    code = pipeline.main(["--data", str(p), *FAST, "--out", str(tmp_path / "runs"), "--name", "odd"])
    err = capsys.readouterr().err
    assert code == 0, err
    m = json.loads((tmp_path / "runs" / "odd" / "metrics.json").read_text(encoding="utf-8"))
    assert m["dataset"]["rows"] == len(rows)
    assert m["dataset"]["lengths"]["max"] <= 5000  # the 1 MB message was truncated before MeCab


def test_predict_missing_or_corrupt_run(tmp_path, capsys):
    fails_with(["predict", "--run", str(tmp_path / "nope"), "안녕"], capsys, "run directory not found")
    bad = tmp_path / "bad"
    bad.mkdir()
    fails_with(["predict", "--run", str(bad), "안녕"], capsys, "not an nlp_pp run directory")
    (bad / "run.json").write_text("{not json")
    fails_with(["predict", "--run", str(bad), "안녕"], capsys, "corrupt")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    code = pipeline.main(
        ["--data", str(SAMPLE), "--max-rows", "200", *FAST, "--out", str(out), "--name", "r"]
    )
    assert code == 0
    return out / "r"


@pytest.mark.slow  # uses a whole (tiny) run
def test_predict_csv_without_the_text_column(small_run: Path, tmp_path, capsys):
    csv = tmp_path / "new.csv"
    csv.write_text("id,message\n1,안녕\n", encoding="utf-8")
    fails_with(
        ["predict", "--run", str(small_run), "--csv", str(csv)],
        capsys,
        "column 'content' not found",
        "id, message",
        "--text-col",
    )


@pytest.mark.slow  # uses a whole (tiny) run
def test_predict_incompatible_or_corrupt_model(small_run: Path, tmp_path, capsys):
    import shutil

    import torch

    run = tmp_path / "copy"
    shutil.copytree(small_run, run)
    ckpt_path = run / "models" / "rnn-random-seed0.pt"
    ckpt = torch.load(ckpt_path, weights_only=True)
    ckpt["format"] = "nlp_pp.checkpoint/0"
    torch.save(ckpt, ckpt_path)
    fails_with(["predict", "--run", str(run), "안녕"], capsys, "incompatible", "retrain")
    ckpt["format"] = "nlp_pp.checkpoint/1"
    ckpt["model"]["config"]["hidden"] = 999  # weights no longer fit the architecture
    torch.save(ckpt, ckpt_path)
    fails_with(["predict", "--run", str(run), "안녕"], capsys, "does not fit")
    ckpt_path.write_bytes(b"garbage")
    fails_with(["predict", "--run", str(run), "안녕"], capsys, "corrupt or incompatible")
    fails_with(
        ["predict", "--run", str(run), "--model", "lstm-random-seed9", "안녕"], capsys, "no saved model"
    )


@pytest.mark.slow  # uses a whole (tiny) run
def test_resume_errors(small_run: Path, tmp_path, capsys):
    fails_with(["--resume", str(tmp_path / "nope")], capsys, "no such run directory")
    fails_with(["--resume", str(small_run)], capsys, "finished run")


def test_resume_with_other_options_is_refused(tmp_path, capsys):
    fails_with(["--resume", str(tmp_path), "--epochs", "3"], capsys, "saved options")


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-le", "utf-32-be"])
def test_utf32_is_called_utf32(tmp_path, capsys, encoding):
    p = tmp_path / "u.csv"
    p.write_text("content,class\n안녕하세요 반가워요,일상대화\nhello there,스팸문자\n", encoding=encoding)
    fails_with(["--data", str(p)], capsys, "is UTF-32 encoded", out=tmp_path / "runs")
