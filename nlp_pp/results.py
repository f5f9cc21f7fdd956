"""What a run produces and every reader consumes: typed results, ``to_dict``/``from_dict``, a JSON Schema.

Writers (the experiment, the run directory, exports) build these objects; readers (selection,
``load_classifier``, the report, the benchmarks) parse a file once with ``from_dict`` and then read
attributes. ``metrics.json`` is :class:`Metrics`; each ``results/<key>.json`` is a
:class:`RunResult`, :class:`BaselineResult` or :class:`EnsembleResult`.

    >>> t = Threshold(policy=ThresholdPolicy.parse("precision:0.99"), value=0.8, met=True, note="")
    >>> t.to_dict()["policy"], Threshold.from_dict(t.to_dict()) == t
    ('precision:0.99', True)

Reading is lenient about what is *missing* (a field left out takes its default, so a results file
of an older version or a hand-made dict still reads) and strict about what is *wrong*: a value of
the wrong type is a :class:`~nlp_pp.errors.RunError` naming where it is (``runs[0].val.accuracy``).
Numbers that are not finite are written as ``null``; JSON never holds NaN.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import ConfigError
from .options import ThresholdPolicy
from .schemas import Record, optional

SCHEMA_VERSION = 2  # of metrics.json: 2 = typed results (thresholds with counts, test overlap)
BASELINE = "tfidf_logreg"  # the baseline's name in results, metrics.json and --model
ENSEMBLE = "ensemble"  # the ensemble's name in results, metrics.json and --model
DISTILLED = "distilled"  # the distilled student's name in results, metrics.json and --model


# --------------------------------------------------------------------------- one model's scores


@dataclass(frozen=True)
class ClassScores(Record):
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    support: int | None = None


@dataclass(frozen=True)
class SplitScores(Record):
    """The metrics of one split (argmax decisions of the uncalibrated probabilities).

    ``precision``/``recall``/``roc_auc``/``pr_auc`` are those of the positive class of a binary
    task (macro averages otherwise; ``roc_auc`` then ``None``). The validation split keeps
    accuracy, loss, macro-F1 and PR-AUC; an ensemble's validation ``macro_f1`` is cross-fitted and
    ``macro_f1_in_sample`` the optimistic one.
    """

    accuracy: float | None = None
    macro_f1: float | None = None
    precision: float | None = optional()
    recall: float | None = optional()
    roc_auc: float | None = optional()
    loss: float | None = None
    confusion_matrix: list[list[int]] | None = optional()
    per_class: dict[str, ClassScores] | None = optional()
    pr_auc: float | None = optional()
    macro_f1_in_sample: float | None = optional()

    def get(self, metric: str) -> float:
        """``metric`` as a float, NaN when missing (for tables and ranking)."""
        v = getattr(self, metric, None)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


@dataclass(frozen=True)
class Calibration(Record):
    """Temperature scaling fitted on validation; expected calibration error on the test split."""

    temperature: float = 1.0
    ece_before: float | None = None
    ece_after: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ConfigError(f"a temperature must be a positive number (got {self.temperature})")


@dataclass(frozen=True)
class Threshold(Record):
    """A binary model's decision threshold, chosen on validation, and what it rests on.

    Predict positive when ``p >= value``. ``met`` is False when the policy's target could not be
    reached (``note`` says what was used instead). ``flagged``, ``true_positives`` and
    ``positives`` count the validation messages at the chosen point, and
    ``precision_lower_bound`` is the 95 % Wilson lower bound of its validation precision: a 1.0
    precision measured on 20 flagged messages is not one measured on 2,000.
    """

    policy: ThresholdPolicy = field(default_factory=lambda: ThresholdPolicy("f1"))
    value: float = 0.5
    met: bool = True
    note: str = ""
    flagged: int | None = optional()
    true_positives: int | None = optional()
    positives: int | None = optional()
    precision_lower_bound: float | None = optional()

    def __post_init__(self) -> None:
        if not (isinstance(self.value, (int, float)) and 0 <= self.value <= 1):
            raise ConfigError(f"a threshold must be a number in [0, 1] (got {self.value!r})")


@dataclass(frozen=True)
class AtThreshold(Record):
    """Binary test metrics when predicting positive for ``p >= threshold`` (rates ``None`` when undefined)."""

    threshold: float
    accuracy: float | None = None
    macro_f1: float | None = None
    precision: float | None = None
    recall: float | None = None
    false_positives_per_10k: float | None = None
    missed_per_1k: float | None = None
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0


@dataclass(frozen=True)
class Curves(Record):
    """Test precision-recall and ROC curves, down-sampled for plotting."""

    pr: dict[str, list[float]] = field(default_factory=lambda: {"recall": [], "precision": []})
    roc: dict[str, list[float]] = field(default_factory=lambda: {"fpr": [], "tpr": []})
    pr_auc: float | None = None
    roc_auc: float | None = None


@dataclass(frozen=True)
class Mistake(Record):
    text: str = ""
    true: str = ""
    pred: str = ""
    prob: float | None = None


@dataclass(frozen=True)
class Evaluation(Record):
    """How one model scores and decides: what every result shares (:func:`.decisions.scoring.evaluate`).

    ``threshold``, ``test_at_threshold`` and ``curves`` exist for binary tasks only.
    """

    val: SplitScores = field(default_factory=SplitScores)
    test: SplitScores = field(default_factory=SplitScores)
    calibration: Calibration = field(default_factory=Calibration)
    threshold: Threshold | None = optional()
    test_at_threshold: AtThreshold | None = optional()
    curves: Curves | None = optional()

    def parts(self) -> dict[str, Any]:
        """The evaluation's fields by name, to build a result from: ``RunResult(..., **ev.parts())``."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Evaluation)}


