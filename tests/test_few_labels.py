"""Few labels, much unlabelled text: --unlabeled, pretrain / --pretrained-vectors, and their bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import pipeline
from tests.conftest import fails_with

pytestmark = pytest.mark.slow  # end-to-end runs of the pipeline

from tests.conftest import SAMPLE  # noqa: E402

TINY = [
    "--max-rows",
    "400",
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
    "gru",
    "--no-ensemble",
]


@pytest.fixture(scope="module")
def unlabeled(tmp_path_factory) -> Path:
    """All 4,000 sample texts, one per line: they include the run's validation and test texts."""
    p = tmp_path_factory.mktemp("u") / "messages.txt"
    p.write_text("\n".join(pd.read_csv(SAMPLE)["content"].tolist()), encoding="utf-8")
    return p


def test_unlabelled_text_trains_fasttext_without_the_validation_and_test_texts(unlabeled, tmp_path, capsys):
    code = pipeline.main(
        [
            "--data",
            str(SAMPLE),
            *TINY,
            "--unlabeled",
            str(unlabeled),
            "--out",
            str(tmp_path),
            "--name",
            "u",
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0
    m = json.loads((tmp_path / "u" / "metrics.json").read_text(encoding="utf-8"))
    ft, split = m["fasttext"], m["dataset"]["split"]
    assert ft["dropped_val_test"] == split["val"] + split["test"]  # every one of them is in the file
    assert ft["dropped_train"] == split["train"]  # already in the stream as the labelled split
    assert ft["unlabeled_texts"] == 4000 - split["val"] - split["test"] - split["train"]
    assert ft["labelled_texts"] == split["train"] and 0 < ft["coverage_train_tokens"] <= 1
    assert f"{ft['dropped_val_test']} texts of the validation and test splits were found" in err
    html = (tmp_path / "u" / "report.html").read_text(encoding="utf-8")
    assert "unlabelled texts from" in html and "were left out" in html


def test_pretrain_once_reuse_with_checks(unlabeled, tmp_path, capsys):
    vectors = tmp_path / "ft.model"
    assert (
        pipeline.main(
            [
                "pretrain",
                "--unlabeled",
                str(unlabeled),
                "--out",
                str(vectors),
                "--emb-dim",
                "8",
                "--fasttext-epochs",
                "1",
                "--n-jobs",
                "1",
                "--exclude",
                str(SAMPLE),
                "--no-cache",
            ]
        )
        == 2
    )
    assert "no unlabelled text is left" in capsys.readouterr().err  # the sample is the whole file
    assert (
        pipeline.main(
            [
                "pretrain",
                "--unlabeled",
                str(unlabeled),
                "--out",
                str(vectors),
                "--emb-dim",
                "8",
                "--fasttext-epochs",
                "1",
                "--n-jobs",
                "1",
                "--no-cache",
            ]
        )
        == 0
    )
    assert "pretrained:" in capsys.readouterr().out
    code = pipeline.main(
        [
            "--data",
            str(SAMPLE),
            *TINY,
            "--pretrained-vectors",
            str(vectors),
            "--out",
            str(tmp_path),
            "--name",
            "p",
            "--no-cache",
        ]
    )
    err = capsys.readouterr().err
    m = json.loads((tmp_path / "p" / "metrics.json").read_text(encoding="utf-8"))
    assert code == 0 and m["fasttext"]["pretrained_texts"] == 4000
    split = m["dataset"]["split"]
    assert (m["fasttext"]["seen_val_texts"], m["fasttext"]["seen_test_texts"]) == (
        split["val"],
        split["test"],
    )
    assert "may be optimistic" in err
    # a mismatch is an error, or used on purpose
    fails_with(
        ["--data", str(SAMPLE), *TINY, "--pretrained-vectors", str(vectors), "--no-keep-jamo"],
        capsys,
        "other preprocessing",
        "keep_jamo True -> False",
        "--allow-preprocessing-mismatch",
        out=tmp_path / "r1",
    )
    fails_with(
        ["--data", str(SAMPLE), *TINY, "--pretrained-vectors", str(vectors), "--emb-dim", "16"],
        capsys,
        "dimension 8",
        out=tmp_path / "r2",
    )
    assert (
        pipeline.main(
            [
                "--data",
                str(SAMPLE),
                *TINY,
                "--pretrained-vectors",
                str(vectors),
                "--no-keep-jamo",
                "--allow-preprocessing-mismatch",
                "--out",
                str(tmp_path / "r3"),
                "--no-cache",
            ]
        )
        == 0
    )
    assert "used anyway" in capsys.readouterr().err
    fails_with(["pretrain", "--unlabeled", str(unlabeled), "--out", str(vectors)], capsys, "exists")


def written(name: str, content: bytes):
    def make(d: Path) -> Path:
        (d / name).write_bytes(content)
        return d / name

    return make


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda d: d / "missing.txt", "not found"),
        (written("empty.txt", b""), "empty"),
        (written("bin.txt", bytes(range(256)) * 50), "binary"),
        (written("cols.csv", "body,x\n안녕,1\n".encode()), "column 'content' not found"),
        (lambda d: d, "directory"),
    ],
)
def test_bad_unlabelled_files(tmp_path, capsys, make, needle):
    path = make(tmp_path)
    fails_with(
        ["--data", str(SAMPLE), *TINY, "--unlabeled", str(path)], capsys, needle, out=tmp_path / "runs"
    )
    fails_with(["pretrain", "--unlabeled", str(path), "--out", str(tmp_path / "v.model")], capsys, needle)


def test_vocab_from_vectors(unlabeled, tmp_path):
    import torch

    from nlp_pp.vectors.storage import load_vectors
    from nlp_pp.vectors.vocab import UNK_IDX, Vocab

    vectors = tmp_path / "v.model"
    assert (
        pipeline.main(
            [
                "pretrain",
                "--unlabeled",
                str(unlabeled),
                "--out",
                str(vectors),
                "--emb-dim",
                "8",
                "--fasttext-epochs",
                "1",
                "--n-jobs",
                "1",
                "--no-cache",
            ]
        )
        == 0
    )
    assert (
        pipeline.main(
            [
                "--data",
                str(SAMPLE),
                *TINY,
                "--pretrained-vectors",
                str(vectors),
                "--vocab-from-vectors",
                "--freeze-embedding",
                "--out",
                str(tmp_path),
                "--name",
                "v",
                "--no-cache",
            ]
        )
        == 0
    )
    run = tmp_path / "v"
    vocab = Vocab.load(run / "vocab.json")
    wv, _ = load_vectors(vectors)
    n = vocab.training_size
    assert set(wv.index_to_key) <= set(vocab.itos) and len(vocab) > n  # every word of the vectors is in it
    emb = {
        k: torch.load(run / "models" / f"gru-{k}-seed0.pt", weights_only=True)["model"]["state_dict"][
            "embedding.weight"
        ]
        for k in ("random", "fasttext")
    }
    # random init: the words it never trained on are unknown to it, exactly like <UNK>
    assert torch.equal(emb["random"][n:], emb["random"][UNK_IDX].expand(len(vocab) - n, -1))
    # FastText init (frozen): every word keeps its vector
    word = vocab.itos[n]
    assert torch.allclose(emb["fasttext"][n], torch.tensor(wv[word]), atol=1e-6)
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert m["dataset"]["vocab"]["from_vectors"] == len(vocab) - n
