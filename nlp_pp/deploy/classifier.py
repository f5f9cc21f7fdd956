"""A trained classifier that reads raw text: load one from a run directory and predict.

    >>> clf = load_classifier("runs/spam_sample-20261122-101500")        # doctest: +SKIP
    >>> clf.predict(["오늘 저녁 뭐 먹을래?"])                              # doctest: +SKIP
    [{'text': '오늘 저녁 뭐 먹을래?', 'label': '일상대화', 'prob': 0.98, 'probs': {...}, 'decision': {...}}]

By default the model is the one the comparison ranked best on the validation split
(:mod:`nlp_pp.decisions.selection`): a neural run, the TF-IDF baseline or the ensemble; ``model=`` names
another (``lstm-fasttext-seed0``, ``tfidf_logreg``, ``ensemble``). Probabilities are calibrated with
the temperature fitted on the validation split, and a binary task decides at the threshold chosen
there. Every file is read without executing code and cross-checked against the others (vocabulary
size, label count), so a damaged or mismatched run is a clear :class:`RunError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..decisions.arrays import as_logits
from ..decisions.calibration import apply_temperature
from ..decisions.selection import best_model
from ..errors import ConfigError, RunError, first_line
from ..files import read_json
from ..inputs import check_texts
from ..results import BASELINE, ENSEMBLE, Calibration, Metrics, ModelResult, Threshold
from ..text.hangul import compose
from ..text.preprocess import PreprocessConfig, preprocess
from ..training.rundir import (
    BASELINE_FILE,
    RunInfo,
    model_file,
    read_checkpoint,
    read_preprocessing,
    read_result,
)
from ..vectors.batching import encode_corpus
from ..vectors.vocab import Vocab

Scorer = Callable[[list[str]], np.ndarray]  # texts -> logits [N, C]


class Classifier:
    """Calibrated class probabilities, decisions and explanations for raw texts."""

    def __init__(
        self,
        name: str,
        labels: list[str],
        preprocess_config: PreprocessConfig,
        scorer: Scorer,
        *,
        calibration: Calibration | None = None,
        decision: Threshold | None = None,
        positive_label: str | None = None,
        neural: NeuralScorer | None = None,
        source: dict | None = None,
    ):
        self.name = name
        self.labels = labels
        self.preprocess_config = preprocess_config
        self.calibration = calibration or Calibration()  # fitted on validation, like scikit-learn's `coef_`
        self.decision = decision  # the threshold chosen on validation (binary tasks)
        self.positive_label = positive_label if len(labels) == 2 else None
        self._scorer = scorer
        self._neural = neural  # token-level access for explanations (neural models only)
        self.source = source or {}  # where it was loaded from: the run, or the export's manifest facts

    @property
    def temperature(self) -> float:
        """The temperature its probabilities are calibrated with."""
        return self.calibration.temperature

    @property
    def threshold(self) -> float | None:
        """The decision threshold of the positive class (``None``: argmax)."""
        return None if self.decision is None else self.decision.value

    @property
    def max_chars(self) -> int:
        """Texts are cut to this many characters before preprocessing (as in training)."""
        return self.preprocess_config.max_chars

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities ``[N, C]`` (columns in :attr:`labels` order)."""
        return self._proba(check_texts(texts))

    def _proba(self, texts: list[str]) -> np.ndarray:
        """:meth:`predict_proba` of texts already checked."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = self._scorer(texts)
        if not np.all(np.isfinite(logits)):
            raise RunError(f"model {self.name} produced non-finite scores: its weights are corrupt")
        return apply_temperature(logits, self.temperature)

    def decide(self, probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Class index per row: the positive class when its probability reaches the threshold, else argmax."""
        thr = self.threshold if threshold is None else threshold
        if self.positive_label is None or thr is None:
            return probs.argmax(1)
        pos = self.labels.index(self.positive_label)
        return np.where(probs[:, pos] >= thr, pos, 1 - pos)

    def predict(
        self, texts: Sequence[str], *, threshold: float | None = None, explain: bool = False, top: int = 5
    ) -> list[dict]:
        """One dict per text: ``text``, ``label``, ``prob`` (calibrated, of the label), ``probs``,
        ``decision``.

        ``decision`` (binary tasks): the positive label, the threshold used and whether the text
        reached it. ``explain=True`` adds ``explanation``: the ``top`` tokens with their signed
        contribution to the predicted label's probability (see :meth:`explain`).
        """
        if threshold is not None and (
            isinstance(threshold, bool) or not (isinstance(threshold, (int, float)) and 0 <= threshold <= 1)
        ):
            raise ConfigError(f"threshold must be a number in [0, 1] (got {threshold!r})")
        texts = check_texts(texts)
        probs = self._proba(texts)
        chosen = self.decide(probs, threshold)
        thr = self.threshold if threshold is None else threshold
        explanations = self.explain(texts, targets=chosen, top=top) if explain else None
        # plain Python numbers, converted once per array (not one NumPy scalar per value)
        rows, picked = probs.tolist(), chosen.tolist()
        labels = self.labels
        positive = None
        if self.positive_label is not None and thr is not None:
            positive = (labels.index(self.positive_label), self.positive_label, float(thr))
        out = []
        for i, (text, k, p) in enumerate(zip(texts, picked, rows)):
            row = {
                "text": text,
                "label": labels[k],
                "prob": p[k],
                "probs": dict(zip(labels, p)),
                "decision": None,
            }
            if positive is not None:
                row["decision"] = {
                    "positive_label": positive[1],
                    "threshold": positive[2],
                    "is_positive": k == positive[0],
                }
            if explanations is not None:
                row["explanation"] = explanations[i]
            out.append(row)
        return out

    def explain(
        self, texts: Sequence[str], targets: Sequence[int] | None = None, top: int = 5
    ) -> list[list[dict]]:
        """Each text's ``top`` tokens that moved its (predicted) label's probability most, by occlusion.

        A token's contribution is the calibrated probability of the label with the whole message
        minus that without the token (removed, not replaced): positive values pushed toward the
        label. Tokens are shown as readable morphemes (jamo composed back).
        """
        from ..decisions.explain import top_contributions

        return [
            [
                {"token": t, "contribution": c}
                for t, c in top_contributions(toks, contrib, k=top, display=compose)
            ]
            for toks, contrib in self.token_contributions(texts, targets)
        ]

    def token_contributions(
        self, texts: Sequence[str], targets: Sequence[int] | None = None
    ) -> list[tuple[list[str], np.ndarray]]:
        """Every token (as preprocessed, jamo) of each text with its occlusion contribution toward
        ``targets``."""
        from ..decisions.explain import occlusion

        if self._neural is None:
            raise ConfigError(
                f"explanations need a neural model; {self.name} is not one (pass --model NAME of a "
                "neural run, e.g. gru-fasttext-seed0)"
            )
        texts = check_texts(texts)
        if targets is not None:
            targets = list(targets)
            if len(targets) != len(texts) or not all(
                isinstance(t, (int, np.integer)) and not isinstance(t, bool) and 0 <= t < len(self.labels)
                for t in targets
            ):
                raise ConfigError(
                    f"targets must be one label index in [0, {len(self.labels)}) per text "
                    f"({len(texts)} texts, {len(targets)} targets)"
                )
        tokens, ids = self._neural.encode(texts)
        if targets is None:
            targets = self.decide(self.predict_proba(texts))
        proba = self._neural.proba_of_ids(self.temperature)
        out = []
        for toks, seq, target in zip(tokens, ids, targets):
            kept = toks[len(toks) - len(seq) :] if self._neural.truncating == "pre" else toks[: len(seq)]
            out.append((list(kept), occlusion(seq, proba, int(target))))
        return out

    @property
    def can_explain(self) -> bool:
        """Whether :meth:`explain` works (neural models; not the baseline or an ensemble)."""
        return self._neural is not None

    def metadata(self) -> dict:
        """What this classifier is: model, labels, decision, preprocessing, source and package versions.

        File-system paths are left out (a service shows this to any client): a stopword list is named
        by its file name, the source run by its directory name.
        """
        from ..resources import package_versions

        preprocess = self.preprocess_config.to_dict()
        if preprocess.get("stopwords") not in (None, "default"):
            preprocess["stopwords"] = Path(preprocess["stopwords"]).name
        return {
            "model": self.name,
            "labels": self.labels,
            "positive_label": self.positive_label,
            "threshold": self.threshold,
            "temperature": self.temperature,
            "max_chars": self.max_chars,
            "preprocess": preprocess,
            "explain": self.can_explain,
            "source": self.source,
            "versions": package_versions(),
        }