@dataclass(frozen=True)
class Epoch(Record):
    epoch: int = 0
    train_loss: float | None = None
    train_acc: float | None = None
    val_loss: float | None = None
    val_acc: float | None = None
    val_f1: float | None = None
    lr: float | None = None
    seconds: float | None = None


@dataclass(frozen=True, kw_only=True)
class RunResult(Evaluation):
    """One trained model run (``results/<model>-<init>-seed<seed>.json``, one of ``metrics.json`` runs)."""

    _FIRST: ClassVar[tuple[str, ...]] = (
        "model",
        "init",
        "seed",
        "best_epoch",
        "epochs_run",
        "params",
        "train_seconds",
    )

    model: str
    init: str
    seed: int
    best_epoch: int = 0
    epochs_run: int = 0
    params: int = 0
    train_seconds: float = 0.0
    history: list[Epoch] = field(default_factory=list)
    misclassified: list[Mistake] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The name it is saved under: ``lstm-fasttext-seed0``."""
        return f"{self.model}-{self.init}-seed{self.seed}"

    @property
    def configuration(self) -> tuple[str, str]:
        return self.model, self.init


@dataclass(frozen=True, kw_only=True)
class BaselineResult(Evaluation):
    """The TF-IDF + logistic-regression baseline (``metrics.json`` ``baseline``)."""

    _FIRST: ClassVar[tuple[str, ...]] = ("name", "train_seconds")

    name: str = BASELINE
    train_seconds: float = 0.0
    fitted_on: int | None = None  # training texts it was fitted on, when --baseline-max-rows sampled them
    misclassified: list[Mistake] = field(default_factory=list)

    init: ClassVar[str] = "baseline"  # its row's "init" in tables and rankings
    seed: ClassVar[None] = None

    @property
    def key(self) -> str:
        return self.name

    @property
    def model(self) -> str:
        return self.name

    @property
    def configuration(self) -> tuple[str, str]:
        return self.name, self.init


@dataclass(frozen=True)
class CrossFit(Record):
    """The ensemble's honest validation score: fitted on some folds, scored on the held-out one."""

    metric: str = "macro_f1"
    folds: int = 2
    repeats: int = 1  # the split into folds, reshuffled this many times
    ensemble: float | None = None
    best_single: float | None = None
    ensemble_minus_best_single: float | None = None
    std_error: float | None = None  # of ensemble_minus_best_single over the held-out parts
    margin: float | None = None  # the vote is kept when the gain minus one std_error exceeds this
    in_sample_ensemble: float | None = None
    out_of_fold_temperatures: bool = False  # member temperatures fitted on the fitting part only


