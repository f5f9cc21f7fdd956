"""pipeline.py tune: the search space, best.toml, the budget, Ctrl-C and --resume, bad input."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

import pipeline
from nlp_pp.config import ExperimentConfig
from nlp_pp.errors import ConfigError
from nlp_pp.files import read_config_file
from nlp_pp.tuning import space as space_mod
from nlp_pp.tuning.space import INIT, MODEL, Param, build_space, register_family
from nlp_pp.tuning.study import ONE_CONFIGURATION, base_values, trial_config, write_best_toml

optuna = pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "spam_sample.csv"


class FakeTrial:
    """Enough of optuna.Trial for SearchSpace.sample: the first choice, the low end of a range."""

    def __init__(self):
        self.asked: list[str] = []

    def suggest_categorical(self, name, choices):
        self.asked.append(name)
        return choices[-1]

    def suggest_float(self, name, low, high, log=False):
        self.asked.append(name)
        return low

    def suggest_int(self, name, low, high, log=False):
        self.asked.append(name)
        return high


# --------------------------------------------------------------------------- the space


def test_space_samples_only_what_a_family_uses():
    space = build_space()
    cnn = FakeTrial()
    values = space.sample(cnn, ("gru", "cnn"), ("random", "fasttext"))
    assert values[MODEL] == "cnn" and values[INIT] == "fasttext"
    assert "pooling" not in cnn.asked and "bidirectional" not in cnn.asked
    assert {"filters", "kernel_sizes", "lr", "keep_jamo", "freeze_embedding"} <= set(cnn.asked)
    gru = FakeTrial()
    values = space.sample(gru, ("gru",), ("random",))
    assert values[MODEL] == "gru" and MODEL not in gru.asked  # one family: not a parameter
    assert "pooling" in gru.asked and "filters" not in gru.asked
    assert "freeze_embedding" not in gru.asked  # few-label switches: FastText init only


def test_pooling_choices_follow_the_models(monkeypatch):
    monkeypatch.setattr("nlp_pp.models.config.POOLINGS", ("last", "max", "mean", "attention"))
    assert "attention" in build_space().params["pooling"].choices


def test_register_family_adds_its_parameters(monkeypatch):
    monkeypatch.setattr(space_mod, "FAMILY_PARAMS", dict(space_mod.FAMILY_PARAMS))
    monkeypatch.setattr(space_mod, "_EXTRA", {})
    monkeypatch.setattr(space_mod, "SPECIFIC", space_mod.SPECIFIC)
    register_family("wide", {"layers"}, [Param("ngram_buckets", "choice", choices=(1000, 2000))])
    space = build_space()
    assert space.applies("ngram_buckets", "wide", "random") and space.applies("layers", "wide", "random")
    assert not space.applies("ngram_buckets", "gru", "random")
    assert not space.applies("pooling", "wide", "random")
    assert space.applies("pooling", "jamo_gru", "random")  # a variant named after its recurrent family
    assert not space.applies("pooling", "other", "random")


def test_space_file_overrides_and_errors():
    space = build_space(
        {"lr": {"low": 1e-3, "high": 2e-3, "log": True}, "hidden": {"choices": [32, 64]}, "pooling": "max"}
    )
    assert (space.params["lr"].low, space.params["lr"].high) == (1e-3, 2e-3)
    assert space.params["hidden"].choices == (32, 64)
    assert space.params["pooling"].fixed and space.params["pooling"].choices == ("max",)
    assert build_space({"kernel_sizes": {"choices": [[2, 3]]}}).params["kernel_sizes"].choices == ("2,3",)
    with pytest.raises(ConfigError, match="unknown parameter 'learning_rate'"):
        build_space({"learning_rate": 0.1}, "--space s.toml")
    with pytest.raises(ConfigError, match="unknown key"):
        build_space({"lr": {"min": 0.1}})
    with pytest.raises(ConfigError, match="low <= high"):
        build_space({"dropout": {"low": 0.5, "high": 0.1}})
    with pytest.raises(ConfigError, match="above 0"):
        build_space({"lr": {"low": 0.0, "high": 0.1, "log": True}})
    with pytest.raises(ConfigError, match="choices = "):
        build_space({"pooling": {"low": 1, "high": 2}})


# --------------------------------------------------------------------------- trials and best.toml


def test_trial_config_and_the_first_trial_is_the_options_as_given():
    base = ExperimentConfig(lr=1e-3, models=("gru", "cnn"))
    space = build_space()
    given = base_values(base, space, "gru", "fasttext")
    assert given["lr"] == 1e-3 and given["hidden"] == 256 and given["stopwords"] == "none"
    assert given["freeze_embedding"] is False  # auto, resolved: no unlabelled text
    assert "filters" not in given
    cfg = trial_config(
        base, {MODEL: "cnn", INIT: "random", "lr": 5e-3, "keep_jamo": False, "kernel_sizes": "2,3"}
    )
    assert cfg.models == ("cnn",) and cfg.inits == ("random",)
    assert cfg.lr == 5e-3 and cfg.kernel_sizes == (2, 3) and cfg.preprocess.keep_jamo is False


def test_a_trial_of_a_run_with_distill_self_training_and_vectors_words_is_one_configuration(tmp_path):
    base = ExperimentConfig(
        data=str(SAMPLE),
        unlabeled=(str(SAMPLE),),
        distill=True,
        self_training_rounds=2,
        vocab_from_vectors=True,
        inits=("random", "fasttext"),
    )
    cfg = trial_config(base, {MODEL: "gru", INIT: "random"}, **ONE_CONFIGURATION)
    assert (cfg.distill, cfg.self_training_rounds, cfg.ensemble, cfg.baseline) == (False, 0, False, False)
    assert cfg.inits == ("random",) and cfg.vocab_from_vectors is None  # no vectors, no vectors' words
    assert (
        trial_config(base, {MODEL: "gru", INIT: "fasttext"}, **ONE_CONFIGURATION).vocab_from_vectors is True
    )


def test_best_toml_reproduces_the_config(tmp_path):
    cfg = trial_config(
        ExperimentConfig(data=str(SAMPLE), max_rows=500, name="x"),
        {MODEL: "lstm", INIT: "fasttext", "lr": 0.00123, "stopwords": "default", "kernel_sizes": "2,3"},
    )
    path = tmp_path / "best.toml"
    write_best_toml(path, cfg)
    again = ExperimentConfig.from_dict(read_config_file(path))
    assert again.to_dict() == {**cfg.to_dict(), "name": None}


# --------------------------------------------------------------------------- bad input at the command line


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--trials", "0"], "--trials must be an integer >= 1"),
        (["--trials", "x"], "--trials must be an integer"),
        (["--timeout", "-5"], "--timeout must be a number of seconds > 0"),
        (["--models", "transformer"], "models"),
    ],
)
def test_bad_input_is_one_line(args, needle, capsys):
    assert pipeline.main(["tune", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and needle in err and "\n" not in err


def test_unknown_parameter_in_a_space_file(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text("learning_rate = 0.1\n")
    assert pipeline.main(["tune", "--space", str(space), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'learning_rate'" in err and not (tmp_path / "o").exists()


def test_pretrained_vectors_fix_their_width_preprocessing_and_fasttext_options(tmp_path, capsys):
    """A trial that changed them could not load the vectors: they are not searched, and a space file that
    asks for them is one error line."""
    from nlp_pp.tuning.space import BOUND_BY_VECTORS, build_space

    space = build_space().without(BOUND_BY_VECTORS)
    assert not set(BOUND_BY_VECTORS) & set(space.params) and "lr" in space.params
    trial = FakeTrial()
    values = space.sample(trial, ("gru",), ("fasttext",))
    assert not set(BOUND_BY_VECTORS) & (set(values) | set(trial.asked)) and "lr" in values
    p = tmp_path / "space.toml"
    p.write_text("emb_dim = 300\nhidden = 16\n")
    vectors = tmp_path / "v.npz"
    vectors.write_bytes(b"")
    args = ["tune", "--space", str(p), "--pretrained-vectors", str(vectors), "--out", str(tmp_path / "o")]
    assert pipeline.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "emb_dim cannot be searched with --pretrained-vectors" in err
    assert "\n" not in err and not (tmp_path / "o").exists()


def test_a_resumed_study_checks_the_budget_it_saved(tmp_path, capsys):
    import json

    d = tmp_path / "t"
    d.mkdir()
    saved = {"format": "nlp_pp.tune/1", "experiment": ExperimentConfig().to_dict(), "trials": "many"}
    (d / "tune.json").write_text(json.dumps(saved), encoding="utf-8")
    assert pipeline.main(["tune", "--resume", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --trials must be an integer >= 1 (got 'many')"


def test_tune_without_optuna(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    assert pipeline.main(["tune", "--trials", "2"]) == 2
    assert "pip install 'nlp_pp[tune]'" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end

TINY_SPACE = """
hidden = 16
emb_dim = 16
batch_size = 64
fasttext_epochs = 1
layers = 1
jamo = true
"""
TINY = ["--max-rows", "300", "--epochs", "2", "--n-jobs", "1", "--fasttext-epochs", "1", "--hidden", "16",
        "--emb-dim", "16"]  # fmt: skip


@pytest.fixture()
def space_file(tmp_path) -> Path:
    p = tmp_path / "space.toml"
    p.write_text(TINY_SPACE)
    return p


@pytest.mark.slow
def test_tune_end_to_end_best_toml_reproduces(tmp_path, space_file, capsys, monkeypatch):
    from nlp_pp.training import fitting

    test_reads = []
    real = fitting.predict_logits

    def spy(net, seqs, *a, **k):  # during the search, only validation sequences are scored
        test_reads.append(len(seqs))
        return real(net, seqs, *a, **k)

    monkeypatch.setattr(fitting, "predict_logits", spy)
    out = tmp_path / "out"
    args = [
        "tune",
        "--data",
        str(SAMPLE),
        *TINY,
        "--models",
        "gru,cnn",
        "--trials",
        "3",
        "--space",
        str(space_file),
    ]
    assert pipeline.main([*args, "--out", str(out), "--name", "t", "--no-final"]) == 0
    tune = out / "t"
    assert {"best.toml", "trials.csv", "report.html", "report.md", "study.journal", "tune.json"} <= {
        p.name for p in tune.iterdir()
    }
    assert not (tune / "best").exists()  # --no-final: the test split never read
    rows = list(csv.DictReader((tune / "trials.csv").open()))
    assert len(rows) == 3 and rows[0]["as_given"] == "True"
    n_val = len(test_reads)
    assert n_val >= 1 and set(test_reads) == {test_reads[0]}  # one size: the validation split's
    best = max((r for r in rows if r["state"] == "complete"), key=lambda r: float(r["val_macro_f1"]))
    md = (tune / "report.md").read_text()
    assert "Parameter importance" in md and "Trials" in md
    # best.toml reproduces the best trial's validation score
    rerun = ["--config", str(tune / "best.toml"), "--out", str(tmp_path / "rerun"), "--name", "r"]
    assert pipeline.main([*rerun, "--no-baseline", "--no-ensemble"]) == 0
    from nlp_pp.training.experiment import load_metrics

    m = load_metrics(tmp_path / "rerun" / "r")
    assert m.runs[0].model == best["model"] or best["model"] == ""
    assert abs(m.runs[0].val.macro_f1 - float(best["val_macro_f1"])) < 0.02


@pytest.mark.slow
def test_ctrl_c_keeps_trials_and_resume_continues(tmp_path, space_file, capsys, monkeypatch):
    from nlp_pp.training import fitting

    real, calls = fitting.validation_score, []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(fitting, "validation_score", interrupted)
    out = tmp_path / "out"
    args = [
        "tune",
        "--data",
        str(SAMPLE),
        *TINY,
        "--models",
        "gru",
        "--trials",
        "3",
        "--space",
        str(space_file),
    ]
    assert pipeline.main([*args, "--out", str(out), "--name", "t", "--no-final"]) == 130
    err = capsys.readouterr().err
    assert "1 finished trial(s) kept" in err and "tune --resume" in err
    monkeypatch.setattr(fitting, "validation_score", real)
    assert pipeline.main(["tune", "--resume", str(out / "t"), "--no-final"]) == 0
    rows = list(csv.DictReader((out / "t" / "trials.csv").open()))
    assert sum(r["state"] == "complete" for r in rows) == 3  # the interrupted one failed, not counted
    assert pipeline.main(["tune", "--resume", str(out / "t"), "--lr", "0.1"]) == 2


@pytest.mark.slow
def test_a_budget_too_small_for_one_trial(tmp_path, space_file, capsys):
    args = [
        "tune",
        "--data",
        str(SAMPLE),
        *TINY,
        "--models",
        "gru",
        "--timeout",
        "0.01",
        "--space",
        str(space_file),
    ]
    assert pipeline.main([*args, "--out", str(tmp_path / "o"), "--name", "t"]) == 2
    err = capsys.readouterr().err
    assert "--timeout 0.01 s ended before one trial finished" in err
    assert not (tmp_path / "o" / "t").exists()


def test_trials_never_preprocess_a_test_file(tmp_path):
    import pandas as pd

    from nlp_pp.cache import Cache
    from nlp_pp.training.dataset import prepare_data

    test = tmp_path / "test.csv"
    pd.read_csv(SAMPLE).head(50).to_csv(test, index=False)
    cfg = ExperimentConfig(data=str(SAMPLE), test_data=str(test), max_rows=200, n_jobs=1)
    prep = prepare_data(cfg, Cache(None), test_tokens=False)
    assert len(prep.tokens["test"]) == 0 and len(prep.texts["test"]) == 50 and len(prep.tokens["train"]) > 0
