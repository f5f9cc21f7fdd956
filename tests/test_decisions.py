"""A spam filter's decisions in a real run: thresholds, calibration, PR-AUC, ensemble, paired tests,
explanations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipeline
from nlp_pp.decisions.calibration import apply_temperature
from nlp_pp.deploy.load import load_classifier
from nlp_pp.errors import ConfigError
from nlp_pp.text.hangul import compose
from tests.conftest import fails_with, write_csv

pytestmark = pytest.mark.slow  # end-to-end runs of the pipeline

from tests.conftest import SAMPLE  # noqa: E402

SMALL = [
    "--max-rows",
    "600",
    "--epochs",
    "4",
    "--fasttext-epochs",
    "2",
    "--emb-dim",
    "16",
    "--hidden",
    "16",
    "--n-jobs",
    "1",
    "--models",
    "gru",
    "--patience",
    "4",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    code = pipeline.main(
        [
            "--data",
            str(SAMPLE),
            *SMALL,
            "--seeds",
            "0,1",
            "--threshold-policy",
            "precision:0.9",
            "--class-weight",
            "스팸문자=2",
            "--out",
            str(out),
            "--name",
            "d",
            "--no-cache",
        ]
    )
    assert code == 0
    return out / "d"


@pytest.fixture(scope="module")
def metrics(run) -> dict:
    return json.loads((run / "metrics.json").read_text(encoding="utf-8"))


def test_every_model_has_its_operating_point_and_calibration(metrics):
    rows = metrics["runs"] + [metrics["baseline"], metrics["ensemble"]]
    for r in rows:
        assert r["threshold"]["policy"] == "precision:0.9" and 0 <= r["threshold"]["value"] <= 1
        assert isinstance(r["threshold"]["met"], bool) and r["threshold"]["note"]
        at = r["test_at_threshold"]
        assert set(at) >= {
            "accuracy",
            "macro_f1",
            "precision",
            "recall",
            "false_positives_per_10k",
            "missed_per_1k",
        }
        negatives, positives = at["tn"] + at["fp"], at["tp"] + at["fn"]
        assert negatives + positives == metrics["dataset"]["split"]["test"]
        assert at["false_positives_per_10k"] == pytest.approx(1e4 * at["fp"] / negatives)
        assert at["missed_per_1k"] == pytest.approx(1e3 * at["fn"] / positives)
        cal = r["calibration"]
        assert cal["temperature"] > 0 and 0 <= cal["ece_before"] <= 1 and 0 <= cal["ece_after"] <= 1
        assert 0 <= r["test"]["pr_auc"] <= 1 and r["curves"]["pr"]["recall"]


def test_thresholds_and_temperatures_are_chosen_on_validation_only(run, metrics):
    """Refit both from the saved validation logits alone: the same values come out."""
    from nlp_pp.decisions.calibration import fit_temperature
    from nlp_pp.decisions.thresholds import choose_threshold

    r = metrics["runs"][0]
    key = f"{r['model']}-{r['init']}-seed{r['seed']}"
    with np.load(run / "predictions" / f"{key}.npz") as z:
        val = z["val"]
    labels = metrics["dataset"]["labels"]
    pos = labels.index(metrics["dataset"]["positive_label"])
    y_val = _val_truth(run, metrics, val.shape[0])
    t = fit_temperature(val, y_val)
    assert t == pytest.approx(r["calibration"]["temperature"], rel=1e-6)
    choice = choose_threshold((y_val == pos).astype(int), apply_temperature(val, t)[:, pos], "precision:0.9")
    assert choice.value == pytest.approx(r["threshold"]["value"], rel=1e-6)


def _val_truth(run: Path, metrics: dict, n: int) -> np.ndarray:
    """The validation labels, rebuilt by splitting the data exactly as the pipeline does."""
    from nlp_pp.config import ExperimentConfig
    from nlp_pp.text.load import load_dataset, split_dataset

    cfg = ExperimentConfig.from_dict(metrics["config"])
    df, _ = load_dataset(cfg.data, cfg.text_col, cfg.label_col, max_rows=cfg.max_rows, seed=cfg.split_seed)
    _, val, _ = split_dataset(df, val_size=cfg.val_size, test_size=cfg.test_size, seed=cfg.split_seed)
    labels = metrics["dataset"]["labels"]
    y = val["label"].map({lab: i for i, lab in enumerate(labels)}).to_numpy()
    assert len(y) == n
    return y


def test_ensemble_row_members_and_weights(metrics):
    ens = metrics["ensemble"]
    assert ens["members"] and len(ens["members"]) == len(ens["weights"])
    assert sum(ens["weights"]) == pytest.approx(1.0)
    assert set(ens["members"]) <= {
        "gru-random-seed0",
        "gru-random-seed1",
        "gru-fasttext-seed0",
        "gru-fasttext-seed1",
        "tfidf_logreg",
    }
    cf = ens["cross_fitted"]
    # ranked on the honest score: the vote's when it is kept, else that of picking the best single member
    assert ens["val"]["macro_f1"] == pytest.approx(
        cf["ensemble" if ens["beats_best_single"] else "best_single"]
    )
    assert isinstance(ens["beats_best_single"], bool) and cf["out_of_fold_temperatures"] is True
    assert ens["method"] == ("bagged greedy" if ens["beats_best_single"] else "best single")
    if not ens["beats_best_single"]:
        assert len(ens["members"]) == 1 and ens["weights"] == [1.0]
    assert set(ens["test"]) >= {"accuracy", "macro_f1", "pr_auc"}


def test_paired_comparisons(metrics):
    comps = metrics["comparisons"]
    kinds = [c["kind"] for c in comps]
    assert kinds[0] == "fasttext vs random" and "best vs runner-up" in kinds
    for c in comps:
        assert set(c) == {
            "kind",
            "a",
            "b",
            "metric",
            "diff",
            "ci_low",
            "ci_high",
            "p_value",
            "method",
            "verdict",
        }
        assert c["ci_low"] <= c["diff"] <= c["ci_high"] and 0 < c["p_value"] <= 1
        assert c["verdict"] == (
            "no clear difference"
            if c["ci_low"] <= 0 <= c["ci_high"]
            else "a is better"
            if c["ci_low"] > 0
            else "b is better"
        )
    ft = comps[0]
    assert (ft["a"], ft["b"]) == ("gru + fasttext", "gru + random")


def test_report_shows_the_decisions(run):
    html = (run / "report.html").read_text(encoding="utf-8")
    for heading in (
        "Is the difference real?",
        "Decisions: threshold and calibrated probabilities",
        "Ensemble",
        "Why were messages flagged?",
    ):
        assert heading in html
    assert "pr_roc.png" in (run / "report.md").read_text(encoding="utf-8")
    assert (run / "plots" / "reliability.png").exists()


def test_predict_applies_the_threshold_and_calibration(run, metrics, capsys):
    clf = load_classifier(run, model="gru-fasttext-seed0")
    r = next(x for x in metrics["runs"] if (x["init"], x["seed"]) == ("fasttext", 0))
    assert clf.threshold == pytest.approx(r["threshold"]["value"])
    assert clf.temperature == pytest.approx(r["calibration"]["temperature"])
    texts = ["오늘 저녁 같이 먹자", "[광고] 무료 대출 상담 010-1234-5678 수신거부"]
    rows = clf.predict(texts)
    for row in rows:
        spam = row["probs"]["스팸문자"]
        assert row["decision"]["is_positive"] == (spam >= clf.threshold)
        assert row["label"] == ("스팸문자" if spam >= clf.threshold else "일상대화")
    # --threshold overrides: 0 flags everything, 1 (almost) nothing
    code = pipeline.main(
        ["predict", "--run", str(run), "--model", "gru-fasttext-seed0", "--threshold", "0", "--json", *texts]
    )
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and all(o["label"] == "스팸문자" and o["decision"]["threshold"] == 0.0 for o in out)
    with pytest.raises(ConfigError, match="threshold"):
        clf.predict(texts, threshold=1.5)


def test_explanations_move_the_probability_in_the_stated_direction(run):
    clf = load_classifier(run, model="gru-fasttext-seed0")
    text = "[광고] 무료 대출 상담 010-1234-5678 지금 바로 신청하세요 수신거부"
    ((tokens, contributions),) = clf.token_contributions([text])
    target = clf.labels.index(clf.predict([text])[0]["label"])
    top = int(np.argmax(np.abs(contributions)))
    full = clf.predict_proba([text])[0, target]
    # removing the top token changes the probability by exactly its contribution, in its sign's direction
    ids = clf._neural.encode([text])[1][0]
    without = ids[:top] + ids[top + 1 :]
    p_without = clf._neural.proba_of_ids(clf.temperature)([without])[0, target]
    assert full - p_without == pytest.approx(contributions[top], abs=1e-5)
    assert np.sign(full - p_without) == np.sign(contributions[top])
    shown = clf.explain([text], top=3)[0]
    assert [e["token"] for e in shown][0] == compose(tokens[top])  # readable morphemes, not jamo
    assert not any("\u1100" <= ch <= "\u11ff" for e in shown for ch in e["token"])


def test_predict_explain_cli_and_non_neural_models(run, capsys):
    code = pipeline.main(
        [
            "predict",
            "--run",
            str(run),
            "--model",
            "gru-random-seed0",
            "--explain",
            "--json",
            "무료 쿠폰 받으세요",
        ]
    )
    row = json.loads(capsys.readouterr().out)
    assert code == 0 and 1 <= len(row["explanation"]) <= 5
    assert all(set(e) == {"token", "contribution"} for e in row["explanation"])
    code = pipeline.main(["predict", "--run", str(run), "--model", "ensemble", "--explain", "안녕"])
    assert code == 2 and "explanations need a neural model" in capsys.readouterr().err
    code = pipeline.main(["predict", "--run", str(run), "--model", "ensemble", "--json", "안녕"])
    assert code == 0 and json.loads(capsys.readouterr().out)["decision"] is not None


def test_unmet_policy_is_reported(tmp_path, capsys):
    code = pipeline.main(
        [
            "--data",
            str(SAMPLE),
            *SMALL,
            "--inits",
            "random",
            "--no-ensemble",
            "--threshold-policy",
            "precision:1.0",
            "--out",
            str(tmp_path),
            "--name",
            "u",
            "--no-cache",
        ]
    )
    err = capsys.readouterr().err
    m = json.loads((tmp_path / "u" / "metrics.json").read_text(encoding="utf-8"))
    unmet = [r for r in m["runs"] + [m["baseline"]] if not r["threshold"]["met"]]
    assert code == 0 and m["ensemble"] is None
    for r in unmet:
        assert "not met on validation" in err and r["threshold"]["note"] in err
        assert r["threshold"]["note"] in (tmp_path / "u" / "report.html").read_text(encoding="utf-8")


def test_multiclass_runs_decide_by_argmax_and_are_still_calibrated(tmp_path):
    rows = (
        [(f"긍정적인 리뷰 {i} 좋아요", "긍정") for i in range(60)]
        + [(f"부정적인 리뷰 {i} 별로", "부정") for i in range(60)]
        + [(f"보통 리뷰 {i} 그냥", "중립") for i in range(60)]
    )
    p = write_csv(tmp_path / "three.csv", rows)
    code = pipeline.main(
        [
            "--data",
            str(p),
            "--epochs",
            "2",
            "--fasttext-epochs",
            "1",
            "--emb-dim",
            "8",
            "--hidden",
            "8",
            "--models",
            "gru",
            "--n-jobs",
            "1",
            "--out",
            str(tmp_path),
            "--name",
            "m",
            "--no-cache",
        ]
    )
    assert code == 0
    m = json.loads((tmp_path / "m" / "metrics.json").read_text(encoding="utf-8"))
    for r in m["runs"]:
        assert "threshold" not in r and r["calibration"]["temperature"] > 0
    assert "decides by the most probable label" in (tmp_path / "m" / "report.html").read_text(
        encoding="utf-8"
    )
    clf = load_classifier(tmp_path / "m", model="gru-random-seed0")
    assert clf.predict(["좋아요"])[0]["decision"] is None


def test_class_weight_with_an_unknown_label(tmp_path, capsys):
    fails_with(
        ["--data", str(SAMPLE), *SMALL, "--class-weight", "광고=3"],
        capsys,
        "--class-weight names label(s) not in the data: 광고",
        out=tmp_path / "runs",
    )


def test_balanced_class_weights_reach_the_baseline(tmp_path, monkeypatch):
    from nlp_pp.training import baseline

    seen = {}
    real = baseline.TfidfBaseline.fit.__func__

    def spy(cls, texts, labels, **kw):
        seen.update(kw, labels=np.asarray(labels))
        return real(cls, texts, labels, **kw)

    monkeypatch.setattr(baseline.TfidfBaseline, "fit", classmethod(spy))
    df = pd.read_csv(SAMPLE).head(400)
    p = write_csv(tmp_path / "d.csv", list(zip(df["content"], df["class"])))
    code = pipeline.main(
        [
            "--data",
            str(p),
            "--epochs",
            "1",
            "--fasttext-epochs",
            "1",
            "--emb-dim",
            "8",
            "--hidden",
            "8",
            "--models",
            "gru",
            "--inits",
            "random",
            "--n-jobs",
            "1",
            "--class-weight",
            "balanced",
            "--out",
            str(tmp_path),
            "--name",
            "b",
            "--no-cache",
        ]
    )
    assert code == 0
    counts = np.bincount(seen["labels"], minlength=2)
    expected = {k: len(seen["labels"]) / (2 * counts[k]) for k in (0, 1)}  # inverse class frequency
    assert seen["class_weight"] == pytest.approx(expected)


def test_paired_comparisons_with_a_one_row_system_first():
    """The ensemble or the baseline ranked first against a multi-seed runner-up (and the reverse)."""
    from types import SimpleNamespace

    from nlp_pp.decisions.scoring import paired_comparisons

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    one = np.where(rng.random(400) < 0.9, y, 1 - y)[None]
    three = np.stack([np.where(rng.random(400) < 0.8, y, 1 - y) for _ in range(3)])
    task = SimpleNamespace(y_test=y, labels=["a", "b"])
    first, second = paired_comparisons(
        task,
        [
            ("best vs runner-up", "ensemble", "gru + fasttext", one, three),
            ("best vs runner-up", "gru + fasttext", "ensemble", three, one),
        ],
    )
    assert first.diff == pytest.approx(-second.diff) and first.diff > 0


def test_terminal_summary_names_each_row_once(metrics):
    from nlp_pp.training.experiment import summary_lines

    labels = [line[:26].strip() for line in summary_lines(metrics)[1:-1]]
    assert "ensemble" in labels and "tfidf_logreg (baseline)" in labels and "gru + fasttext" in labels
    assert not any("ensemble +" in lab for lab in labels)