@dataclass(frozen=True, kw_only=True)
class EnsembleResult(Evaluation):
    """A soft vote of calibrated member probabilities (``metrics.json`` ``ensemble``)."""

    _FIRST: ClassVar[tuple[str, ...]] = (
        "name",
        "members",
        "weights",
        "candidates",
        "cross_fitted",
        "beats_best_single",
        "method",
    )

    name: str = ENSEMBLE
    members: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    candidates: int = 0
    cross_fitted: CrossFit = field(default_factory=CrossFit)
    beats_best_single: bool = False
    # "bagged greedy", "best single" (the vote did not earn its place) or "greedy" (older runs)
    method: str = "greedy"
    misclassified: list[Mistake] = field(default_factory=list)

    init: ClassVar[str] = "ensemble"  # its row's "init" in tables and rankings
    seed: ClassVar[None] = None

    def __post_init__(self) -> None:
        if len(self.members) != len(self.weights) or not all(
            math.isfinite(w) and 0 < w <= 1 for w in self.weights
        ):
            raise ConfigError("an ensemble needs one weight in (0, 1] per member")

    @property
    def key(self) -> str:
        return self.name

    @property
    def model(self) -> str:
        return self.name

    @property
    def configuration(self) -> tuple[str, str]:
        return self.name, self.init


@dataclass(frozen=True, kw_only=True)
class DistilledResult(RunResult):
    """A single student network trained on the ensemble's calibrated probabilities (``metrics.json``
    ``distilled``): the keys of a run, plus what it learned from.

    ``model`` is the student's family and ``init`` its embedding initialisation; it is saved and
    named ``distilled`` (``results/distilled.json``, ``models/distilled.pt``, ``--model distilled``).
    ``teacher`` lists the ensemble's members; ``labelled_texts`` and ``unlabeled_texts`` count the
    texts it learned from; ``alpha`` is the teacher's weight in the labelled texts' targets, ``folds``
    how the teacher scored them (0: in-sample, K: out-of-fold).
    """

    teacher: list[str] = field(default_factory=list)
    labelled_texts: int = 0
    unlabeled_texts: int = 0
    alpha: float = 0.5
    folds: int = 0

    name: ClassVar[str] = DISTILLED
    row_init: ClassVar[str] = "distilled"  # its row's "init" in tables and rankings

    @property
    def key(self) -> str:
        return DISTILLED

    @property
    def configuration(self) -> tuple[str, str]:
        return DISTILLED, self.row_init


ModelResult = RunResult | BaselineResult | EnsembleResult | DistilledResult


@dataclass(frozen=True)
class Comparison(Record):
    """A paired test of two systems' test macro-F1 on the same messages."""

    kind: str = ""
    a: str = ""
    b: str = ""
    metric: str = "macro_f1"
    diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    method: str = ""
    verdict: str = ""


@dataclass(frozen=True)
class ReliabilityBin(Record):
    lower: float = 0.0
    upper: float = 0.0
    confidence: float | None = None
    accuracy: float | None = None
    count: int = 0


@dataclass(frozen=True)
class ReliabilityBins(Record):
    n_bins: int = 0
    n: int = 0
    ece: float | None = None
    bins: list[ReliabilityBin] = field(default_factory=list)


