"""Tests for nlp_pp.report (summary tables, FastText verdicts, self-contained HTML / Markdown report)."""

from __future__ import annotations

import copy
import math
import re
import warnings

import matplotlib
import numpy as np
import pytest

from nlp_pp.report import (
    EFFECT_COLUMNS,
    SUMMARY_COLUMNS,
    fasttext_effect,
    summarize,
    write_report,
)

XSS = "<script>alert(1)</script>"
SPAM, DAILY = "스팸문자", "일상대화"

# macro-F1 / accuracy per (model, init) for seeds 0 and 1
BINARY_SCORES = {
    # lstm: fasttext clearly better (+0.045 F1, paired spread 0.0071) -> helps
    ("lstm", "random"): ([0.900, 0.920], [0.905, 0.925]),
    ("lstm", "fasttext"): ([0.950, 0.960], [0.951, 0.961]),
    # gru: tiny difference (+0.00075 F1) -> no clear difference
    ("gru", "random"): ([0.930, 0.940], [0.931, 0.941]),
    ("gru", "fasttext"): ([0.931, 0.9405], [0.932, 0.9415]),
}


def _history(n_epochs: int) -> list[dict]:
    return [
        {
            "epoch": e,
            "train_loss": 0.6 / e,
            "train_acc": 0.80 + 0.02 * e,
            "val_loss": 0.4 / e + 0.01 * e,
            "val_acc": 0.85 + 0.01 * e,
            "seconds": 1.5,
        }
        for e in range(1, n_epochs + 1)
    ]


def _test_block(labels, f1, acc, roc_auc, n_test):
    k = len(labels)
    cm = np.zeros((k, k), dtype=int)
    per = n_test // k
    for i in range(k):
        wrong = int(round(per * (1 - acc)))
        cm[i, i] = per - wrong
        cm[i, (i + 1) % k] = wrong
    per_class = {
        lab: {
            "precision": round(f1 - 0.01 * i, 4),
            "recall": round(f1 + 0.005, 4),
            "f1": round(f1, 4),
            "support": per,
        }
        for i, lab in enumerate(labels)
    }
    return {
        "accuracy": acc,
        "macro_f1": f1,
        "precision": f1 - 0.01,
        "recall": f1 + 0.01,
        "roc_auc": roc_auc,
        "loss": 0.2,
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
    }


def _misclassified(labels):
    return [
        {"text": XSS, "true": labels[0], "pred": labels[1], "prob": 0.71},
        {
            "text": "무료 상품권 당첨! 지금 바로 확인하세요 " * 40,
            "true": labels[0],
            "pred": labels[1],
            "prob": 0.55,
        },
        {
            "text": "오늘 저녁에 뭐 먹을까? | 파이프 & 앰퍼샌드",
            "true": labels[1],
            "pred": labels[0],
            "prob": 0.62,
        },
    ]


def _dataset(labels, counts, positive):
    return {
        "source": "data/spam_sample.csv",
        "sha256": "ab12cd34",
        "encoding": "utf-8",
        "text_col": "content",
        "label_col": "class",
        "rows_read": 4000,
        "dropped_missing": 3,
        "dropped_duplicates": 12,
        "dropped_empty": 0,
        "rows": 3985,
        "labels": labels,
        "positive_label": positive,
        "class_counts": counts,
        "split": {"train": 2789, "val": 598, "test": 598, "test_source": "split"},
        "lengths": {
            "mean": 21.3,
            "median": 17.0,
            "p95": 58.0,
            "max": 140,
            "percentile": 95,
            "context_length": 58,
            "histogram": {
                "edges": [0, 10, 20, 30, 40, 60, 80, 140],
                "counts": [300, 900, 700, 400, 300, 150, 39],
            },
        },
        "vocab": {
            "size": 5234,
            "min_count": 3,
            "rare_dropped": 8123,
            "coverage_train": 0.962,
            "coverage_test": 0.941,
        },
    }


def _run(model, init, seed, labels, f1, acc, roc_auc=0.98):
    return {
        "model": model,
        "init": init,
        "seed": seed,
        "best_epoch": 3 + seed,
        "epochs_run": 6 + seed,
        "params": 612354,
        "train_seconds": 40.0 + seed,
        "val": {"accuracy": acc - 0.001, "loss": 0.14, "macro_f1": f1 - 0.001 + 0.002 * seed},
        "test": _test_block(labels, f1, acc, roc_auc, 598),
        "history": _history(6 + seed),
        "misclassified": _misclassified(labels),
    }