class NeuralScorer:
    """Preprocess -> vocabulary ids -> a :class:`~nlp_pp.deploy.inference.LogitsRunner` (eager, TorchScript or
    ONNX)."""

    def __init__(
        self, runner, vocab: Vocab, context_length: int, truncating: str, preprocess_config: PreprocessConfig
    ):
        self.runner, self.vocab, self.config = runner, vocab, preprocess_config
        self.context_length, self.truncating = context_length, truncating

    def encode(self, texts: list[str]) -> tuple[list[list[str]], list[list[int]]]:
        tokens = preprocess(texts, self.config)
        return tokens, encode_corpus(tokens, self.vocab, self.context_length, self.truncating)

    def logits_of_ids(self, seqs: list[list[int]]) -> np.ndarray:
        return self.runner.logits(seqs)

    def proba_of_ids(self, temperature: float) -> Callable[[list[list[int]]], np.ndarray]:
        return lambda seqs: apply_temperature(self.logits_of_ids(seqs), temperature)

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.logits_of_ids(self.encode(texts)[1])


class BaselineScorer:
    """Clean -> TF-IDF -> logistic regression; the log of its probabilities serves as logits."""

    def __init__(self, model, preprocess_config: PreprocessConfig):
        self.model, self.clean = model, preprocess_config.cleaning

    def __call__(self, texts: list[str]) -> np.ndarray:
        return as_logits(self.model.predict_proba([self.clean(t) for t in texts]))


