"""Export directories made by hand (no training): every manifest field is checked when loaded, nothing
outside the export is read, and a loaded export predicts (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nlp_pp.deploy import bundle
from nlp_pp.deploy.load import load_classifier
from nlp_pp.errors import ConfigError, RunError
from nlp_pp.models import ModelConfig, build_model
from nlp_pp.text.preprocess import PreprocessConfig
from nlp_pp.vectors.vocab import Vocab

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

V = 40
WORDS = [f"w{i}" for i in range(V - 2)]


def _net(seed: int):
    torch.manual_seed(seed)
    return build_model(ModelConfig(name="avg", vocab_size=V, num_classes=2, emb_dim=4, hidden=4))


def make_export(root: Path, *, ensemble: bool = False, stopwords: list[str] | None = None) -> Path:
    """An export directory like ``pipeline.py export`` writes: avg models over a jamo-free vocabulary."""
    from nlp_pp.deploy.graphs import export_onnx

    (root / "models").mkdir(parents=True)
    Vocab(["<PAD>", "<UNK>", *WORDS]).save(root / "vocab.json")
    names = ["avg-random-seed0", "avg-random-seed1"] if ensemble else ["avg-random-seed0"]
    members = []
    for i, name in enumerate(names):
        export_onnx(_net(i), root / "models" / f"{name}.onnx", verify=False)
        members.append({"name": name, "kind": "neural", "file": f"models/{name}.onnx", "temperature": 1.0})
    pre = PreprocessConfig(jamo=False).to_dict()
    if stopwords is not None:
        (root / "stopwords.txt").write_text("\n".join(stopwords) + "\n", encoding="utf-8")
        pre["stopwords"] = "stopwords.txt"
    manifest = {
        "format": bundle.FORMAT,
        "created": "2026-12-01T00:00:00",
        "model": "ensemble" if ensemble else names[0],
        "backend": "onnx",
        "quantize": None,
        "labels": ["ham", "spam"],
        "positive_label": "spam",
        "threshold": 0.5,
        "temperature": 1.0,
        "preprocess": pre,
        "context_length": 16,
        "truncating": "post",
        "members": members,
        "weights": [0.5, 0.5] if ensemble else None,
        "versions": {},
        "source": {"run": "/home/someone/secret/runs/r", "metrics": {}},
    }
    write_manifest(root, manifest)
    return root


def write_manifest(root: Path, manifest: dict) -> None:
    """Write ``manifest`` with the digests of the files as they are now (as a forger would)."""
    manifest = {**manifest, "files": bundle.file_digests(root)}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def tamper(root: Path, change) -> Path:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    change(manifest)
    manifest.pop("files", None)
    write_manifest(root, manifest)
    return root


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    return make_export(tmp_path_factory.mktemp("e") / "single")


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory) -> Path:
    return make_export(tmp_path_factory.mktemp("e") / "ensemble", ensemble=True)


def copy(src: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(src, tmp_path / src.name))


def test_a_hand_made_export_loads_and_predicts(single, ensemble):
    for root in (single, ensemble):
        clf = load_classifier(root)
        rows = clf.predict(["w1 w2", ""])
        assert [r["label"] in ("ham", "spam") for r in rows] == [True, True]


def _set(key, value):
    return lambda m: m.__setitem__(key, value)


def _pre(key, value):
    return lambda m: m["preprocess"].__setitem__(key, value)


def _member(key, value, i=0):
    return lambda m: m["members"][i].__setitem__(key, value)


@pytest.mark.parametrize(
    "change, needle",
    [
        (_set("labels", [0, 1]), "every label must be a non-empty string"),
        (_set("labels", ["ham", "ham"]), "the same label twice"),
        (_set("positive_label", "eggs"), "positive_label 'eggs' is not one of the two labels"),
        (_set("positive_label", 1), "positive_label 1 is not one of the two labels"),
        (_set("context_length", 0), "context_length must be an integer in"),
        (_set("context_length", -5), "context_length must be an integer in"),
        (_set("context_length", "16"), "context_length must be an integer in"),
        (_set("context_length", 16.0), "context_length must be an integer in"),
        (_set("truncating", "middle"), "truncating must be pre or post"),
        (_set("preprocess", {}), "preprocess lacks"),
        (_set("preprocess", [1, 2]), "preprocess must be a JSON object"),
        (_pre("max_chars", 10**12), "max_chars"),
        (_pre("max_chars", "5000"), None),  # a string is parsed like a command line's: allowed
        (_pre("jamo", "maybe"), "jamo"),
        (_pre("stopwords", "/etc/passwd"), "is not one of the export's files"),
        (_pre("stopwords", "../stopwords.txt"), "is not one of the export's files"),
        (_pre("stopwords", "vocab.json/../../x"), "is not one of the export's files"),
        (_member("kind", "magic"), "kind 'magic', not one of neural, baseline"),
        (_member("temperature", 0), "temperature or threshold"),
        (_member("temperature", -1.0), "temperature or threshold"),
        (_member("file", "models/../vocab.json"), "is not a path inside the export"),
        (_set("temperature", "1"), "temperature or threshold"),
        (_set("model", ""), "model must be a non-empty string"),
        (_set("quantize", "int4"), "quantize must be null or int8"),
    ],
)
def test_every_manifest_field_is_checked_when_loaded(single, tmp_path, change, needle):
    root = tamper(copy(single, tmp_path), change)
    if needle is None:
        load_classifier(root)
        return
    with pytest.raises(RunError, match=needle):
        load_classifier(root)


@pytest.mark.parametrize(
    "weights, needle",
    [
        ([0, 1], "positive and of finite sum"),
        ([-1, 2], "positive and of finite sum"),
        ([1e308, 1e308], "positive and of finite sum"),
        (["0.5", "0.5"], "every ensemble weight must be a finite number"),
        ([True, 1], "every ensemble weight must be a finite number"),
        ([0.5], "a list of 2 numbers"),
    ],
)
def test_ensemble_weights_are_checked(ensemble, tmp_path, weights, needle):
    root = tamper(copy(ensemble, tmp_path), _set("weights", weights))
    with pytest.raises(RunError, match=needle):
        load_classifier(root)


def test_ensemble_weights_are_normalised(ensemble, tmp_path):
    """Weights of any positive scale give the same probabilities (1e300 overflowed the mean to 0.5/0.5)."""
    texts = ["w1 w2 w3", "w4", "w5 w5 w6"]
    expected = load_classifier(ensemble).predict_proba(texts)
    root = tamper(copy(ensemble, tmp_path), _set("weights", [1e300, 1e300]))
    np.testing.assert_allclose(load_classifier(root).predict_proba(texts), expected, rtol=1e-6)


def test_a_deeply_nested_manifest_is_one_error(single, tmp_path):
    root = copy(single, tmp_path)
    (root / "manifest.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(RunError, match="nested too deeply"):
        load_classifier(root)


def test_a_deeply_nested_vocabulary_is_one_error(tmp_path):
    (tmp_path / "vocab.json").write_text('{"itos": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(RunError, match=r"vocabulary file .* is corrupt"):
        Vocab.load(tmp_path / "vocab.json")


def test_the_stopword_list_travels_inside_the_export(tmp_path):
    root = make_export(tmp_path / "s", stopwords=["w1", "w2"])
    clf = load_classifier(root)
    assert (
        clf.predict(["w1 w2 w3"])[0]["label"] and clf.metadata()["preprocess"]["stopwords"] == "stopwords.txt"
    )
    stop = root / "stopwords.txt"
    stop.write_text("w3\n", encoding="utf-8")
    with pytest.raises(RunError, match=r"stopwords\.txt is missing or changed since the export"):
        load_classifier(root)
    stop.unlink()
    with pytest.raises(RunError, match=r"stopwords\.txt is missing or changed since the export"):
        load_classifier(root)


def test_a_stopword_path_relative_to_the_working_directory_is_not_read(single, tmp_path, monkeypatch):
    (tmp_path / "list.txt").write_text("w1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    root = tamper(copy(single, tmp_path / "c"), _pre("stopwords", "list.txt"))
    with pytest.raises(RunError, match="is not one of the export's files"):
        load_classifier(root)


def test_metadata_shows_no_file_system_paths(single, tmp_path):
    meta = json.dumps(load_classifier(single).metadata())
    assert str(single.parent) not in meta and "/home/someone" not in meta
    assert json.loads(meta)["source"]["exported_from"]["run"] == "r"


def test_explain_needs_one_target_per_text(single):
    clf = load_classifier(single)
    with pytest.raises(ConfigError, match=r"one label index .* per text"):
        clf.explain(["w1 w2", "w3"], targets=[0])
    with pytest.raises(ConfigError, match="one label index"):
        clf.explain(["w1"], targets=[5])
    assert len(clf.explain(["w1 w2", "w3"], targets=[0, 1])) == 2


@pytest.mark.parametrize("threshold", [True, False, 1.5, "0.5"])
def test_predict_threshold_must_be_a_number_in_0_1(single, threshold):
    with pytest.raises(ConfigError, match="threshold must be a number in"):
        load_classifier(single).predict(["w1"], threshold=threshold)


@pytest.mark.parametrize("model", ["", "  "])
def test_an_empty_model_name_is_not_the_default(single, model):
    with pytest.raises(ConfigError, match="--model must name a saved model"):
        load_classifier(single, model=model)
