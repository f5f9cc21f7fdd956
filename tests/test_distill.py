"""--distill: soft targets in the trainer, the typed result, and the student end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import pipeline
from nlp_pp.decisions.selection import DISTILLED_INIT, rank_configurations
from nlp_pp.results import DISTILLED, DistilledResult, Metrics, RunResult, SplitScores
from nlp_pp.training.rundir import result_class
from nlp_pp.training.trainer import run_epoch
from nlp_pp.vectors.batching import EncodedDataset, make_dataloader

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "spam_sample.csv"


def test_soft_labels_in_a_dataset_and_their_checks():
    ds = EncodedDataset([[1, 2], [3]], np.array([[0.2, 0.8], [1.0, 0.0]], dtype=np.float32))
    assert ds.labels.dtype == torch.float32 and ds.labels.shape == (2, 2)
    with pytest.raises(ValueError, match="soft labels"):
        EncodedDataset([[1], [2]], np.array([[0.5, np.nan], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="soft labels"):
        EncodedDataset([[1]], np.array([[0.5, 0.5], [1.0, 0.0]]))


class Fixed(torch.nn.Module):
    """Logits from a lookup of the first token: a model whose loss is known."""

    def __init__(self):
        super().__init__()
        self.table = torch.nn.Embedding(4, 2)
        with torch.no_grad():
            self.table.weight.copy_(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))

    def forward(self, tokens, lengths):
        return self.table(tokens[:, 0])


@pytest.mark.parametrize("weights", [None, torch.tensor([1.0, 3.0])])
def test_one_hot_soft_targets_score_like_hard_labels(weights):
    seqs, y = [[1], [2], [3], [1]], np.array([0, 1, 1, 1])
    hard = run_epoch(Fixed(), make_dataloader(seqs, y, 2, shuffle=False), "cpu", class_weight=weights)
    onehot = np.eye(2, dtype=np.float32)[y]
    soft = run_epoch(Fixed(), make_dataloader(seqs, onehot, 2, shuffle=False), "cpu", class_weight=weights)
    assert (
        soft.loss == pytest.approx(hard.loss) and soft.acc == hard.acc and soft.f1 == pytest.approx(hard.f1)
    )
    # a soft target's loss is the cross-entropy against the distribution
    half = run_epoch(Fixed(), make_dataloader([[1]], np.array([[0.5, 0.5]], np.float32), 1), "cpu")
    logp = torch.log_softmax(torch.tensor([2.0, 0.0]), 0)
    assert half.loss == pytest.approx(float(-(0.5 * logp).sum()), rel=1e-6)


def test_distill_needs_the_ensemble(capsys):
    assert pipeline.main(["--distill", "--no-ensemble"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--no-ensemble" in err and "\n" not in err


def test_distilled_result_is_a_run_with_its_own_name():
    d = DistilledResult(
        model="gru", init="fasttext", seed=0, val=SplitScores(accuracy=0.9, macro_f1=0.95), unlabeled_texts=7
    )
    back = result_class(DISTILLED).from_dict(d.to_dict())
    assert back == d and back.key == DISTILLED
    assert set(RunResult(model="gru", init="fasttext", seed=0).to_dict()) <= set(d.to_dict())
    run = RunResult(model="gru", init="fasttext", seed=0, val=SplitScores(accuracy=0.9, macro_f1=0.9))
    top = rank_configurations([run], distilled=d)[0]
    assert (top.model, top.init, top.label) == (DISTILLED, DISTILLED_INIT, DISTILLED)
    m = Metrics.from_dict(Metrics(runs=[run], distilled=d).to_dict())
    assert m.distilled == d and m.result(DISTILLED) == d


@pytest.mark.slow
def test_distill_end_to_end_with_unlabelled_text(tmp_path, capsys):
    df = pd.read_csv(SAMPLE).sample(frac=1, random_state=0)
    labelled, rest = tmp_path / "lab.csv", tmp_path / "rest.txt"
    df.iloc[:400].to_csv(labelled, index=False)
    val_text = df.iloc[1]["content"]  # a labelled text in the unlabelled file too: left out
    rest.write_text("\n".join([val_text, *df.iloc[400:1000]["content"].str.replace("\n", " ")]) + "\n")
    args = ["--data", str(labelled), "--unlabeled", str(rest), "--models", "gru", "--inits", "fasttext",
            "--epochs", "2", "--fasttext-epochs", "1", "--emb-dim", "16", "--hidden", "16", "--n-jobs", "1",
            "--distill", "--distill-model", "cnn", "--distill-max-unlabeled", "500",
            "--out", str(tmp_path / "runs"), "--name", "d"]  # fmt: skip
    assert pipeline.main(args) == 0
    run = tmp_path / "runs" / "d"
    metrics = json.loads((run / "metrics.json").read_text())
    d = metrics["distilled"]
    assert set(metrics["runs"][0]) <= set(d)  # the keys of a run
    assert (
        d["model"] == "cnn"
        and d["unlabeled_texts"] == 500
        and d["labelled_texts"] == metrics["dataset"]["split"]["train"]
    )
    assert d["teacher"] == metrics["ensemble"]["members"]
    assert (run / "models" / "distilled.pt").is_file() and "distilled" in (run / "report.md").read_text()
    capsys.readouterr()
    assert pipeline.main(["predict", "--run", str(run), "--model", "distilled", "--json", "무료 대출"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in metrics["dataset"]["labels"]
    pytest.importorskip("onnxruntime")
    assert (
        pipeline.main(["export", "--run", str(run), "--model", "distilled", "--out", str(tmp_path / "e")])
        == 0
    )
    from nlp_pp import load_classifier

    exported = load_classifier(tmp_path / "e").predict_proba(["무료 대출", "오늘 뭐 해"])
    original = load_classifier(run, model="distilled").predict_proba(["무료 대출", "오늘 뭐 해"])
    assert np.allclose(exported, original, atol=1e-4)


def test_one_fold_is_refused(capsys):
    assert pipeline.main(["--distill", "--distill-folds", "1"]) == 2
    assert "0 (in-sample) or at least 2 folds" in capsys.readouterr().err


def test_out_of_fold_teacher_with_self_training_is_refused(capsys):
    args = ["--distill", "--distill-folds", "2", "--self-training-rounds", "1", "--unlabeled", str(SAMPLE)]
    assert pipeline.main(args) == 2
    assert "--distill-folds must be 0 with --self-training-rounds" in capsys.readouterr().err


@pytest.mark.slow
def test_out_of_fold_teacher(tmp_path, monkeypatch):
    from nlp_pp.training import distill

    seen = []
    real = distill.out_of_fold

    def spy(c, ensemble, teacher, folds):
        probs = real(c, ensemble, teacher, folds)
        seen.append((probs, teacher.proba(c.prep.texts["train"], c.seqs["train"])))
        return probs

    monkeypatch.setattr(distill, "out_of_fold", spy)
    args = ["--data", str(SAMPLE), "--max-rows", "400", "--models", "gru", "--inits", "fasttext",
            "--epochs", "2", "--fasttext-epochs", "1", "--emb-dim", "16", "--hidden", "16", "--n-jobs", "1",
            "--distill", "--distill-folds", "2", "--out", str(tmp_path), "--name", "f"]  # fmt: skip
    assert pipeline.main(args) == 0
    metrics = json.loads((tmp_path / "f" / "metrics.json").read_text())
    assert metrics["distilled"]["folds"] == 2 and metrics["distilled"]["unlabeled_texts"] == 0
    oof, in_sample = seen[0]
    assert oof.shape == in_sample.shape and np.allclose(oof.sum(1), 1, atol=1e-5)
    assert not np.allclose(oof, in_sample, atol=1e-3)  # other models scored each text
