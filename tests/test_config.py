"""Each option declared once: defaults, constraints, the CLI and from_dict agree (nlp_pp.options,
nlp_pp.config)."""

from __future__ import annotations

import dataclasses
import math

import pytest

import pipeline
from nlp_pp.cli import parsing as cli_module
from nlp_pp.config import ExperimentConfig, cli_options
from nlp_pp.errors import ConfigError
from nlp_pp.models import ModelConfig
from nlp_pp.options import declared
from nlp_pp.text.preprocess import PreprocessConfig
from nlp_pp.training.trainer import TrainConfig
from nlp_pp.vectors.fasttext import FastTextConfig


def cli(*args: str) -> ExperimentConfig:
    return pipeline.build_config(pipeline.run_parser().parse_args(list(args)))


def test_every_default_satisfies_its_own_constraint():
    for cls in (ExperimentConfig, PreprocessConfig, TrainConfig, FastTextConfig, ModelConfig):
        for f in declared(cls):
            if f.default is dataclasses.MISSING:
                continue
            c = f.metadata["constraint"]
            assert c.check(c.normalize(f.default)), (cls.__name__, f.name, f.default)


def test_sub_configs_are_derived_from_the_experiment_values():
    cfg = ExperimentConfig(
        hidden=32,
        emb_dim=24,
        lr=0.01,
        epochs=3,
        fasttext_window=7,
        fasttext_epochs=2,
        min_count=2,
        bidirectional=False,
        split_seed=5,
    )
    m = cfg.model_config("gru", vocab_size=50, num_classes=3)
    assert (m.name, m.vocab_size, m.num_classes, m.hidden, m.emb_dim, m.bidirectional) == (
        "gru",
        50,
        3,
        32,
        24,
        False,
    )
    t = cfg.train_config()
    assert (t.lr, t.epochs, t.batch_size) == (0.01, 3, cfg.batch_size)
    ft = cfg.fasttext_config()
    assert (ft.dim, ft.window, ft.epochs, ft.min_count, ft.seed) == (24, 7, 2, 2, 5)
    # every field the experiment borrows reaches the part's config unchanged
    for f in dataclasses.fields(ExperimentConfig):
        for owner, name in f.metadata.get("feeds", ()):
            part = {ModelConfig: m, TrainConfig: t, FastTextConfig: ft}[owner]
            assert getattr(part, name) == getattr(cfg, f.name), f.name


def test_library_and_pipeline_share_one_default_per_option():
    cfg = ExperimentConfig()
    assert cfg.model_config("lstm", 10, 2) == ModelConfig("lstm", 10, 2)
    assert cfg.train_config() == TrainConfig()
    assert cfg.fasttext_config() == FastTextConfig()
    assert cfg.preprocess == PreprocessConfig()


def test_the_cli_and_from_dict_accept_the_same_strings():
    from_cli = cli(
        "--keep-pos",
        "NN,VV",
        "--models",
        "all",
        "--seeds",
        "0,1",
        "--no-bidirectional",
        "--stopwords",
        "none",
        "--max-rows",
        "100",
    )
    from_dict = ExperimentConfig.from_dict(
        {
            "keep_pos": "NN,VV",
            "models": "all",
            "seeds": "0,1",
            "bidirectional": "false",
            "stopwords": "none",
            "max_rows": "100",
        }
    )
    assert from_cli == from_dict
    assert from_dict.preprocess.keep_pos == ("NN", "VV")  # two tag prefixes, not the one prefix "NN,VV"
    assert from_dict.models == ("rnn", "lstm", "gru", "cnn", "hybrid", "avg", "wide_gru", "jamo_gru")
    assert ExperimentConfig.from_dict(
        {"keep_pos": ["NN", "VV"], "bidirectional": False}
    ).preprocess.keep_pos == ("NN", "VV")