@pytest.fixture
def binary_results() -> dict:
    labels = [SPAM, DAILY]
    runs = []
    for (model, init), (f1s, accs) in BINARY_SCORES.items():
        for seed, (f1, acc) in enumerate(zip(f1s, accs)):
            runs.append(_run(model, init, seed, labels, f1, acc))
    return {
        "name": "spam_sample-20261122-101500",
        "created": "2026-11-22T10:15:00",
        "dataset": _dataset(labels, {SPAM: 1790, DAILY: 2195}, SPAM),
        "fasttext": {
            "source": "trained",
            "dim": 100,
            "coverage": 1.0,
            "vectors_trained": 5232,
            "neighbours": {
                "대출": [["저금리", 0.83], ["한도", 0.79], ["승인", 0.75]],
                "친구": [["동생", 0.71], ["언니", 0.69]],
            },
        },
        "runs": runs,
        "baseline": {
            "name": "tfidf_logreg",
            "train_seconds": 1.3,
            "val": {"accuracy": 0.925, "loss": 0.2, "macro_f1": 0.924},
            "test": _test_block(labels, 0.925, 0.926, 0.97, 598),
            "misclassified": _misclassified(labels),
        },
        "config": {
            "data": {"path": "data/spam_sample.csv"},
            "train": {"epochs": 10, "lr": 0.001},
            "models": ["lstm", "gru"],
            "inits": ["random", "fasttext"],
            "seeds": [0, 1],
        },
        "versions": {"python": "3.11.7", "torch": "2.13.0", "gensim": "4.4.0"},
        "device": "cpu",
        "timings": {
            "load": 0.2,
            "preprocess": 3.1,
            "vocab": 0.1,
            "fasttext": 4.2,
            "train": 250.0,
            "baseline": 1.2,
            "report": 0.0,
        },
    }


@pytest.fixture
def multiclass_results() -> dict:
    labels = ["긍정", "부정", "중립"]
    runs = [
        _run("rnn", "random", 0, labels, 0.71, 0.73, roc_auc=None),
        _run("gru", "random", 0, labels, 0.78, 0.80, roc_auc=None),
    ]
    return {
        "name": "sentiment-1",
        "created": "2026-11-22T11:00:00",
        "dataset": _dataset(labels, {"긍정": 1500, "부정": 1300, "중립": 1185}, None),
        "runs": runs,
        "baseline": None,
        "config": {"models": ["rnn", "gru"]},
        "versions": {"python": "3.11.7"},
        "device": "cpu",
        "timings": {"train": 12.0},
    }


# ----------------------------------------------------------------------------------------------
# summarize
# ----------------------------------------------------------------------------------------------
def test_summarize_rows_columns_and_sorting(binary_results):
    df = summarize(binary_results)
    assert list(df.columns) == SUMMARY_COLUMNS
    assert len(df) == 5  # 2 models x 2 inits + baseline
    assert list(zip(df["model"], df["init"]))[0] == ("lstm", "fasttext")
    # sorted best first by the validation macro-F1 (then accuracy), never by a test score
    f1 = df["val_macro_f1_mean"].to_numpy()
    assert np.all(np.diff(f1) <= 1e-12)
    assert df.loc[0, "val_macro_f1_mean"] == pytest.approx(np.mean([0.949, 0.961]))
    order = list(zip(df["model"], df["init"]))
    assert order == [
        ("lstm", "fasttext"),
        ("gru", "fasttext"),
        ("gru", "random"),
        ("tfidf_logreg", "baseline"),
        ("lstm", "random"),
    ]


def test_summarize_values_and_std(binary_results):
    df = summarize(binary_results).set_index(["model", "init"])
    row = df.loc[("lstm", "random")]
    assert row["n_seeds"] == 2
    assert row["macro_f1_mean"] == pytest.approx(0.91)
    assert row["macro_f1_std"] == pytest.approx(np.std([0.90, 0.92], ddof=1))
    assert row["accuracy_mean"] == pytest.approx(0.915)
    assert row["accuracy_std"] == pytest.approx(np.std([0.905, 0.925], ddof=1))
    assert row["roc_auc_mean"] == pytest.approx(0.98)
    assert row["best_epoch_mean"] == pytest.approx(3.5)
    assert row["train_seconds_mean"] == pytest.approx(40.5)
    base = df.loc[("tfidf_logreg", "baseline")]
    assert base["n_seeds"] == 1 and base["accuracy_std"] == 0.0 and base["macro_f1_std"] == 0.0
    assert math.isnan(base["best_epoch_mean"])
    assert base["train_seconds_mean"] == pytest.approx(1.3)


