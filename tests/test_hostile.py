"""Hostile and broken inputs (issue 13): no file runs code when loaded, a damaged cache never blocks a run,
every failure is one ``error:`` line and exit code 2, and nothing is lost."""

from __future__ import annotations

import errno
import http.server
import json
import os
import pickle
import random
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import pipeline
from nlp_pp.cache import Cache
from nlp_pp.deploy.load import load_classifier
from nlp_pp.errors import ConfigError, DataError, RunError
from nlp_pp.results import RunResult
from nlp_pp.text.load import load_dataset
from nlp_pp.text.preprocess import preprocess
from nlp_pp.text.source import read_bytes
from nlp_pp.text.tokenize import tokenize
from nlp_pp.training import dataset as prepare
from nlp_pp.training import experiment, rundir
from nlp_pp.vectors.batching import make_dataloader
from nlp_pp.vectors.vocab import Vocab
from tests.conftest import FAST, SAMPLE, fails_with, mixed_rows, write_csv

TINY = [
    "--max-rows",
    "200",
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
    "--models",
    "rnn",
]


class Exploit:
    """Unpickling this creates a marker file: proof that loading ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def crafted_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(Exploit(marker)))
    assert not marker.exists()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A finished tiny run with FastText vectors and the baseline (read-only for the tests)."""
    out = tmp_path_factory.mktemp("runs")
    code = pipeline.main(["--data", str(SAMPLE), *TINY, "--out", str(out), "--name", "r", "--no-cache"])
    assert code == 0
    return out / "r"


def copy_run(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(run, dst)
    return dst


# --- 1. nothing a run directory or the cache holds can run code ----------------------------------------


def test_resume_with_a_crafted_fasttext_file_runs_no_code(tmp_path, monkeypatch, capsys):
    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "train_one", interrupt)
    code = pipeline.main(["--data", str(SAMPLE), *TINY, "--out", str(tmp_path), "--name", "x", "--no-cache"])
    assert code == 130  # the baseline was kept, so the .partial stays for --resume
    partial = tmp_path / "x.partial"
    marker = tmp_path / "pwned"
    crafted_pickle(partial / "fasttext" / "vectors.npz", marker)
    monkeypatch.undo()
    code = pipeline.main(["--resume", str(partial)])
    err = capsys.readouterr().err
    assert code == 2 and not marker.exists()
    assert err.strip().splitlines()[-1].startswith("error: ") and "vectors.npz" in err


@pytest.mark.parametrize(
    "name", ["vocab.json", "run.json", "models/baseline.npz", "models/rnn-random-seed0.pt"]
)
@pytest.mark.slow
def test_a_crafted_file_in_a_run_directory_runs_no_code(run, tmp_path, name):
    copy = copy_run(run, tmp_path)
    marker = tmp_path / "pwned"
    crafted_pickle(copy / name, marker)
    model = "tfidf_logreg" if "baseline" in name else "rnn-random-seed0"
    with pytest.raises(RunError):
        load_classifier(copy, model=model).predict(["무료 쿠폰"])
    assert not marker.exists()


def test_a_crafted_cache_entry_runs_no_code_and_is_recomputed(tmp_path, caplog):
    cache, marker = Cache(tmp_path / "cache"), tmp_path / "pwned"
    cache.put("tokens", "k", [["a", "b"]])
    crafted_pickle(tmp_path / "cache" / "tokens" / "k.json", marker)
    assert cache.get("tokens", "k") is None and not marker.exists()
    assert "damaged" in caplog.text and not (tmp_path / "cache" / "tokens" / "k.json").exists()


# --- 2. a corrupt cache entry is discarded and recomputed ---------------------------------------------