@pytest.mark.parametrize(
    "key, value",
    [
        ("lr", "20"),
        ("lr", "inf"),
        ("epochs", "0"),
        ("epochs", "2.5"),
        ("dropout", "1"),
        ("models", "rnn,bert"),
        ("models", ""),
        ("seeds", "0,0"),
        ("pooling", "avg"),
        ("char_ngrams", "0"),
        ("ngram_buckets", "1"),
        ("monitor", "f1"),
        ("fasttext_workers", "-1"),
        ("min_n", "7"),
        ("val_size", "0"),
        ("text_col", ""),
        ("encoding", "klingon"),
        ("name", "../escape"),
    ],
)
def test_the_cli_and_from_dict_reject_the_same_values_with_the_same_message(key, value):
    with pytest.raises(ConfigError) as from_dict:
        ExperimentConfig.from_dict({key: value})
    with pytest.raises(ConfigError) as from_cli:
        cli(f"--{key.replace('_', '-')}", value)
    assert str(from_cli.value) == str(from_dict.value)
    assert str(from_dict.value).startswith(f"--{key.replace('_', '-')} must be")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TrainConfig(lr=math.inf), r"TrainConfig.lr must be a number in \(0, 10\) \(got inf\)"),
        (lambda: TrainConfig(epochs=True), r"TrainConfig.epochs must be an integer >= 1 \(got True\)"),
        (lambda: ExperimentConfig(clip=math.nan), r"--clip must be a number >= 0 \(got nan\)"),
        (lambda: ExperimentConfig(bidirectional="no"), r"--bidirectional must be true or false \(got 'no'\)"),
        (
            lambda: ModelConfig("gru", 10, 2, hidden=0),
            r"ModelConfig.hidden must be an integer >= 1 \(got 0\)",
        ),
        (lambda: FastTextConfig(min_n=4, max_n=3), r"FastTextConfig.min_n must be at most max_n=3 \(got 4\)"),
        (
            lambda: PreprocessConfig(max_chars=-1),
            r"PreprocessConfig.max_chars must be an integer in \[1, 100000\]",
        ),
        (lambda: ExperimentConfig(text_col="x", label_col="x"), "--label-col must be a different column"),
    ],
)
def test_library_configs_refuse_bad_values_naming_the_field(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_help_shows_every_option_with_the_default_from_its_declaration(capsys):
    with pytest.raises(SystemExit):
        pipeline.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for _, f in cli_options():
        assert f"--{f.name.replace('_', '-')}" in out
    assert "(default: 256)" in out and "(default: 0.002)" in out and "(default: rnn,lstm,gru)" in out
    for _, f in cli_options():
        assert f"(default: {cli_module._default_text(f)})" in out, f.name


def test_a_config_file_is_checked_before_any_work(tmp_path, capsys):
    cfg = tmp_path / "exp.toml"
    cfg.write_text('bidirectional = "maybe"\n', encoding="utf-8")
    code = pipeline.main(["--config", str(cfg), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and err == "error: --bidirectional must be true or false (got 'maybe')\n"
    assert not (tmp_path / "runs").exists()
    cfg.write_text('bidirectional = "false"\nkeep_pos = "NN,VV"\n', encoding="utf-8")
    parsed = pipeline.build_config(pipeline.run_parser().parse_args(["--config", str(cfg)]))
    assert parsed.bidirectional is False and parsed.preprocess.keep_pos == ("NN", "VV")


def test_the_embedding_is_frozen_by_default_only_when_it_learned_from_unlabelled_text():
    plain, pre = ExperimentConfig(), ExperimentConfig(pretrained_vectors="ft.model")
    unl = ExperimentConfig(unlabeled=("more.txt",))
    assert plain.frozen_embedding("fasttext") is False and plain.frozen_embedding("random") is False
    assert pre.frozen_embedding("fasttext") is True and pre.frozen_embedding("random") is False
    assert unl.model_config("gru", 10, 2, "fasttext").freeze_embedding is True
    assert (
        ExperimentConfig(unlabeled=("m.txt",), freeze_embedding=False).frozen_embedding("fasttext") is False
    )
    assert ExperimentConfig(freeze_embedding=True).frozen_embedding("fasttext") is True  # as asked
    assert (
        ExperimentConfig(freeze_embedding=True).frozen_embedding("random") is False
    )  # random rows must train
    assert ExperimentConfig(freeze_epochs=2).train_config(None, "fasttext").freeze_epochs == 2
    assert ExperimentConfig(freeze_epochs=2).train_config(None, "random").freeze_epochs == 0
    assert cli("--no-freeze-embedding").freeze_embedding is False and cli().freeze_embedding is None


def test_the_vocabulary_takes_the_vectors_words_by_default_with_a_frozen_unlabelled_text_embedding():
    assert ExperimentConfig().extend_vocabulary() is False
    assert ExperimentConfig(pretrained_vectors="ft.model").extend_vocabulary() is True
    assert ExperimentConfig(unlabeled=("m.txt",), freeze_embedding=False).extend_vocabulary() is False
    assert ExperimentConfig(unlabeled=("m.txt",), vocab_from_vectors=False).extend_vocabulary() is False
    assert ExperimentConfig(vocab_from_vectors=True).extend_vocabulary() is True  # as asked
    assert ExperimentConfig(pretrained_vectors="v", inits=("random",)).extend_vocabulary() is False


# --- hostile config files (issue 21) -------------------------------------------------------------


def _config_fails(tmp_path, capsys, name: str, text: str | bytes, *needles: str) -> str:
    from tests.conftest import fails_with

    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return fails_with(["--config", str(path)], capsys, *needles, out=tmp_path / "runs")


@pytest.mark.parametrize(
    "text, needle",
    [
        ("models: [[gru]]", "--models must be"),
        ("seeds: [[1]]", "--seeds must be"),
        ("unlabeled: [[a.txt]]", "--unlabeled must be"),
        ("keep_pos: [[NN]]", "--keep-pos must be"),
        ("preprocess: 5", "preprocess must be a table"),
        ("preprocess: abc", "preprocess must be a table"),
        ("preprocess: [1, 2]", "preprocess must be a table"),
    ],
)
def test_nested_lists_and_a_preprocess_that_is_not_a_table_are_one_error(tmp_path, capsys, text, needle):
    _config_fails(tmp_path, capsys, "c.yaml", text, needle)


def test_a_billion_laughs_config_is_refused_at_once(tmp_path, capsys):
    import time

    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(
            f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]"
        )
    lines.append("models: *i")
    t0 = time.monotonic()
    _config_fails(tmp_path, capsys, "lol.yaml", "\n".join(lines) + "\n", "more than 10000 values")
    assert time.monotonic() - t0 < 5


def test_an_invalid_value_is_shown_shortened(tmp_path, capsys):
    deep = "x" * 400_000
    err = _config_fails(tmp_path, capsys, "c.toml", f'models = [[[[["{deep}"]]]]]\n', "--models must be")
    assert len(err.strip().splitlines()[-1]) < 600
    err = _config_fails(tmp_path, capsys, "d.toml", f'epochs = "{deep}"\n', "--epochs must be")
    assert len(err.strip().splitlines()[-1]) < 600


def test_a_toml_config_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes("\ufeffepochs = 3\n".encode())
    assert cli("--config", str(path)).epochs == 3


def test_a_config_that_is_a_directory_says_so(tmp_path, capsys):
    from tests.conftest import fails_with

    fails_with(["--config", str(tmp_path)], capsys, "is a directory", out=tmp_path / "runs")