def test_summarize_single_seed_multiclass(multiclass_results):
    df = summarize(multiclass_results)
    assert list(df.columns) == SUMMARY_COLUMNS
    assert list(df["model"]) == ["gru", "rnn"]  # no baseline row
    assert (df["n_seeds"] == 1).all()
    assert (df["accuracy_std"] == 0.0).all() and (df["macro_f1_std"] == 0.0).all()  # 0.0, not NaN
    assert df["roc_auc_mean"].isna().all()


def test_summarize_ties_broken_by_accuracy(multiclass_results):
    r = copy.deepcopy(multiclass_results)
    for run, acc in zip(r["runs"], (0.90, 0.80)):
        run["val"]["macro_f1"], run["val"]["accuracy"] = 0.75, acc
    assert list(summarize(r)["model"]) == ["rnn", "gru"]


def test_summarize_ranks_on_validation_not_test(multiclass_results):
    r = copy.deepcopy(multiclass_results)
    r["runs"][0]["test"]["macro_f1"] = 0.99  # rnn: best on test, worse on validation
    assert list(summarize(r)["model"]) == ["gru", "rnn"]


# ----------------------------------------------------------------------------------------------
# fasttext_effect
# ----------------------------------------------------------------------------------------------
def test_fasttext_effect_values_and_verdicts(binary_results):
    eff = fasttext_effect(binary_results)
    assert list(eff.columns) == EFFECT_COLUMNS
    assert list(eff["model"]) == ["lstm", "gru"]
    lstm = eff.set_index("model").loc["lstm"]
    assert lstm["macro_f1_diff"] == pytest.approx(0.045)
    assert lstm["accuracy_diff"] == pytest.approx(0.041)
    assert lstm["macro_f1_spread"] == pytest.approx(np.std([0.05, 0.04], ddof=1))
    assert lstm["accuracy_spread"] == pytest.approx(np.std([0.046, 0.036], ddof=1))
    assert lstm["n_seeds"] == 2 and bool(lstm["paired"])
    assert lstm["verdict"] == "helps"
    gru = eff.set_index("model").loc["gru"]
    assert gru["macro_f1_diff"] == pytest.approx(0.00075)
    assert gru["verdict"] == "no clear difference"


def _two_config(f1_random, f1_fasttext, seeds_random=(0, 1), seeds_fasttext=(0, 1)):
    labels = [SPAM, DAILY]
    runs = [_run("lstm", "random", s, labels, f, 0.9) for s, f in zip(seeds_random, f1_random)]
    runs += [_run("lstm", "fasttext", s, labels, f, 0.9) for s, f in zip(seeds_fasttext, f1_fasttext)]
    return {"runs": runs, "baseline": None, "dataset": _dataset(labels, {SPAM: 1, DAILY: 1}, SPAM)}


def test_fasttext_verdict_rule():
    # |diff| = 0.01 > 0.002 but the paired spread (0.0566) is larger -> no clear difference
    eff = fasttext_effect(_two_config([0.90, 0.94], [0.95, 0.91]))
    assert eff["macro_f1_diff"].iloc[0] == pytest.approx(0.01)
    assert eff["macro_f1_spread"].iloc[0] == pytest.approx(np.std([0.05, -0.03], ddof=1))
    assert eff["verdict"].iloc[0] == "no clear difference"
    # consistent drop larger than spread and floor -> hurts
    eff = fasttext_effect(_two_config([0.90, 0.92], [0.88, 0.899]))
    assert eff["verdict"].iloc[0] == "hurts"
    # single seed: no spread estimate (NaN), floor 0.002 decides
    eff = fasttext_effect(_two_config([0.900], [0.9015], (0,), (0,)))
    assert math.isnan(eff["macro_f1_spread"].iloc[0])
    assert eff["verdict"].iloc[0] == "no clear difference"
    eff = fasttext_effect(_two_config([0.900], [0.903], (0,), (0,)))
    assert eff["verdict"].iloc[0] == "helps"