def test_cache_fuzz_never_raises_and_never_returns_altered_tokens(tmp_path):
    cache = Cache(tmp_path)
    value = [["대ᴥ출", "상ᴥ담ᴥ"], [], ["URL", "?"], ["ㅋㅋ"]] * 5
    cache.put("tokens", "k", value)
    path = tmp_path / "tokens" / "k.json"
    good = path.read_bytes()
    rng = random.Random(0)
    for _ in range(600):
        blob = bytearray(good)
        i = rng.randrange(len(blob))
        blob[i] = (blob[i] + rng.randrange(1, 256)) % 256
        path.write_bytes(bytes(blob))
        got = cache.get("tokens", "k")  # never raises
        assert got is None or got == value
        assert got is not None or not path.exists()  # a damaged entry is deleted
    path.write_bytes(good[: len(good) // 2])
    assert cache.get("tokens", "k") is None


@pytest.mark.slow
def test_a_flipped_bit_in_the_token_cache_is_recomputed_by_the_next_run(tmp_path, capsys):
    cache = tmp_path / "cache"
    args = [
        "--data",
        str(SAMPLE),
        *TINY,
        "--inits",
        "random",
        "--no-baseline",
        "--out",
        str(tmp_path / "runs"),
        "--cache-dir",
        str(cache),
    ]
    assert pipeline.main(args) == 0
    (entry,) = (cache / "tokens").glob("*/ids.i32")  # the token arrays' directory entry
    blob = bytearray(entry.read_bytes())
    blob[len(blob) // 2] ^= 0x10
    entry.write_bytes(bytes(blob))
    capsys.readouterr()
    assert pipeline.main(args) == 0
    err = capsys.readouterr().err
    assert "damaged" in err and "recomputed" in err and "from cache" not in err


@pytest.mark.slow
def test_a_truncated_cached_fasttext_file_is_recomputed(tmp_path, capsys):
    cache = tmp_path / "cache"
    args = [
        "--data",
        str(SAMPLE),
        *TINY,
        "--no-baseline",
        "--out",
        str(tmp_path / "runs"),
        "--cache-dir",
        str(cache),
    ]
    assert pipeline.main(args) == 0
    (entry,) = (cache / "fasttext").glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:100])
    capsys.readouterr()
    assert pipeline.main(args) == 0
    err = capsys.readouterr().err
    assert "damaged" in err and "FastText: training" in err


# --- 3. every option is checked before any work starts ---------------------------------------------------


def test_a_bad_config_value_fails_before_anything_is_written(tmp_path, monkeypatch, capsys):
    def never(*a, **k):
        raise AssertionError("no data may be read before the options are checked")

    monkeypatch.setattr(prepare, "load_dataset", never)
    cfg = tmp_path / "exp.toml"
    cfg.write_text('bidirectional = "false"\nepochs = "two"\n', encoding="utf-8")
    fails_with(
        ["--config", str(cfg)], capsys, "--epochs must be an integer >= 1 (got 'two')", out=tmp_path / "runs"
    )
    fails_with(
        ["--pretrained-vectors", str(tmp_path / "none.vec")],
        capsys,
        "--pretrained-vectors: file not found",
        out=tmp_path / "runs",
    )


# --- 4. input problems are errors, not internal errors ------------------------------------------------------


@pytest.mark.parametrize("texts", [[str(i) for i in range(40)], [f"단어{i}" for i in range(40)]])
def test_texts_that_give_the_baseline_no_terms(tmp_path, capsys, texts):
    rows = [(t, "a" if i % 2 else "b") for i, t in enumerate(texts)]
    p = write_csv(tmp_path / "d.csv", rows)
    fails_with(
        ["--data", str(p), *[a for a in FAST if a != "--no-baseline"]],
        capsys,
        "the TF-IDF baseline found no",
        "--no-baseline",
        out=tmp_path / "runs",
    )


def test_the_same_column_twice(tmp_path, capsys):
    p = write_csv(tmp_path / "d.csv", mixed_rows())
    fails_with(
        ["--data", str(p), "--text-col", "content", "--label-col", "content"],
        capsys,
        "--label-col must be a different column than --text-col",
        out=tmp_path / "runs",
    )
    with pytest.raises(ConfigError, match="same column"):
        load_dataset(p, text_col="class", label_col="class")


def test_out_that_is_a_file_or_cannot_be_created(tmp_path, capsys):
    p = write_csv(tmp_path / "d.csv", mixed_rows())
    (tmp_path / "afile").write_text("x")
    fails_with(
        ["--data", str(p), *FAST, "--out", str(tmp_path / "afile")], capsys, "is a file, not a directory"
    )
    fails_with(
        ["--data", str(p), *FAST, "--out", str(tmp_path / "afile" / "sub")],
        capsys,
        "cannot create the output directory",
    )


@pytest.mark.slow
def test_dangling_symlinks_where_the_run_would_go(tmp_path, capsys):
    p = write_csv(tmp_path / "d.csv", mixed_rows())
    out = tmp_path / "runs"
    out.mkdir()
    os.symlink(tmp_path / "nowhere", out / "n")
    os.symlink(tmp_path / "nowhere2", out / "n.partial")
    assert pipeline.main(["--data", str(p), *FAST, "--out", str(out), "--name", "n"]) == 0
    assert (out / "n-2" / "metrics.json").exists() and os.path.islink(out / "n")
    os.symlink(tmp_path / "nowhere3", tmp_path / "dangling")
    fails_with(
        ["--data", str(p), *FAST, "--out", str(tmp_path / "dangling")], capsys, "dangling symbolic link"
    )


def test_disk_full_while_a_checkpoint_is_written(tmp_path, monkeypatch, capsys):
    import torch

    def full(obj, f, *a, **k):
        f.write(b"partial")
        raise RuntimeError(
            "[enforce fail at inline_container.cc:626] . PytorchStreamWriter failed writing file "
            "data/0: file write failed (No space left on device)"
        )

    monkeypatch.setattr(torch, "save", full)
    p = write_csv(tmp_path / "d.csv", mixed_rows())
    err = fails_with(
        ["--data", str(p), *FAST, "--out", str(tmp_path / "runs")], capsys, "no space left on the device"
    )
    assert ".pt" in err
    assert not list((tmp_path / "runs").rglob("*.pt")) and not list((tmp_path / "runs").rglob("*.tmp"))


def test_disk_full_anywhere_else_is_one_line(tmp_path, monkeypatch, capsys):
    from nlp_pp import report

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "report.html"))

    monkeypatch.setattr(report, "write_report", full)
    p = write_csv(tmp_path / "d.csv", mixed_rows())
    fails_with(
        ["--data", str(p), *FAST, "--out", str(tmp_path / "runs")],
        capsys,
        "no space left on the device while writing",
    )