@dataclass(frozen=True)
class Reliability(Record):
    """The best model's reliability diagram on the test split, before and after temperature scaling."""

    model: str = ""
    before: ReliabilityBins = field(default_factory=ReliabilityBins)
    after: ReliabilityBins = field(default_factory=ReliabilityBins)


@dataclass(frozen=True)
class ExplainedMistake(Record):
    text: str = ""
    true: str = ""
    pred: str = ""
    prob: float | None = None
    tokens: list[tuple[str, float]] = field(default_factory=list)  # (token, contribution)


@dataclass(frozen=True)
class Explanations(Record):
    """Tokens that most often push test messages to each class, and explained mistakes."""

    model: str = ""
    sample: int = 0
    min_count: int = 0
    per_class: dict[str, list[tuple[str, float, int]]] = field(default_factory=dict)  # token, mean, count
    misclassified: list[ExplainedMistake] = field(default_factory=list)


# --------------------------------------------------------------------------- the data and its vectors


@dataclass(frozen=True)
class LoadFacts(Record):
    """What loading a CSV found (:class:`nlp_pp.text.load.LoadReport`)."""

    source: str = ""
    sha256: str = ""
    encoding: str = ""
    text_col: str = ""
    label_col: str = ""
    rows_read: int = 0
    dropped_missing: int = 0
    dropped_duplicates: int = 0
    rows: int = 0
    sampled_from: dict[str, int] | None = None  # class sizes in the file when --max-rows sampled it


@dataclass(frozen=True)
class Split(Record):
    train: int = 0
    val: int = 0
    test: int = 0
    test_source: str = "split"
    val_size: float | None = None
    test_size: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Lengths(Record):
    """Token counts of the training split and the context length chosen from them."""

    mean: float | None = None
    median: float | None = None
    p95: float | None = None
    max: int | None = None
    percentile: float | None = None
    context_length: int = 1
    truncated_train: int | None = None
    histogram: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class VocabFacts(Record):
    size: int = 0
    min_count: int | None = None
    distinct_tokens: int | None = None
    rare_dropped: int | None = None
    coverage_train: float | None = None
    coverage_test: float | None = optional()
    from_vectors: int | None = optional()
    from_training: int | None = optional()
    vectors_left_out: int | None = optional()


@dataclass(frozen=True)
class SplitOverlap(Record):
    """``--test-data`` texts that also occur in the training file (hashed): they inflate test scores."""

    texts: int = 0
    in_training_file: int = 0


@dataclass(frozen=True, kw_only=True)
class Dataset(LoadFacts):
    """The data of a run as ``metrics.json`` records it."""

    dropped_empty: int = 0
    labels: list[str] = field(default_factory=list)
    positive_label: str | None = None
    class_counts: dict[str, int] = field(default_factory=dict)
    split: Split = field(default_factory=Split)
    lengths: Lengths = field(default_factory=Lengths)
    vocab: VocabFacts | None = optional()
    test_file: LoadFacts | None = optional()
    test_overlap: SplitOverlap | None = optional()


@dataclass(frozen=True)
class FastTextFacts(Record):
    """What the FastText vectors were trained on and how well they cover the vocabulary."""

    source: str = "trained"
    dim: int | None = optional()
    sg: int | None = optional()
    epochs: int | None = optional()
    window: int | None = optional()
    min_count: int | None = optional()
    min_n: int | None = optional()
    max_n: int | None = optional()
    workers: int | None = optional()
    seed: int | None = optional()
    bucket: int | None = optional()
    words_trained: int | None = optional()
    unlabeled_texts: int | None = optional()
    unlabeled_files: list[str] | None = optional()
    dropped_val_test: int | None = optional()
    dropped_train: int | None = optional()
    pretrained_texts: int | None = optional()
    pretrained_tokens: int | None = optional()
    seen_val_texts: int | None = optional()
    seen_test_texts: int | None = optional()
    vectors_trained: int | None = optional()
    labelled_texts: int | None = optional()
    coverage_train_tokens: float | None = optional()
    coverage: float | None = optional()
    in_vectors: int | None = optional()
    from_ngrams: int | None = optional()
    neighbours: dict[str, list[tuple[str, float]]] | None = optional()