class EnsembleScorer:
    """The weighted mean of calibrated member probabilities; its log serves as logits.

    ``weights`` are positive finite numbers, normalised here to sum to 1 (so their scale cannot
    overflow the mean).
    """

    def __init__(self, members: list[tuple[Scorer, float]], weights: list[float]):
        ok = (
            len(weights) == len(members) > 0
            and all(
                isinstance(w, (int, float)) and not isinstance(w, bool) and math.isfinite(w) and w > 0
                for w in weights
            )
            and math.isfinite(sum(weights))
        )
        if not ok:
            raise RunError(
                f"ensemble weights must be one positive finite number per member (got {weights!r})"
            )
        total = float(sum(weights))
        self.members, self.weights = members, [float(w) / total for w in weights]

    def __call__(self, texts: list[str]) -> np.ndarray:
        total = sum(
            w * apply_temperature(scorer(texts), t) for (scorer, t), w in zip(self.members, self.weights)
        )
        return as_logits(total)


def default_model(run: Path) -> str:
    """The model a prediction uses by default: the best on validation (neural, baseline or ensemble)."""
    metrics_path = run / "metrics.json"
    if not metrics_path.exists():
        raise RunError(f"{run} is not finished (no metrics.json); name a model with --model")
    try:
        return best_model(Metrics.from_dict(read_json(metrics_path), where=str(metrics_path)))
    except ValueError:
        raise RunError(f"{metrics_path} lists no trained model") from None


@dataclass(frozen=True)
class Part:
    """One model of a run, ready to score: its scorer, calibration and decision."""

    scorer: Scorer
    calibration: Calibration
    decision: Threshold | None
    neural: NeuralScorer | None = None