# --- 6. a download has a total deadline ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_trickling_server_is_given_up_after_the_deadline(tmp_path, capsys):
    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100):
                try:
                    self.wfile.write(b"a")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slow.csv"
        t0 = time.monotonic()
        fails_with(
            ["--data", url, "--download-timeout", "1"],
            capsys,
            "took longer than 1 s",
            "--download-timeout",
            out=tmp_path / "runs",
        )
        assert time.monotonic() - t0 < 10
    finally:
        server.shutdown()
        server.server_close()


# --- 7. special files
# ---------------------------------------------------------------------------------------------


def test_a_device_is_not_read(tmp_path, capsys):
    fails_with(["--data", "/dev/zero"], capsys, "is not a regular file", out=tmp_path / "runs")
    with pytest.raises(DataError, match="not a regular file"):
        read_bytes("/dev/zero")


# --- 8. two runs with one name
# ------------------------------------------------------------------------------------


def test_racing_runs_get_their_own_directories_and_clean_only_their_own(tmp_path):
    barrier = threading.Barrier(8)
    made: list[rundir.RunDir] = []

    def create():
        barrier.wait()
        made.append(rundir.RunDir.create(tmp_path, "same", {"k": 1}))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.work for r in made}) == 8
    loser, winner = made[0], made[1]
    winner.save_result(RunResult(model="rnn", init="random", seed=0))
    assert loser.discard_if_empty() and not loser.work.exists()
    assert winner.work.exists() and not winner.discard_if_empty()
    resumed, _ = rundir.RunDir.resume(winner.work)
    assert not resumed.discard_if_empty() and winner.work.exists()  # a resumed run deletes nothing


# --- 9. predict cross-checks the files of a run
# ---------------------------------------------------------------


