"""End-to-end tests of pipeline.py: runs, predict, metrics.json, report, resume, reproducibility, cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import pipeline
from nlp_pp.training import dataset as prepare
from nlp_pp.training import experiment
from nlp_pp.vectors import tokenstore

pytestmark = pytest.mark.slow  # end-to-end runs of the pipeline

from tests.conftest import ROOT, SAMPLE  # noqa: E402

TINY = [
    "--max-rows",
    "300",
    "--epochs",
    "1",
    "--fasttext-epochs",
    "1",
    "--emb-dim",
    "16",
    "--hidden",
    "16",
    "--batch-size",
    "32",
    "--n-jobs",
    "1",
]


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = pipeline.main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """One tiny comparison: rnn + gru, both inits (shared by the read-only tests below)."""
    out = tmp_path_factory.mktemp("runs")
    cache = tmp_path_factory.mktemp("cache")
    code = pipeline.main(
        [
            "--data",
            str(SAMPLE),
            *TINY,
            "--epochs",
            "3",
            "--patience",
            "3",
            "--models",
            "rnn,gru",
            "--out",
            str(out),
            "--name",
            "tiny",
            "--cache-dir",
            str(cache),
        ]
    )
    assert code == 0
    return out / "tiny"


def test_run_writes_every_output(finished_run: Path):
    names = {p.name for p in finished_run.iterdir()}
    assert {
        "metrics.json",
        "history.csv",
        "report.html",
        "report.md",
        "plots",
        "config.json",
        "run.json",
        "vocab.json",
        "fasttext",
        "models",
        "results",
    } <= names
    assert not list(finished_run.parent.glob("*.partial"))
    assert sorted(p.name for p in (finished_run / "models").glob("*.pt")) == [
        "gru-fasttext-seed0.pt",
        "gru-random-seed0.pt",
        "rnn-fasttext-seed0.pt",
        "rnn-random-seed0.pt",
    ]


def test_metrics_json_schema(finished_run: Path):
    m = json.loads((finished_run / "metrics.json").read_text(encoding="utf-8"))
    assert m["dataset"]["rows"] == 300
    assert m["dataset"]["labels"] == ["스팸문자", "일상대화"]
    assert m["dataset"]["positive_label"] == "스팸문자"
    assert len(m["dataset"]["sha256"]) == 64
    assert {"train", "val", "test"} <= set(m["dataset"]["split"])
    assert [(r["model"], r["init"], r["seed"]) for r in m["runs"]] == [
        ("rnn", "random", 0),
        ("rnn", "fasttext", 0),
        ("gru", "random", 0),
        ("gru", "fasttext", 0),
    ]
    for r in m["runs"]:
        # the weights of the epoch with the lowest validation loss were restored and scored
        val_losses = [h["val_loss"] for h in r["history"]]
        assert r["epochs_run"] == len(r["history"]) == 3
        assert r["best_epoch"] == 1 + val_losses.index(min(val_losses)) and r["train_seconds"] > 0
        assert r["val"]["loss"] == pytest.approx(min(val_losses), rel=1e-3)
        assert 0 <= r["val"]["accuracy"] <= 1
        for key in ("accuracy", "macro_f1", "precision", "recall", "roc_auc"):
            assert 0 <= r["test"][key] <= 1
        cm = r["test"]["confusion_matrix"]
        assert sum(map(sum, cm)) == m["dataset"]["split"]["test"]
    assert m["baseline"]["name"] == "tfidf_logreg" and 0.5 < m["baseline"]["test"]["accuracy"] <= 1
    assert m["config"]["models"] == ["rnn", "gru"]
    assert m["versions"]["torch"] and m["device"] == "cpu"
    assert m["fasttext"]["source"] == "trained" and m["fasttext"]["words_trained"] > 0
    # the thread settings the run applied (nlp_pp.training.threads), not a bare count
    from nlp_pp.training.threads import decide_threads

    threads = m["threads"]
    assert (threads["intra_op"], threads["source"]) == decide_threads("auto")
    assert threads["inter_op"] >= 1 and threads["cores"] >= 1
    fields = {"intra_op", "inter_op", "omp_wait_policy", "omp_env", "source", "cores", "adaptive"}
    assert set(threads) == fields


def test_metrics_json_validates_against_the_shipped_schema_and_reads_back_typed(finished_run: Path):
    jsonschema = pytest.importorskip("jsonschema")
    from nlp_pp.results import Metrics
    from nlp_pp.schemas import metrics_schema

    raw = json.loads((finished_run / "metrics.json").read_text(encoding="utf-8"))
    jsonschema.validate(raw, metrics_schema())
    metrics = experiment.load_metrics(finished_run)
    assert isinstance(metrics, Metrics) and metrics.schema_version == 2
    assert metrics.to_dict() == raw  # nothing is lost or changed by reading it
    assert metrics.runs[0].threshold.flagged >= metrics.runs[0].threshold.true_positives > 0


def test_history_csv(finished_run: Path):
    h = pd.read_csv(finished_run / "history.csv")
    assert list(h.columns) == [
        "model",
        "init",
        "seed",
        "epoch",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "val_f1",
        "lr",
        "seconds",
    ]
    assert len(h) == 12 and list(h["epoch"]) == [1, 2, 3] * 4


def test_report_files(finished_run: Path):
    html = (finished_run / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "<script src" not in html
    assert "스팸문자" in html and "tfidf_logreg" in html
    md = (finished_run / "report.md").read_text(encoding="utf-8")
    assert "gru" in md and "FastText" in md
    assert "intra-op" in md  # the reproducibility table names the thread settings
    assert list((finished_run / "plots").glob("*.png"))


def test_predict_cli(finished_run: Path, capsys):
    code, out, err = run_cli(["predict", "--run", str(finished_run), "오늘 저녁에 같이 밥 먹자", ""], capsys)
    assert code == 0, err
    lines = out.strip("\n").split("\n")
    assert len(lines) == 2
    for line in lines:
        label, prob, _ = line.split("\t")
        assert label in ("스팸문자", "일상대화") and 0.5 <= float(prob) <= 1.0


def test_predict_json_and_model_choice(finished_run: Path, capsys):
    code, out, _ = run_cli(
        [
            "predict",
            "--run",
            str(finished_run),
            "--model",
            "rnn-random-seed0",
            "--json",
            "[광고] 저금리 대출 010-1234-5678",
        ],
        capsys,
    )
    assert code == 0
    row = json.loads(out)
    assert row["label"] in ("스팸문자", "일상대화") and row["text"].startswith("[광고]")


def test_predict_reads_a_cp949_csv(finished_run: Path, tmp_path, capsys):
    csv = tmp_path / "new.csv"
    csv.write_bytes(
        "id,message\n1,오늘 저녁에 같이 밥 먹자\n2,[광고] 무료 쿠폰 받으세요\n3,\n".encode("cp949")
    )
    code, out, err = run_cli(
        ["predict", "--run", str(finished_run), "--csv", str(csv), "--text-col", "message", "--json"], capsys
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.strip().split("\n")]
    assert [r["text"] for r in rows] == ["오늘 저녁에 같이 밥 먹자", "[광고] 무료 쿠폰 받으세요", ""]


def test_predict_reads_stdin(finished_run: Path, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("안녕 잘 지내?\n무료 쿠폰 받으세요\n"))
    code, out, _ = run_cli(["predict", "--run", str(finished_run)], capsys)
    assert code == 0 and len(out.strip().split("\n")) == 2


@pytest.mark.parametrize("encoding", ["utf-8", "cp949"])
def test_predict_reads_stdin_bytes_in_either_encoding(finished_run: Path, monkeypatch, capsys, encoding):
    import io

    raw = "안녕 잘 지내?\r\n무료 쿠폰 받으세요\n".encode(encoding)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    code, out, _ = run_cli(["predict", "--run", str(finished_run), "--json"], capsys)
    assert code == 0 and [json.loads(x)["text"] for x in out.strip().split("\n")] == [
        "안녕 잘 지내?",
        "무료 쿠폰 받으세요",
    ]


def test_predict_refuses_undecodable_stdin(finished_run: Path, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe\xfd\x80\x81 spam\n" * 3)))
    code, _, err = run_cli(["predict", "--run", str(finished_run)], capsys)
    assert code == 2 and err.startswith("error: standard input") and "Traceback" not in err


def test_existing_run_is_never_overwritten(finished_run: Path, tmp_path, capsys):
    before = (finished_run / "metrics.json").read_bytes()
    code, _, err = run_cli(
        [
            "--data",
            str(SAMPLE),
            *TINY,
            "--models",
            "rnn",
            "--inits",
            "random",
            "--out",
            str(finished_run.parent),
            "--name",
            "tiny",
            "--no-cache",
        ],
        capsys,
    )
    assert code == 0, err
    assert (finished_run / "metrics.json").read_bytes() == before
    assert (finished_run.parent / "tiny-2" / "metrics.json").exists()


def _strip_timings(m: dict) -> dict:
    m = json.loads(json.dumps(m))
    for key in ("created", "name", "timings"):
        m.pop(key, None)
    m["config"].pop("name")  # the run directory's name, chosen by the test
    for r in m["runs"]:
        r.pop("train_seconds")
        for h in r["history"]:
            h.pop("seconds")
    if m.get("baseline"):
        m["baseline"].pop("train_seconds")
    return m


def test_same_inputs_give_identical_metrics(tmp_path, capsys):
    """With a fixed thread count (auto adapts to the load, so float sums may run in another order)."""
    args = [
        "--data",
        str(SAMPLE),
        *TINY,
        "--threads",
        "1",
        "--epochs",
        "2",
        "--models",
        "lstm",
        "--out",
        str(tmp_path),
        "--no-cache",
    ]
    assert run_cli([*args, "--name", "a"], capsys)[0] == 0
    assert run_cli([*args, "--name", "b"], capsys)[0] == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "b" / "metrics.json").read_text(encoding="utf-8"))
    assert _strip_timings(a) == _strip_timings(b)


def test_interrupt_keeps_finished_runs_and_resume_completes(tmp_path, monkeypatch, capsys):
    real = experiment.train_one
    calls = {"n": 0}

    def interrupt_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(experiment, "train_one", interrupt_on_second)
    code, _, err = run_cli(
        [
            "--data",
            str(SAMPLE),
            *TINY,
            "--models",
            "rnn,gru",
            "--out",
            str(tmp_path),
            "--name",
            "cut",
            "--no-cache",
        ],
        capsys,
    )
    assert code == 130
    partial = tmp_path / "cut.partial"
    assert "--resume" in err and str(partial) in err
    assert not (tmp_path / "cut").exists()
    assert not (partial / "report.html").exists() and not (partial / "metrics.json").exists()
    kept = partial / "results" / "rnn-random-seed0.json"
    first = kept.read_bytes()

    monkeypatch.setattr(experiment, "train_one", real)
    code, _, err = run_cli(["--resume", str(partial)], capsys)
    assert code == 0, err
    done = tmp_path / "cut"
    assert not partial.exists() and (done / "report.html").exists()
    assert (done / "results" / "rnn-random-seed0.json").read_bytes() == first
    m = json.loads((done / "metrics.json").read_text(encoding="utf-8"))
    assert len(m["runs"]) == 4
    assert "kept from the earlier attempt" in err


def test_resume_reads_an_option_missing_from_an_older_config_as_the_value_it_had_then(
    tmp_path, monkeypatch, capsys
):
    real = experiment.train_one

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "train_one", interrupt)
    code, _, _ = run_cli(
        [
            "--data",
            str(SAMPLE),
            *TINY,
            "--models",
            "rnn",
            "--inits",
            "random",
            "--out",
            str(tmp_path),
            "--name",
            "old",
            "--no-cache",
        ],
        capsys,
    )
    assert code == 130
    partial = tmp_path / "old.partial"
    saved = json.loads((partial / "config.json").read_text(encoding="utf-8"))
    assert saved["experiment"]["preprocess"]["keep_punct"] is True  # today's default
    del saved["experiment"]["preprocess"]["keep_punct"]  # as written before the option existed
    (partial / "config.json").write_text(json.dumps(saved), encoding="utf-8")

    monkeypatch.setattr(experiment, "train_one", real)
    code, _, err = run_cli(["--resume", str(partial)], capsys)
    assert code == 0, err
    m = json.loads((tmp_path / "old" / "metrics.json").read_text(encoding="utf-8"))
    assert m["config"]["preprocess"]["keep_punct"] is False


def test_failure_before_any_result_leaves_nothing(tmp_path, monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(experiment, "train_one", boom)
    code, _, err = run_cli(
        [
            "--data",
            str(SAMPLE),
            *TINY,
            "--models",
            "rnn",
            "--out",
            str(tmp_path),
            "--name",
            "x",
            "--no-cache",
            "--no-baseline",
        ],
        capsys,
    )
    assert code == 1 and "internal error" in err
    assert list(tmp_path.iterdir()) == []


def test_cache_skips_preprocessing_and_fasttext(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    args = [
        "--data",
        str(SAMPLE),
        *TINY,
        "--models",
        "rnn",
        "--out",
        str(tmp_path / "runs"),
        "--cache-dir",
        str(cache),
        "--no-baseline",
    ]
    assert run_cli(args, capsys)[0] == 0
    assert list((cache / "tokens").glob("*/ids.i32")) and list((cache / "fasttext").glob("*.npz"))

    def fail(*a, **k):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(tokenstore, "build_token_arrays", fail)
    monkeypatch.setattr(prepare, "train_fasttext", fail)
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "from cache" in err
    # a changed preprocessing option misses the cache
    code, _, err = run_cli([*args, "--no-placeholders"], capsys)
    assert code == 1 and "should have come from the cache" in err


def test_config_file_and_cli_override(tmp_path, capsys):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(
        'models = "rnn"\ninits = ["random"]\nepochs = 1\nhidden = 16\nemb-dim = 16\n'
        "max_rows = 300\nfasttext_epochs = 1\nn_jobs = 1\nbaseline = false\n",
        encoding="utf-8",
    )
    code, _, err = run_cli(
        [
            "--config",
            str(cfg),
            "--data",
            str(SAMPLE),
            "--hidden",
            "8",
            "--out",
            str(tmp_path),
            "--name",
            "c",
            "--no-cache",
        ],
        capsys,
    )
    assert code == 0, err
    m = json.loads((tmp_path / "c" / "metrics.json").read_text(encoding="utf-8"))
    assert m["config"]["models"] == ["rnn"] and m["config"]["hidden"] == 8 and m["config"]["epochs"] == 1
    assert m["baseline"] is None

    yml = tmp_path / "exp.yaml"
    yml.write_text("models: [gru]\ninits: random\nepochs: 1\nmax_rows: 300\nbogus: 1\n", encoding="utf-8")
    code, _, err = run_cli(["--config", str(yml), "--out", str(tmp_path)], capsys)
    assert code == 2 and "bogus" in err


def test_fixed_test_file(tmp_path, capsys):
    df = pd.read_csv(SAMPLE)
    df.iloc[:300].to_csv(tmp_path / "train.csv", index=False)
    # 20 of the 100 test texts are also in the training file: warned about and counted
    df.iloc[280:380].to_csv(tmp_path / "test.csv", index=False, encoding="cp949", errors="replace")
    code, _, err = run_cli(
        [
            "--data",
            str(tmp_path / "train.csv"),
            "--test-data",
            str(tmp_path / "test.csv"),
            *TINY,
            "--models",
            "gru",
            "--inits",
            "random",
            "--out",
            str(tmp_path / "runs"),
            "--name",
            "t",
            "--no-cache",
            "--no-baseline",
        ],
        capsys,
    )
    assert code == 0, err
    m = json.loads((tmp_path / "runs" / "t" / "metrics.json").read_text(encoding="utf-8"))
    assert m["dataset"]["split"]["test"] == 100 and m["dataset"]["split"]["test_source"].startswith("file:")
    assert m["dataset"]["test_file"]["encoding"] == "cp949"
    assert m["dataset"]["test_overlap"] == {"texts": 100, "in_training_file": 20}
    assert "warning: 20 of the 100 --test-data texts also occur in --data" in err
    report = (tmp_path / "runs" / "t" / "report.md").read_text(encoding="utf-8")
    assert "20 of the 100 test texts also occur in the training file" in report


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        pipeline.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in (
        "--data",
        "--test-data",
        "--text-col",
        "--label-col",
        "--models",
        "--inits",
        "--epochs",
        "--batch-size",
        "--lr",
        "--hidden",
        "--emb-dim",
        "--seeds",
        "--max-rows",
        "--device",
        "--out",
        "--config",
        "--resume",
        "--no-cache",
        "--layers",
        "--bidirectional",
    ):
        assert opt in out


def test_cli_subprocess_bad_input_has_no_traceback(tmp_path):
    r = subprocess.run(
        [sys.executable, str(ROOT / "pipeline.py"), "--data", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "file not found" in r.stderr


def test_other_model_families_run_in_the_same_comparison(tmp_path, capsys):
    code, _, err = run_cli(
        [
            "--data",
            str(SAMPLE),
            *TINY,
            "--models",
            "cnn,hybrid,avg",
            "--no-shared-embedding",
            "--kernel-sizes",
            "2,3",
            "--filters",
            "8",
            "--out",
            str(tmp_path),
            "--name",
            "o",
            "--no-cache",
            "--no-baseline",
        ],
        capsys,
    )
    assert code == 0, err
    m = json.loads((tmp_path / "o" / "metrics.json").read_text(encoding="utf-8"))
    assert {(r["model"], r["init"]) for r in m["runs"]} == {
        (f, i) for f in ("cnn", "hybrid", "avg") for i in ("random", "fasttext")
    }
    import torch

    ckpt = torch.load(tmp_path / "o" / "models" / "hybrid-fasttext-seed0.pt", weights_only=True)
    assert ckpt["model"]["config"]["shared_embedding"] is False
    assert list(ckpt["model"]["config"]["kernel_sizes"]) == [2, 3]
    html = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert "hybrid" in html and "avg" in html


def test_spelling_families_and_attention_pooling_run_and_predict_what_they_scored(tmp_path, capsys):
    """wide_gru and jamo_gru train in the comparison with attention pooling; their spelling tables are in
    the checkpoints, and predicting from the run directory gives the test scores the run saved."""
    sample = pd.read_csv(SAMPLE)
    sample.iloc[:3000].to_csv(tmp_path / "train.csv", index=False)
    sample.iloc[3000:3120].to_csv(tmp_path / "test.csv", index=False)
    args = [
        "--data",
        str(tmp_path / "train.csv"),
        "--test-data",
        str(tmp_path / "test.csv"),
        *TINY,
        "--models",
        "gru,wide_gru,jamo_gru",
        "--inits",
        "random",
        "--pooling",
        "attention",
        "--ngram-buckets",
        "2048",
        "--char-kernel-sizes",
        "3,6",
        "--out",
        str(tmp_path),
        "--name",
        "s",
        "--no-cache",
        "--no-ensemble",
    ]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    run = tmp_path / "s"
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert {r["model"] for r in m["runs"]} == {"gru", "wide_gru", "jamo_gru"}
    import numpy as np
    import torch
    from scipy.special import softmax

    from nlp_pp import load_classifier
    from nlp_pp.training.rundir import read_predictions

    wide = torch.load(run / "models" / "wide_gru-random-seed0.pt", weights_only=True)["model"]
    assert wide["config"]["pooling"] == "attention" and wide["config"]["ngram_buckets"] == 2048
    assert wide["state_dict"]["wide.table"].any() and "encoder.attention.proj.weight" in wide["state_dict"]
    jamo = torch.load(run / "models" / "jamo_gru-random-seed0.pt", weights_only=True)["model"]
    assert list(jamo["config"]["char_kernel_sizes"]) == [3, 6] and jamo["state_dict"]["spelling.table"].any()
    texts = pd.read_csv(tmp_path / "test.csv")["content"].tolist()
    for key in ("wide_gru-random-seed0", "jamo_gru-random-seed0"):
        clf = load_classifier(run, model=key)
        saved = softmax(read_predictions(run, key)[1] / clf.temperature, axis=1)
        np.testing.assert_allclose(clf.predict_proba(texts), saved, atol=1e-5)


def test_models_all_expands_to_every_family(capsys):
    args = pipeline.run_parser().parse_args(["--models", "all"])
    cfg = pipeline.build_config(args)
    assert cfg.models == ("rnn", "lstm", "gru", "cnn", "hybrid", "avg", "wide_gru", "jamo_gru")
    assert pipeline.build_config(pipeline.run_parser().parse_args([])).models == ("rnn", "lstm", "gru")


def test_releasing_freed_memory_is_safe_anywhere():
    """glibc gets malloc_trim; on other systems (or C libraries without it) the call does nothing."""
    from nlp_pp.training.stages import release_freed_memory

    assert release_freed_memory() is None