def test_fasttext_unpaired_seeds_give_nan_spread():
    eff = fasttext_effect(_two_config([0.90, 0.92], [0.95, 0.96], (0, 1), (2, 3)))
    assert not bool(eff["paired"].iloc[0])
    assert math.isnan(eff["macro_f1_spread"].iloc[0]) and math.isnan(eff["accuracy_spread"].iloc[0])
    assert eff["macro_f1_diff"].iloc[0] == pytest.approx(0.045)
    assert eff["verdict"].iloc[0] == "helps"


def test_fasttext_effect_empty_without_fasttext(multiclass_results):
    eff = fasttext_effect(multiclass_results)
    assert eff.empty and list(eff.columns) == EFFECT_COLUMNS


# ----------------------------------------------------------------------------------------------
# write_report
# ----------------------------------------------------------------------------------------------
def _write(results, tmp_path):
    before = copy.deepcopy(results)
    backend = matplotlib.get_backend()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = write_report(results, tmp_path / "out")
    assert results == before, "write_report must not modify its input"
    assert matplotlib.get_backend() == backend
    glyph = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert not glyph, f"Korean glyphs missing in plots: {glyph[:3]}"
    skipped = [str(w.message) for w in caught if "plot" in str(w.message) and "skipped" in str(w.message)]
    assert not skipped, skipped
    return out


def test_write_report_binary(binary_results, tmp_path):
    out = _write(binary_results, tmp_path)
    html_path, md_path = out["html"], out["md"]
    assert html_path == tmp_path / "out" / "report.html" and html_path.is_file()
    assert md_path == tmp_path / "out" / "report.md" and md_path.is_file()
    names = {p.name for p in out["plots"]}
    assert {
        "overview.png",
        "training_curves.png",
        "class_balance.png",
        "lengths.png",
        "confusion_baseline.png",
        "confusion_lstm_fasttext.png",
    } <= names
    assert len(out["plots"]) == 4 + 4 + 1  # overview, curves, balance, lengths + 4 configs + baseline
    for p in out["plots"]:
        assert p.parent == tmp_path / "out" / "plots"
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    html = html_path.read_text(encoding="utf-8")
    # self-contained
    assert 'src="http' not in html and "<script src" not in html.lower()
    assert "<link" not in html.lower() and "@import" not in html and "url(" not in html
    assert html.count("data:image/png;base64,") == len(out["plots"])
    # content
    assert SPAM in html and DAILY in html
    assert "lstm + fasttext" in html and "tfidf_logreg" in html
    assert "Does FastText initialisation help?" in html
    assert "helps" in html and "no clear difference" in html
    assert "0.955 ± 0.007" in html  # lstm+fasttext macro-F1 mean ± std
    assert "저금리" in html  # fastText neighbours
    assert "&quot;epochs&quot;: 10" in html  # config JSON, HTML-escaped inside <pre>
    # untrusted text is escaped
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    # long messages truncated
    assert "무료 상품권 당첨! 지금 바로 확인하세요 " * 40 not in html
    assert "…" in html

    md = md_path.read_text(encoding="utf-8")
    assert "| # | model |" in md
    assert re.search(r"\|\s*1\s*\|\s*lstm\s*\|\s*fasttext\s*\|", md.replace("**", ""))
    assert "tfidf_logreg" in md
    for p in out["plots"]:
        assert f"(plots/{p.name})" in md
    assert XSS not in md
    assert "data:image" not in md


@pytest.mark.slow
def test_write_report_headline_when_baseline_wins(binary_results, tmp_path):
    r = copy.deepcopy(binary_results)
    r["baseline"]["val"]["macro_f1"] = 0.99
    out = write_report(r, tmp_path)
    html = out["html"].read_text(encoding="utf-8")
    assert "no neural configuration beats the TF-IDF baseline on validation" in html
    assert "Best on validation: </strong><strong>the TF-IDF + logistic-regression baseline" in html