@dataclass(frozen=True)
class ThreadSettings(Record):
    """The thread settings of a run, as applied.

    Torch's intra-op and inter-op threads (the latter cannot change once torch used it);
    ``OMP_WAIT_POLICY`` as OpenMP read it at torch's import (``None``: unset, libgomp spins then sleeps)
    and who set it (``omp_env``: ``"nlp_pp"``, ``"environment"``, ``"unknown"``); who chose ``intra_op``
    (``source``: ``"auto"``, ``"option"``, ``"NLP_PP_THREADS"``, ``"OMP_NUM_THREADS"``); the cores this
    process may use; whether the count follows the CPU other processes take (``adaptive``)."""

    intra_op: int
    inter_op: int
    omp_wait_policy: str | None
    omp_env: str
    source: str
    cores: int
    adaptive: bool = False

    def describe(self) -> str:
        """One log line: ``threads: 2 intra-op, adaptive, 1 inter-op (auto; 2 cores available;
        GOMP_SPINCOUNT=10000)``."""
        wait = self.omp_wait_policy or "OpenMP's default wait"
        return (
            f"threads: {self.intra_op} intra-op{', adaptive' if self.adaptive else ''}, {self.inter_op} "
            f"inter-op ({self.source}; {self.cores} core{'s' if self.cores != 1 else ''} available; {wait})"
        )


# --------------------------------------------------------------------------- a whole run


@dataclass(frozen=True)
class SelfTrainingRound(Record):
    """One round of self-training: how many pseudo-labels, and whether validation improved."""

    round: int = 0
    teacher: str = ""  # the model whose calibrated predictions gave the pseudo-labels
    pseudo_labels: int = 0  # added to the training split (the same number per class)
    val_macro_f1: float | None = None  # mean over the seeds of the retrained configuration
    previous_val_macro_f1: float | None = None  # what it had to beat
    kept: bool = False


@dataclass(frozen=True)
class SelfTraining(Record):
    """``--self-training-rounds``: the configuration retrained with pseudo-labels, round by round."""

    configuration: str = ""  # the best neural configuration before self-training
    texts: int = 0  # unlabelled texts pseudo-labelled (labelled texts of any split left out)
    confidence: float | None = None
    rounds: list[SelfTrainingRound] = field(default_factory=list)
    rounds_kept: int = 0
    kept: str | None = None  # the configuration of the kept runs (None: no round was kept)


@dataclass(frozen=True)
class Metrics(Record):
    """``metrics.json``: everything a finished comparison measured and chose."""

    schema_version: int = SCHEMA_VERSION
    name: str = "run"
    created: str = ""
    dataset: Dataset = field(default_factory=Dataset)
    fasttext: FastTextFacts | None = None
    runs: list[RunResult] = field(default_factory=list)
    baseline: BaselineResult | None = None
    ensemble: EnsembleResult | None = None
    distilled: DistilledResult | None = optional()
    comparisons: list[Comparison] = field(default_factory=list)
    explanations: Explanations | None = None
    reliability: Reliability | None = None
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    device: str = ""
    threads: ThreadSettings | int | None = None  # int: what runs before schema_version 2 recorded
    world_size: int = 1  # training processes (torchrun ranks); 1 = a single process
    timings: dict[str, float] = field(default_factory=dict)
    self_training: SelfTraining | None = optional()

    @property
    def labels(self) -> list[str]:
        return self.dataset.labels

    @property
    def binary(self) -> bool:
        return len(self.dataset.labels) == 2

    def result(self, key: str) -> ModelResult | None:
        """The run, baseline or ensemble saved under ``key`` (``None`` when there is none)."""
        for r in (*self.runs, self.baseline, self.ensemble, self.distilled):
            if r is not None and r.key == key:
                return r
        return None