@pytest.mark.slow
def test_a_vocabulary_larger_than_the_model(run, tmp_path):
    copy = copy_run(run, tmp_path)
    v = json.loads((copy / "vocab.json").read_text(encoding="utf-8"))
    v["itos"] += ["extra1", "extra2"]
    (copy / "vocab.json").write_text(json.dumps(v), encoding="utf-8")
    with pytest.raises(RunError, match="do not belong together"):
        load_classifier(copy, model="rnn-random-seed0")


@pytest.mark.slow
def test_fewer_labels_than_the_model_outputs(run, tmp_path):
    copy = copy_run(run, tmp_path)
    info = json.loads((copy / "run.json").read_text(encoding="utf-8"))
    info["labels"], info["positive_label"] = ["a", "b", "c"], None
    (copy / "run.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(RunError, match=r"predicts 2 classes but run\.json lists 3"):
        load_classifier(copy, model="rnn-random-seed0")


@pytest.mark.slow
def test_nan_weights_are_refused_and_json_stays_strict(run, tmp_path, capsys):
    import torch

    copy = copy_run(run, tmp_path)
    path = copy / "models" / "rnn-random-seed0.pt"
    ckpt = torch.load(path, weights_only=True)
    ckpt["model"]["state_dict"]["head.1.weight"].fill_(float("nan"))
    torch.save(ckpt, path)
    code = pipeline.main(["predict", "--run", str(copy), "--model", "rnn-random-seed0", "--json", "안녕"])
    err = capsys.readouterr().err
    assert code == 2 and "NaN or infinite weights" in err


@pytest.mark.slow
@pytest.mark.parametrize("model", ["../../etc/passwd", "/abs/path", "rnn-random-seed0/../x", "x.pt"])
def test_a_model_name_outside_the_run_is_refused(run, model, capsys):
    code = pipeline.main(["predict", "--run", str(run), "--model", model, "안녕"])
    assert code == 2 and "is not a saved model name" in capsys.readouterr().err


@pytest.mark.slow
def test_metrics_naming_a_path_outside_the_run_is_refused(run, tmp_path):
    copy = copy_run(run, tmp_path)
    m = json.loads((copy / "metrics.json").read_text(encoding="utf-8"))
    for r in m["runs"]:
        r["model"], r["val"]["macro_f1"] = "../../evil", 1.0
    (copy / "metrics.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(RunError, match="is not a saved model name"):
        load_classifier(copy)


# --- 10. library calls refuse garbage
# --------------------------------------------------------------------------


@pytest.mark.parametrize("call", [lambda x: preprocess(x), lambda x: tokenize(x), lambda x: Vocab.build(x)])
def test_a_bare_string_is_not_a_list_of_documents(call):
    with pytest.raises(TypeError, match="not one str"):
        call("대출 상담")


def test_make_dataloader_refuses_float_labels_and_negative_ids():
    with pytest.raises(ConfigError, match=r"non-integer values such as \[0\.5\]"):
        make_dataloader([[1, 2], [3]], [0, 0.5])
    with pytest.raises(ValueError, match="negative id"):
        make_dataloader([[1, -2], [3]], [0, 1])
    assert make_dataloader([[1, 2], [3]], np.array([0.0, 1.0]), shuffle=False).dataset.labels.tolist() == [
        0,
        1,
    ]


# --- 11. small things a user notices
# -----------------------------------------------------------------------------


def test_interrupt_message_counts_model_runs_not_the_baseline(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    real = experiment.train_one

    def second(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(experiment, "train_one", second)
    code = pipeline.main(["--data", str(SAMPLE), *TINY, "--out", str(tmp_path), "--name", "i", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 130 and "interrupted: 1 finished model run(s) kept" in err


@pytest.mark.slow
def test_predict_table_keeps_one_line_per_text(run, capsys):
    code = pipeline.main(["predict", "--run", str(run), "첫 줄\n둘째 줄\t탭", "하나"])
    lines = capsys.readouterr().out.strip("\n").split("\n")
    assert code == 0 and len(lines) == 2 and lines[0].endswith("\t첫 줄 둘째 줄 탭")


def test_class_size_error_names_the_files_counts_under_max_rows(tmp_path, capsys):
    rows = mixed_rows(200) + [
        ("희귀한 메시지 하나", "기타"),
        ("희귀한 메시지 둘", "기타"),
        ("희귀 셋", "기타"),
    ]
    p = write_csv(tmp_path / "d.csv", rows)
    fails_with(
        ["--data", str(p), "--max-rows", "150"],
        capsys,
        "'기타' has 1 row;",
        "the 150-row sample (--max-rows)",
        "'기타' 3",
        out=tmp_path / "runs",
    )


# --- 12. issue 21: vectors files with impossible numbers --------------------------------------------------


def _vec(path: Path, rows: list[str], header: str | None = None) -> Path:
    dim = len(rows[0].split()) - 1
    path.write_text((header or f"{len(rows)} {dim}") + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_pretrained_vectors_with_nan_or_inf_are_refused_when_read(tmp_path, bad):
    from nlp_pp.vectors.fasttext import load_pretrained_vectors

    path = _vec(tmp_path / "v.vec", ["대출 0.1 0.2", f"상담 0.3 {bad}"])
    with pytest.raises(DataError, match="NaN or infinite"):
        load_pretrained_vectors(path)


def test_an_npz_vectors_file_with_nan_is_refused(tmp_path):
    from gensim.models import KeyedVectors

    from nlp_pp.vectors.storage import load_vectors, save_vectors

    kv = KeyedVectors(2)
    kv.add_vectors(["대출", "상담"], np.array([[0.1, 0.2], [np.nan, 0.1]], dtype=np.float32))
    save_vectors(kv, tmp_path / "v.npz")
    with pytest.raises(RunError, match=r"NaN or infinite values \(first in row 1\)"):
        load_vectors(tmp_path / "v.npz")


def test_a_vec_header_promising_more_than_the_file_holds_is_refused_at_once(tmp_path):
    import resource

    from nlp_pp.vectors.fasttext import load_pretrained_vectors

    path = _vec(tmp_path / "v.vec", ["대출 0.1 0.2"], header="100000000 100")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataError, match="the header promises 100000000 words of dimension 100"):
        load_pretrained_vectors(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: nothing allocated


def test_nan_pretrained_vectors_are_one_error_line(tmp_path, capsys):
    path = _vec(tmp_path / "v.vec", ["대출 0.1 nan", "상담 0.3 0.4"])
    fails_with(
        ["--data", str(SAMPLE), *TINY, "--pretrained-vectors", str(path), "--emb-dim", "2"],
        capsys,
        "NaN or infinite",
        out=tmp_path / "runs",
    )


def test_vocab_from_vectors_max_must_be_a_count(tmp_path, capsys):
    fails_with(
        ["--data", str(SAMPLE), "--vocab-from-vectors-max", "-1"],
        capsys,
        "--vocab-from-vectors-max must be an integer >= 0",
        out=tmp_path / "runs",
    )


@pytest.mark.slow  # a whole (tiny) run
def test_vocab_from_vectors_adds_the_most_frequent_words_up_to_the_cap(tmp_path, capsys):
    words = [f"단어{i}" for i in range(50)]
    rows = [f"{w} " + " ".join(f"{(i * 7 + k) % 10 / 10:.1f}" for k in range(8)) for i, w in enumerate(words)]
    path = _vec(tmp_path / "v.vec", rows)
    args = ["--data", str(SAMPLE), *TINY, "--pretrained-vectors", str(path), "--emb-dim", "8"]
    args += ["--vocab-from-vectors", "--freeze-embedding", "--vocab-from-vectors-max", "5", "--no-cache"]
    assert pipeline.main([*args, "--out", str(tmp_path / "runs"), "--name", "v"]) == 0
    assert "5 words of the vectors added, 45 left out (--vocab-from-vectors-max 5)" in capsys.readouterr().err
    vocab = Vocab.load(tmp_path / "runs" / "v" / "vocab.json")
    assert vocab.itos[vocab.training_size :] == words[:5]  # the vectors' first (most frequent) words


def test_a_deeply_nested_run_json_is_one_error_line(tmp_path, capsys):
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    fails_with(["predict", "--run", str(run), "안녕"], capsys, "nested too deeply")