@pytest.mark.slow
def test_write_report_headline_when_baseline_ties(binary_results, tmp_path):
    r = copy.deepcopy(binary_results)
    by_config: dict = {}
    for run in r["runs"]:
        by_config.setdefault((run["model"], run["init"]), []).append(run["val"]["macro_f1"])
    r["baseline"]["val"]["macro_f1"] = max(sum(v) / len(v) for v in by_config.values())
    html = write_report(r, tmp_path)["html"].read_text(encoding="utf-8")
    assert "are tied on validation macro-F1" in html
    assert "ahead by" not in html and "−0.0000" not in html and "-0.0000" not in html


def test_write_report_multiclass_single_seed(multiclass_results, tmp_path):
    out = _write(multiclass_results, tmp_path)
    html = out["html"].read_text(encoding="utf-8")
    md = out["md"].read_text(encoding="utf-8")
    for lab in ("긍정", "부정", "중립"):
        assert lab in html
    assert "gru + random" in html  # best configuration
    assert (
        "±"
        not in re.sub(r"<style>.*?</style>", "", html, flags=re.S)
        .split("Summary of all")[1]
        .split("Does FastText")[0]
    )  # single seed: no ± in summary table
    assert "not tested" in html  # FastText answer present even without fasttext runs
    assert "no TF-IDF baseline" in html
    assert "confusion_baseline.png" not in {p.name for p in out["plots"]}
    assert XSS not in html and "&lt;script&gt;" in html
    assert "ROC-AUC" not in html  # all None -> column omitted
    assert "| # | model |" in md


# ----------------------------------------------------------------------------------------------
# report.md cannot carry live HTML, links or remote images (rendered with a real Markdown renderer)
# ----------------------------------------------------------------------------------------------
PAYLOADS = [
    "``<img src=x onerror=alert(1)>``",
    "![x](http://evil.example/p.png)",
    "[click](http://evil.example)",
    "<b>bold</b> <script>alert(1)</script>",
    "http://bare.example/path www.bare.example a@b.example",
    "# heading",
    "1. list",
    "> quote",
    "| pipe | cell |",
    "*emph* _u_ ~~s~~ &amp; \\",
]


@pytest.mark.slow
def test_markdown_report_escapes_every_payload(binary_results, tmp_path):
    markdown_it = pytest.importorskip("markdown_it")
    pytest.importorskip("linkify_it")
    r = copy.deepcopy(binary_results)
    evil = " ".join(PAYLOADS)
    r["name"] = evil
    r["dataset"].update(source=evil, text_col=evil, label_col=PAYLOADS[0])
    labels = [PAYLOADS[1], PAYLOADS[2]]
    r["dataset"]["labels"] = labels
    r["dataset"]["class_counts"] = {labels[0]: 10, labels[1]: 20}
    for run in r["runs"] + [r["baseline"]]:
        run["misclassified"] = [
            {"text": p, "true": labels[0], "pred": labels[1], "prob": 0.5} for p in PAYLOADS
        ]
        run["test"]["per_class"] = {
            labels[0]: run["test"]["per_class"][SPAM],
            labels[1]: run["test"]["per_class"][DAILY],
        }
    md = write_report(r, tmp_path)["md"].read_text(encoding="utf-8")
    html = markdown_it.MarkdownIt("gfm-like").enable("table").render(md)
    assert not re.search(r"<(script|b|a)\b", html), re.findall(r"<(?:script|b|a)\b[^>]*>", html)[:3]
    assert all(src.startswith("plots/") for src in re.findall(r'<img src="([^"]*)"', html))
    assert "<h1>" in html and html.count("<h1>") == 1  # the payload's "# heading" is not a heading
    assert "<blockquote>" not in html and "<ol>" not in html
    for p in ("evil.example", "bare.example"):
        assert p in html  # the text is still shown, as text


@pytest.mark.slow
def test_direction_controls_are_shown_not_obeyed_in_both_reports(binary_results, tmp_path):
    """A right-to-left override in a message would reorder the rest of its table row as displayed."""
    r = copy.deepcopy(binary_results)
    rlo = "무료 \u202egnp.exe \u2066x\u2069 \u200f"
    for run in r["runs"] + [r["baseline"]]:
        run["misclassified"] = [{"text": rlo, "true": SPAM, "pred": DAILY, "prob": 0.5}]
    out = write_report(r, tmp_path)
    for path in (out["md"], out["html"]):
        text = path.read_text(encoding="utf-8")
        assert not re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f]", text), path.name
        assert "U+202E" in text and "gnp" in text
