"""Self-training and ``pipeline.py suggest`` end to end on the synthetic sample, and their bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipeline
from nlp_pp import load_classifier
from nlp_pp.decisions.calibration import apply_temperature
from nlp_pp.text.hashing import hash_texts
from tests.test_errors import fails_with

pytestmark = pytest.mark.slow  # end-to-end runs of the pipeline

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "spam_sample.csv"
TINY = ["--epochs", "2", "--fasttext-epochs", "1", "--emb-dim", "8", "--hidden", "8", "--n-jobs", "1"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """500 labelled rows, a 200-row test file, and 1,000 other messages plus repeats as unlabelled text."""
    d = tmp_path_factory.mktemp("few")
    df = pd.read_csv(SAMPLE).drop_duplicates("content").reset_index(drop=True)
    paths = {k: d / f"{k}.csv" for k in ("labelled", "test", "unlabelled")}
    df.iloc[:500].to_csv(paths["labelled"], index=False)
    df.iloc[500:700].to_csv(paths["test"], index=False)
    # the rest, some messages twice, some labelled and test messages again
    rest = pd.concat([df.iloc[700:1700], df.iloc[700:720], df.iloc[:30], df.iloc[500:510]])
    rest[["content"]].to_csv(paths["unlabelled"], index=False)
    paths["lines"] = d / "unlabelled.txt"
    paths["lines"].write_text("\n".join(rest["content"]) + "\n", encoding="utf-8")
    paths["only_labelled"] = d / "only_labelled.txt"
    paths["only_labelled"].write_text("\n".join(df.iloc[:40]["content"]) + "\n", encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def run(files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    args = ["--data", str(files["labelled"]), "--test-data", str(files["test"]), *TINY, "--models", "gru"]
    args += ["--seeds", "0,1", "--unlabeled", str(files["unlabelled"]), "--self-training-rounds", "2"]
    assert pipeline.main([*args, "--out", str(out), "--name", "r", "--no-cache"]) == 0
    return out / "r"


def test_self_training_is_recorded_and_only_kept_rounds_leave_files(run):
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    st = m["self_training"]
    assert st["texts"] == 1000  # distinct, none of the labelled or test messages
    assert st["rounds"] and st["rounds"][0]["round"] == 1 and st["rounds"][0]["teacher"]
    first = st["rounds"][0]
    assert first["pseudo_labels"] % 2 == 0  # balanced: the same number per class
    kept = [r for r in st["rounds"] if r["kept"]]
    assert st["rounds_kept"] == len(kept)
    for r in st["rounds"]:
        if r["pseudo_labels"]:
            assert r["kept"] == (r["val_macro_f1"] > r["previous_val_macro_f1"])
    inits = {r["init"] for r in m["runs"]}
    saved = {p.stem for p in (run / "models").glob("*.pt")}
    assert saved == {f"{r['model']}-{r['init']}-seed{r['seed']}" for r in m["runs"]}  # none left behind
    if kept:
        assert st["kept"] == f"gru + {m['runs'][-1]['init']}" and any("_self" in i for i in inits)
    else:
        assert st["kept"] is None and not any("_self" in i for i in inits)


def test_predict_computes_what_the_run_evaluated_for_the_ensemble(run, files):
    ens = json.loads((run / "results" / "ensemble.json").read_text(encoding="utf-8"))
    assert ens["method"] in ("bagged greedy", "best single")
    texts = pd.read_csv(files["test"])["content"].tolist()
    clf = load_classifier(run, model="ensemble")
    saved = np.load(run / "predictions" / "ensemble.npz")["test"]
    expected = apply_temperature(saved.astype(np.float64), ens["calibration"]["temperature"])
    assert np.abs(clf.predict_proba(texts) - expected).max() < 1e-4


def test_suggest_writes_the_training_columns_with_an_empty_label(run, files, tmp_path, capsys):
    out = tmp_path / "to_label.csv"
    code = pipeline.main(["suggest", "--run", str(run), "--unlabeled", str(files["unlabelled"]), "--n", "30"])
    assert code == 2  # --out is required
    capsys.readouterr()
    args = ["suggest", "--run", str(run), "--unlabeled", str(files["unlabelled"]), "--n", "30", "--out"]
    assert pipeline.main([*args, str(out)]) == 0
    assert "30 messages to label" in capsys.readouterr().out
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns) == list(pd.read_csv(files["labelled"], nrows=0).columns)
    assert len(df) == 30 and (df["class"] == "").all() and df["content"].is_unique
    known = set(pd.read_csv(files["labelled"])["content"]) | set(pd.read_csv(files["test"])["content"])
    assert not set(df["content"]) & known
    # the same from a text file, one message per line
    out2 = tmp_path / "lines.csv"
    args2 = [
        "suggest",
        "--run",
        str(run),
        "--unlabeled",
        str(files["lines"]),
        "--n",
        "30",
        "--out",
        str(out2),
    ]
    assert pipeline.main(args2) == 0
    assert set(pd.read_csv(out2)["content"]) == set(df["content"])


def test_suggest_bad_inputs(run, files, tmp_path, capsys):
    base = ["suggest", "--run", str(run), "--unlabeled"]
    out = ["--out", str(tmp_path / "x.csv")]
    fails_with([*base, str(files["unlabelled"]), "--n", "0", *out], capsys, "--n must be a positive")
    fails_with(
        [*base, str(files["unlabelled"]), "--n", "5000", *out], capsys, "is more than the", "1,060 read"
    )
    fails_with([*base, str(files["only_labelled"]), "--n", "5", *out], capsys, "already labelled")
    fails_with(
        [*base, str(files["unlabelled"]), "--n", "5", "--no-placeholders", *out],
        capsys,
        "exactly as the run did",
    )
    fails_with([*base, str(files["unlabelled"]), "--n", "5", "--text-col", "body", *out], capsys, "body")
    fails_with([*base, str(files["labelled"]), "--n", "5", "--out", str(files["test"])], capsys, "exists")
    assert not (tmp_path / "x.csv").exists()


def test_self_training_needs_unlabelled_text(capsys, tmp_path):
    fails_with(
        ["--data", str(SAMPLE), "--self-training-rounds", "1"],
        capsys,
        "--self-training-rounds must be 0",
        out=tmp_path / "o",
    )


def test_suggested_texts_are_new_and_uncertain(run, files, tmp_path):
    out = tmp_path / "s.csv"
    args = ["suggest", "--run", str(run), "--unlabeled", str(files["unlabelled"]), "--n", "20"]
    assert pipeline.main([*args, "--out", str(out)]) == 0
    chosen = pd.read_csv(out)["content"].tolist()
    pool = pd.read_csv(files["unlabelled"])["content"].drop_duplicates()
    pool = pool[
        ~np.isin(hash_texts(pool.tolist()), hash_texts(pd.read_csv(files["labelled"])["content"].tolist()))
    ]
    clf = load_classifier(run)
    u_chosen = 1 - clf.predict_proba(chosen).max(1)
    u_all = 1 - clf.predict_proba(pool.tolist()).max(1)
    assert np.median(u_chosen) > np.median(u_all)  # more uncertain than a typical message
