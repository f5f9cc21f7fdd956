"""The experiment configuration: every option of a comparison, read from the CLI and/or a TOML or YAML file.

Each option is declared once, with its default, constraint and reason. Options that belong to a
part of the library (the models' ``hidden``, the trainer's ``lr``, FastText's ``window``, the
preprocessing's ``keep_jamo``) are declared by that part's config class and *borrowed* here, so
the library and the command line share one default and one check. The part's config is derived
from an :class:`ExperimentConfig` by a method (:meth:`~ExperimentConfig.train_config`,
:meth:`~ExperimentConfig.model_config`, :meth:`~ExperimentConfig.fasttext_config`); the
preprocessing options live in the nested :class:`~nlp_pp.text.preprocess.PreprocessConfig`.

The command line and :meth:`ExperimentConfig.from_dict` take the same path
(:func:`nlp_pp.options.parse_values`),
so ``--keep-pos NN,VV`` and ``{"keep_pos": "NN,VV"}`` mean the same, and ``bidirectional = "maybe"``
in a file is refused before any work starts, like ``--bidirectional maybe`` would be.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .errors import ConfigError
from .models.config import MODEL_NAMES, RECURRENT_MODELS, ModelConfig
from .options import (
    POLICY_FORMS,
    AnyOf,
    Boolean,
    ClassWeights,
    Interval,
    ListOf,
    OneOf,
    Optional,
    Parsed,
    Text,
    ThresholdPolicy,
    borrow,
    command_line_names,
    declared,
    invalid,
    option,
    parse_values,
    shown,
    sub_config,
    validate,
)
from .resources import sample_data
from .text.preprocess import PreprocessConfig
from .training.trainer import TrainConfig
from .vectors.fasttext import FastTextConfig

INITS = ("random", "fasttext")


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that determines a comparison run (saved as ``config.json`` in the run directory)."""

    CLI: ClassVar[bool] = True  # messages name options as command-line flags (--lr)

    # data
    data: str = option(
        str(sample_data()),
        Text("a CSV path or http(s) URL"),
        "CSV file or http(s) URL (UTF-8 or CP949)",
        group="data",
        metavar="PATH|URL",
        default_text="the embedded synthetic sample, data/spam_sample.csv",
    )
    test_data: str | None = option(
        None,
        Optional(Text("a CSV path or URL")),
        "a fixed test CSV (same columns); then --data is split into train/validation only",
        group="data",
        metavar="PATH|URL",
    )
    text_col: str = option("content", Text("a column name"), "text column", group="data", metavar="COLUMN")
    label_col: str = option("class", Text("a column name"), "label column", group="data", metavar="COLUMN")
    encoding: str | None = option(
        None,
        Optional(Text("an encoding name")),
        "force the CSV encoding instead of detecting UTF-8 / CP949",
        group="data",
        metavar="NAME",
    )
    positive_label: str | None = option(
        None,
        Optional(Text("a label")),
        "positive class of a binary task for precision/recall/ROC-AUC and the decision threshold",
        group="data",
        metavar="LABEL",
        default_text="스팸문자 if present, else the second label in sorted order",
    )
    max_rows: int | None = option(
        None, Optional(Interval(int, 10)), "use a stratified random sample of this many rows", group="data"
    )
    val_size: float = option(0.15, Interval(float, 0, 1, closed="neither"), "validation share", group="data")
    test_size: float = option(
        0.15, Interval(float, 0, 1, closed="left"), "test share when there is no --test-data", group="data"
    )
    split_seed: int = option(0, Interval(int, 0), "seed of the split, the sample and FastText", group="data")
    download_timeout: float = option(
        300.0,
        Interval(float, 0, closed="neither"),
        "seconds a --data URL may take to download in total",
        group="data",
    )

    # models and training
    models: tuple[str, ...] = option(
        RECURRENT_MODELS,
        ListOf(OneOf(*MODEL_NAMES), everything=MODEL_NAMES),
        "models to compare, comma-separated, or 'all'",
        group="models",
    )
    inits: tuple[str, ...] = option(INITS, ListOf(OneOf(*INITS)), "embedding initialisations", group="models")
    seeds: tuple[int, ...] = option(
        (0,), ListOf(Interval(int, 0)), "training seeds; several give mean ± std", group="models"
    )
    epochs: int = borrow(TrainConfig, "epochs", group="models")
    freeze_epochs: int = borrow(
        TrainConfig,
        "freeze_epochs",
        group="models",
        help="keep a FastText-initialised embedding fixed for this many epochs first, then train it",
    )
    patience: int = borrow(TrainConfig, "patience", group="models")
    monitor: str = borrow(TrainConfig, "monitor", group="models")
    batch_size: int = borrow(TrainConfig, "batch_size", group="models")
    amp: bool = borrow(TrainConfig, "amp", group="models")
    lr: float = borrow(TrainConfig, "lr", group="models")
    lr_decay: float = borrow(TrainConfig, "lr_decay", group="models")
    clip: float = borrow(TrainConfig, "clip", group="models")
    weight_decay: float = borrow(TrainConfig, "weight_decay", group="models")
    sparse_embedding: bool = borrow(TrainConfig, "sparse_embedding", group="models")
    emb_dim: int = borrow(ModelConfig, "emb_dim", also=((FastTextConfig, "dim"),), group="models")
    hidden: int = borrow(ModelConfig, "hidden", group="models")
    layers: int = borrow(ModelConfig, "layers", group="models")
    bidirectional: bool = borrow(ModelConfig, "bidirectional", group="models")
    dropout: float = borrow(ModelConfig, "dropout", group="models")
    pooling: str = borrow(ModelConfig, "pooling", group="models")
    kernel_sizes: tuple[int, ...] = borrow(ModelConfig, "kernel_sizes", group="models")
    filters: int = borrow(ModelConfig, "filters", group="models")
    shared_embedding: bool = borrow(ModelConfig, "shared_embedding", group="models")
    ngram_buckets: int = borrow(ModelConfig, "ngram_buckets", group="models")
    char_ngrams: tuple[int, ...] = borrow(ModelConfig, "char_ngrams", group="models")
    jamo_ngrams: tuple[int, ...] = borrow(ModelConfig, "jamo_ngrams", group="models")
    token_bigrams: bool = borrow(ModelConfig, "token_bigrams", group="models")
    ngram_slots: int = borrow(ModelConfig, "ngram_slots", group="models")
    wide_dim: int = borrow(ModelConfig, "wide_dim", group="models")
    char_dim: int = borrow(ModelConfig, "char_dim", group="models")
    char_filters: int = borrow(ModelConfig, "char_filters", group="models")
    char_kernel_sizes: tuple[int, ...] = borrow(ModelConfig, "char_kernel_sizes", group="models")
    char_len: int = borrow(ModelConfig, "char_len", group="models")
    freeze_embedding: bool | None = option(
        None,
        Optional(Boolean()),
        "keep a FastText-initialised embedding fixed during training; default: fixed when the vectors "
        "learned from more than the labelled split (--unlabeled or --pretrained-vectors), trainable "
        "otherwise (measured: BENCHMARKS.md, small-data)",
        group="models",
        default_text="auto",
    )
    class_weight: ClassWeights = option(
        ClassWeights(),
        Parsed(ClassWeights, ClassWeights.FORMS),
        "cross-entropy weights of the "
        "classes (the baseline gets the same): none, balanced (inverse class frequency in "
        "the training split) or LABEL=W,... (e.g. 스팸문자=3)",
        group="models",
        metavar="none|balanced|LABEL=W,...",
    )
    threshold_policy: ThresholdPolicy = option(
        ThresholdPolicy("f1"),
        Parsed(ThresholdPolicy, POLICY_FORMS),
        "how each binary model's "
        "decision threshold is chosen on the validation split: f1 (highest F1), "
        "precision:0.99 (most spam caught at that precision), recall:0.95, fixed:0.5",
        group="models",
        metavar="POLICY",
    )
    ensemble: bool = option(
        True,
        Boolean(),
        "add a soft-vote ensemble of the configurations and the baseline, "
        "members and weights chosen on validation",
        group="models",
    )
    self_training_rounds: int = option(
        0,
        Interval(int, 0, 10),
        "self-training: retrain the best neural configuration with pseudo-labels (the best validation "
        "model's calibrated, confident predictions on the unlabelled text, balanced per class) for up "
        "to this many rounds, each kept only if validation macro-F1 improves; 0 turns it off "
        "(BENCHMARKS.md, self-training)",
        group="models",
        metavar="N",
    )
    self_training_texts: tuple[str, ...] = option(
        (),
        ListOf(Text("a file path"), min_len=0),
        "self-training: the unlabelled texts to pseudo-label (a CSV with the --text-col column or one "
        "message per line; repeatable); default: the --unlabeled files",
        group="models",
        metavar="FILE",
        default_text="the --unlabeled files",
    )
    self_training_confidence: float = option(
        0.9,
        Interval(float, 0, 1, closed="right"),
        "self-training: the lowest calibrated probability a pseudo-label may have",
        group="models",
        metavar="X",
    )
    self_training_max_texts: int = option(
        20000,
        Interval(int, 1, None),
        "self-training: pseudo-label at most this many unlabelled texts (a seeded random sample)",
        group="models",
        metavar="N",
    )
    ensemble_margin: float = option(
        0.0,
        Interval(float, 0, 1, closed="left"),
        "the soft vote is kept (and can be the chosen model) only when its cross-fitted validation "
        "macro-F1 minus one standard error beats picking the best single member by more than this; "
        "otherwise the ensemble is that member alone (BENCHMARKS.md, few-labels)",
        group="models",
        metavar="X",
    )
    distill: bool = option(
        False,
        Boolean(),
        "add a distilled student: one --distill-model network trained on the ensemble's calibrated "
        "probabilities over the training split and the --unlabeled texts, the ensemble's accuracy at one "
        "model's cost (BENCHMARKS.md, distill)",
        group="models",
    )
    distill_model: str = option(
        "gru",
        OneOf(*MODEL_NAMES),
        "the distilled student's model family (its sizes are the run's: --hidden, --emb-dim, ...)",
        group="models",
    )
    distill_alpha: float = option(
        0.5,
        Interval(float, 0, 1),
        "weight of the teacher's probabilities in the targets of the labelled training texts (the rest is "
        "their true label: the teacher's members saw these texts, see --distill-folds); unlabelled texts "
        "learn from the teacher alone",
        group="models",
    )
    distill_folds: int = option(
        0,
        Interval(int, 0),
        "the teacher's probabilities on the training split: 0 = from the ensemble as trained (in-sample "
        "for its members); K >= 2 = out-of-fold, each member retrained on K-1 folds to score the K-th "
        "(K times the members' training; honest probabilities where no unlabelled text is given)",
        group="models",
        metavar="K",
    )
    distill_max_unlabeled: int = option(
        100_000,
        Interval(int, 0),
        "most --unlabeled texts the student learns from (the first ones, after leaving out every labelled "
        "text)",
        group="models",
        metavar="N",
    )
    device: str = option(
        "auto",
        Text("auto, cpu, cuda or cuda:N"),
        "auto (CUDA when available), cpu or cuda[:N]",
        group="models",
        metavar="DEVICE",
    )

    # vocabulary, sequences and FastText (the preprocessing options are PreprocessConfig's)
    min_count: int = borrow(FastTextConfig, "min_count", group="vocabulary")
    length_percentile: float = option(
        95.0,
        Interval(float, 0, 100, closed="right"),
        "context length = this percentile of the training lengths",
        group="vocabulary",
    )
    truncating: str = option(
        "post",
        OneOf("pre", "post"),
        "cut long messages at the end (post) or the start (pre)",
        group="vocabulary",
    )
    fasttext_epochs: int = borrow(FastTextConfig, "epochs", group="vocabulary")
    fasttext_window: int = borrow(FastTextConfig, "window", group="vocabulary")
    min_n: int = borrow(FastTextConfig, "min_n", group="vocabulary")
    max_n: int = borrow(FastTextConfig, "max_n", group="vocabulary")
    fasttext_workers: int = borrow(FastTextConfig, "workers", group="vocabulary")
    unlabeled: tuple[str, ...] = option(
        (),
        ListOf(Text("a file path"), min_len=0),
        "unlabelled texts for "
        "FastText, besides the training split: a CSV with the --text-col column "
        "or a text file with one message per line (repeatable; streamed)",
        group="vocabulary",
        metavar="FILE",
        default_text="none",
    )
    pretrained_vectors: str | None = option(
        None,
        Optional(Text("a vectors file")),
        "use these vectors instead "
        "of training FastText: a model from 'pipeline.py pretrain', or a "
        ".vec/.bin file whose tokens match the preprocessing",
        group="vocabulary",
        metavar="PATH",
    )
    allow_preprocessing_mismatch: bool = option(
        False,
        Boolean(),
        "use --pretrained-vectors trained with other preprocessing options anyway",
        group="vocabulary",
    )
    vocab_from_vectors: bool | None = option(
        None,
        Optional(Boolean()),
        "add the FastText vectors' words to the vocabulary, so words that only unlabelled text contains "
        "keep their vector instead of becoming <UNK> (random-init models read them as <UNK>); default: on "
        "when the vectors learned from unlabelled text and the embedding is frozen (measured: "
        "BENCHMARKS.md, small-data)",
        group="vocabulary",
        default_text="auto",
    )
    vocab_from_vectors_max: int = option(
        100_000,
        Interval(int, 0),
        "most words --vocab-from-vectors adds, the vectors' most frequent first (a 2M-word .vec gave "
        "every model a 2M-row embedding); 0 adds none",
        group="vocabulary",
        metavar="N",
    )
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)

    # run
    baseline: bool = option(
        True, Boolean(), "also train the TF-IDF + logistic regression baseline", group="run"
    )
    baseline_max_rows: int | None = option(
        200_000,
        Optional(Interval(int, 1)),
        "fit the TF-IDF baseline on a seeded random sample of at most this many training texts (its sparse "
        "features grow with the texts; every validation and test text is still scored); none = all "
        "(BENCHMARKS.md, scale)",
        group="run",
        metavar="N",
    )
    n_jobs: int = option(-1, Interval(int, -1), "processes for preprocessing, -1 = all cores", group="run")
    cluster: str | None = option(
        None,
        Optional(Text("local:N or a Dask scheduler address")),
        "preprocess on a Dask cluster instead of local processes: local:N starts N local workers for the "
        "run, else the address of a running scheduler (tcp://host:8786); needs pip install '.[cluster]' "
        "(README, Scaling out; BENCHMARKS.md, cluster)",
        group="run",
        metavar="ADDRESS",
    )
    threads: int | str = option(
        "auto",
        AnyOf(OneOf("auto"), Interval(int, 1)),
        "torch threads for training and evaluation; auto: $NLP_PP_THREADS or $OMP_NUM_THREADS when set, else "
        "1 "
        "(keeps its pace beside other busy processes: BENCHMARKS.md, contention)",
        group="run",
        metavar="N|auto",
    )
    cache: bool = option(True, Boolean(), "reuse cached tokens and FastText models", group="run")
    cache_dir: str | None = option(
        None,
        Optional(Text("a directory")),
        "cache location (default: $NLP_PP_CACHE_DIR or ~/.cache/nlp_pp)",
        group="run",
        metavar="DIR",
    )
    out: str = option(
        "runs", Text("a directory"), "parent directory of run directories", group="run", metavar="DIR"
    )
    name: str | None = option(
        None,
        Optional(Text("a directory name")),
        "run directory name (default: <data file>-<date>-<time>); never overwritten",
        group="run",
    )

    def __post_init__(self) -> None:
        if isinstance(self.preprocess, dict):
            object.__setattr__(self, "preprocess", PreprocessConfig.from_dict(self.preprocess))
        if not isinstance(self.preprocess, PreprocessConfig):
            raise invalid(self, "preprocess", "a PreprocessConfig", self.preprocess)
        validate(self)
        if self.val_size + self.test_size >= 1:
            raise invalid(self, "val_size", f"below 1 - --test-size = {1 - self.test_size:g}", self.val_size)
        if self.min_n > self.max_n:
            raise invalid(self, "min_n", f"at most --max-n = {self.max_n}", self.min_n)
        if self.cluster is not None:
            from .text.cluster import check_spec

            object.__setattr__(self, "cluster", check_spec(self.cluster))
        if self.vocab_from_vectors and "fasttext" not in self.inits:
            raise invalid(self, "vocab_from_vectors", "off when fasttext is not among --inits", True)
        if self.unlabeled and self.pretrained_vectors:
            raise invalid(
                self,
                "unlabeled",
                "left out with --pretrained-vectors (pretrain on them instead)",
                self.unlabeled,
            )
        if self.self_training_rounds and not (self.self_training_texts or self.unlabeled):
            raise invalid(
                self,
                "self_training_rounds",
                "0 without unlabelled text (--unlabeled or --self-training-texts)",
                self.self_training_rounds,
            )
        if self.distill_folds == 1:
            raise invalid(self, "distill_folds", "0 (in-sample) or at least 2 folds", 1)
        if self.distill_folds and self.self_training_rounds:
            # a kept self-trained member cannot be refitted on folds of the training split alone
            raise invalid(self, "distill_folds", "0 with --self-training-rounds", self.distill_folds)
        if self.distill and not self.ensemble:
            raise invalid(
                self, "distill", "off with --no-ensemble (the ensemble is the student's teacher)", True
            )
        if self.text_col == self.label_col:
            raise invalid(self, "label_col", "a different column than --text-col", self.label_col)
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise invalid(
                    self, "encoding", "an encoding Python knows, e.g. utf-8 or cp949", self.encoding
                ) from None
        if self.name is not None and (Path(self.name).name != self.name or self.name in (".", "..")):
            raise invalid(self, "name", "a plain directory name (no path separators)", self.name)

    # --- the parts' configs, derived -------------------------------------------------------------

    def train_config(
        self, class_weight: tuple[float, ...] | None = None, init: str = "fasttext"
    ) -> TrainConfig:
        """The trainer's options for embedding init ``init`` (``class_weight``: resolved for the data's
        labels,
        see :meth:`class_weights`; ``freeze_epochs`` applies to FastText-initialised embeddings only)."""
        return sub_config(
            self,
            TrainConfig,
            class_weight=class_weight,
            freeze_epochs=self.freeze_epochs if init == "fasttext" else 0,
        )

    def class_weights(self, labels: list[str], y_train) -> tuple[float, ...] | None:
        """``--class-weight`` for these labels: ``None``, inverse frequencies, or the given numbers (default
        1)."""
        if self.class_weight.mode == "none":
            return None
        if self.class_weight.mode == "balanced":
            import numpy as np

            counts = np.bincount(np.asarray(y_train), minlength=len(labels))
            return tuple(float(len(y_train) / (len(labels) * max(c, 1))) for c in counts)
        given = self.class_weight.weights
        unknown = sorted(set(given) - set(labels))
        if unknown:
            from .errors import DataError

            raise DataError(
                f"--class-weight names label(s) not in the data: {', '.join(unknown)}; "
                f"the labels are: {', '.join(labels)}"
            )
        return tuple(given.get(lab, 1.0) for lab in labels)

    def fasttext_config(self) -> FastTextConfig:
        """The FastText options (seeded with the split seed)."""
        return sub_config(self, FastTextConfig, seed=self.split_seed)

    def model_config(self, name: str, vocab_size: int, num_classes: int, init: str = "random") -> ModelConfig:
        """The options of model ``name`` with embedding init ``init``, for a vocabulary and a label set."""
        return sub_config(
            self,
            ModelConfig,
            name=name,
            vocab_size=vocab_size,
            num_classes=num_classes,
            freeze_embedding=self.frozen_embedding(init),
        )

    def resolved(self) -> ExperimentConfig:
        """This config with every "auto" default decided, in one step (a run calls it once).

        * ``freeze_embedding`` (auto): a FastText-initialised embedding stays fixed when its vectors
          learned from more than the labelled split (``--unlabeled`` or ``--pretrained-vectors``);
        * ``vocab_from_vectors`` (auto): the vectors' words join the vocabulary when such vectors
          initialise a frozen embedding.

        Why these defaults: BENCHMARKS.md, "small-data".
        """
        learned_more = bool(self.unlabeled or self.pretrained_vectors)
        freeze = learned_more if self.freeze_embedding is None else self.freeze_embedding
        extend = self.vocab_from_vectors
        if extend is None:
            extend = "fasttext" in self.inits and freeze and learned_more
        return dataclasses.replace(self, freeze_embedding=freeze, vocab_from_vectors=extend)

    def extend_vocabulary(self) -> bool:
        """Whether the vectors' words join the vocabulary (``vocab_from_vectors``, auto resolved)."""
        return bool(self.resolved().vocab_from_vectors)

    def frozen_embedding(self, init: str) -> bool:
        """Whether an embedding with init ``init`` stays fixed: a FastText-initialised one as
        ``freeze_embedding`` says (auto resolved); a random-init embedding always trains."""
        return init == "fasttext" and bool(self.resolved().freeze_embedding)

    # --- reading and writing ---------------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists, typed values their text form); :meth:`from_dict` reads it
        back."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d = {k: str(v) if isinstance(v, (ThresholdPolicy, ClassWeights)) else v for k, v in d.items()}
        d["preprocess"] = self.preprocess.to_dict()
        return json.loads(json.dumps(d))

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, saved: bool = False) -> ExperimentConfig:
        """Build from options as a command line or a config file gives them (flat or with ``preprocess``).

        Keys may use ``-`` or ``_``; preprocessing options may sit at the top level or under
        ``preprocess``; string values are parsed as on the command line. ``saved=True`` reads a
        config written by an earlier version (missing preprocessing options take their old values).
        """
        pre_names = {f.name for f in dataclasses.fields(PreprocessConfig)}
        top: dict[str, Any] = {}
        given = d.get("preprocess")
        if given is not None and not isinstance(given, Mapping):
            raise ConfigError(
                f"preprocess must be a table of preprocessing options such as keep_jamo = true (got "
                f"{shown(given)})"
            )
        pre: dict[str, Any] = dict(given or {})
        for key, value in d.items():
            k = str(key).replace("-", "_")
            if k == "preprocess":
                continue
            (pre if k in pre_names else top)[k] = value
        with command_line_names():
            values = parse_values(cls, top)
            values["preprocess"] = (
                PreprocessConfig.from_saved(pre) if saved else PreprocessConfig.from_dict(pre)
            )
            return cls(**values)


def cli_options() -> list[tuple[type, dataclasses.Field]]:
    """The options the command line offers, in help order: the experiment's, then the preprocessing's."""
    own = [(ExperimentConfig, f) for f in declared(ExperimentConfig) if f.metadata.get("cli", True)]
    pre = [(PreprocessConfig, f) for f in declared(PreprocessConfig) if f.metadata.get("cli", True)]
    return own + pre