class RunReader:
    """Builds classifiers from one run directory (members of an ensemble share its vocabulary)."""

    def __init__(self, run: Path, device):
        self.run, self.device = run, device
        self.info = RunInfo.read(run)
        self.pre = read_preprocessing(self.info.preprocess, run, f"{run}/run.json")
        self._vocab: Vocab | None = None

    @property
    def vocab(self) -> Vocab:
        if self._vocab is None:
            self._vocab = Vocab.load(self.run / "vocab.json")
        return self._vocab

    def result(self, key: str) -> ModelResult:
        """The typed result saved under ``key`` (a missing one says which option left it out)."""
        if not (self.run / "results" / f"{key}.json").is_file():
            flag = {BASELINE: " (trained with --no-baseline?)", ENSEMBLE: " (trained with --no-ensemble?)"}
            raise RunError(f"{self.run} has no saved {key}{flag.get(key, '')}")
        return read_result(self.run, key)

    def part(self, name: str) -> Part:
        """One model of the run: its scorer with the temperature and threshold saved beside it."""
        if name == BASELINE:
            from ..training.baseline import TfidfBaseline

            base_path = self.run / "models" / BASELINE_FILE
            if not base_path.is_file():
                raise RunError(f"{self.run} has no saved baseline model (trained with --no-baseline?)")
            base = TfidfBaseline.load(base_path)
            if base.num_classes != len(self.info.labels):
                raise RunError(
                    f"the baseline model has {base.num_classes} classes but run.json lists "
                    f"{len(self.info.labels)} labels: the run directory is inconsistent"
                )
            saved = self.result(BASELINE)
            return Part(BaselineScorer(base, self.pre), saved.calibration, saved.threshold)
        from .inference import TorchRunner

        path = model_file(self.run, name)
        ckpt = read_checkpoint(path)
        net = _network(ckpt, path, len(self.vocab), len(self.info.labels))
        scorer = NeuralScorer(
            TorchRunner(net.to(self.device)),
            self.vocab,
            self.info.context_length,
            self.info.truncating,
            self.pre,
        )
        calibration = Calibration.from_dict({"temperature": ckpt.get("temperature", 1.0)}, where=str(path))
        raw = ckpt.get("threshold")
        decision = None if raw is None else Threshold.from_dict(raw, where=f"{path} threshold")
        return Part(scorer, calibration, decision, scorer)

    def classifier(self, name: str) -> Classifier:
        labels, positive = self.info.labels, self.info.positive_label
        if name == ENSEMBLE:
            ens = self.result(ENSEMBLE)
            if not ens.members:
                raise RunError(f"{self.run}/results/ensemble.json is corrupt (no members)")
            parts = [self.part(m) for m in ens.members]
            scorer = EnsembleScorer([(p.scorer, p.calibration.temperature) for p in parts], ens.weights)
            return Classifier(
                ENSEMBLE,
                labels,
                self.pre,
                scorer,
                calibration=ens.calibration,
                decision=ens.threshold,
                positive_label=positive,
                source={"run": self.run.name, "members": ens.members, "weights": ens.weights},
            )
        part = self.part(name)
        return Classifier(
            name,
            labels,
            self.pre,
            part.scorer,
            calibration=part.calibration,
            decision=part.decision,
            positive_label=positive,
            neural=part.neural,
            source={"run": self.run.name},
        )


def _network(ckpt: dict, path: Path, vocab_size: int, num_classes: int):
    """Rebuild a network from its checkpoint, checked against the run's vocabulary and labels."""
    import torch

    from .. import models

    try:
        net = models.load_checkpoint(ckpt["model"])
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise RunError(f"model file {path} does not fit this version's models ({first_line(e)})") from None
    cfg = net.config
    if cfg.vocab_size != vocab_size:
        raise RunError(
            f"model file {path} was trained with a vocabulary of {cfg.vocab_size} tokens but vocab.json "
            f"has {vocab_size}: the run directory's files do not belong together"
        )
    if cfg.num_classes != num_classes:
        raise RunError(
            f"model file {path} predicts {cfg.num_classes} classes but run.json lists {num_classes} "
            "labels: the run directory's files do not belong together"
        )
    if not all(bool(torch.isfinite(p).all()) for p in net.state_dict().values() if p.is_floating_point()):
        raise RunError(f"model file {path} holds NaN or infinite weights: corrupt; retrain the model")
    return net
