"""A trained classifier that reads raw text: load one from a run directory and predict.

    >>> clf = load_classifier("runs/spam_sample-20261122-101500")        # doctest: +SKIP
    >>> clf.predict(["오늘 저녁 뭐 먹을래?"])                              # doctest: +SKIP
    [{'text': '오늘 저녁 뭐 먹을래?', 'label': '일상대화', 'prob': 0.98}]

By default the model is the one the comparison ranked best on the validation split
(:mod:`nlp_pp.selection`); ``model=`` names another (``lstm-fasttext-seed0``, or ``tfidf_logreg``
for the baseline). Every file is read without executing code and cross-checked against the others
(vocabulary size, label count), so a damaged or mismatched run is a clear :class:`RunError`.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .batching import encode_corpus
from .errors import RunError
from .inputs import check_texts
from .preprocess import PreprocessConfig, preprocess
from .rundir import BASELINE, BASELINE_FILE, RunInfo, model_file, open_run, read_checkpoint, read_json
from .selection import best_model
from .vocab import Vocab


class Classifier:
    """Class probabilities and labels for raw texts, with the preprocessing the model was trained with."""

    def __init__(self, name: str, labels: list[str], preprocess_config: PreprocessConfig, scorer):
        self.name = name
        self.labels = labels
        self.preprocess_config = preprocess_config
        self._scorer = scorer  # texts -> probabilities [N, C]

    @property
    def max_chars(self) -> int:
        """Texts are cut to this many characters before preprocessing (as in training)."""
        return self.preprocess_config.max_chars

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities ``[N, C]`` (columns in :attr:`labels` order)."""
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        probs = self._scorer(texts)
        if not np.all(np.isfinite(probs)):
            raise RunError(f"model {self.name} produced non-finite probabilities: its weights are corrupt")
        return probs

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """``{"text", "label", "prob"}`` per text: the predicted label and its probability."""
        texts = check_texts(texts)
        probs = self.predict_proba(texts)
        best = probs.argmax(1) if len(texts) else []
        return [{"text": t, "label": self.labels[k], "prob": float(probs[i, k])}
                for i, (t, k) in enumerate(zip(texts, best))]

    def metadata(self) -> dict:
        """What this classifier is: model name, labels, preprocessing."""
        return {"model": self.name, "labels": self.labels, "preprocess": self.preprocess_config.to_dict()}


class NeuralScorer:
    """Preprocess -> vocabulary ids -> a PyTorch model -> softmax."""

    def __init__(self, model, vocab: Vocab, info: RunInfo, preprocess_config: PreprocessConfig, device):
        self.model, self.vocab, self.info, self.config, self.device = model, vocab, info, preprocess_config, device

    def __call__(self, texts: list[str]) -> np.ndarray:
        from .train import predict_proba

        tokens = preprocess(texts, self.config)
        seqs = encode_corpus(tokens, self.vocab, self.info.context_length, self.info.truncating)
        return predict_proba(self.model, seqs, self.device)


class BaselineScorer:
    """Clean -> TF-IDF -> logistic regression."""

    def __init__(self, model, preprocess_config: PreprocessConfig):
        self.model, self.clean = model, preprocess_config.cleaning

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.model.predict_proba([self.clean(t) for t in texts])


def default_model(run: Path) -> str:
    """The model a prediction uses by default: the best on validation, neural or baseline."""
    metrics_path = run / "metrics.json"
    if not metrics_path.exists():
        raise RunError(f"{run} is not finished (no metrics.json); name a model with --model")
    try:
        return best_model(read_json(metrics_path))
    except (AttributeError, KeyError, TypeError, ValueError):
        raise RunError(f"{metrics_path} is corrupt or lists no trained model") from None


def load_classifier(path: str | Path, model: str | None = None, device: str = "cpu") -> Classifier:
    """Load a classifier from a finished (or, with ``model``, an interrupted) run directory.

    Parameters
    ----------
    path : run directory made by ``pipeline.py``.
    model : ``lstm-fasttext-seed0``-style name, or ``tfidf_logreg``; default: best on validation.
    device : ``cpu``, ``cuda`` or ``auto``.

    Raises
    ------
    RunError
        The directory is not a run, a file is missing, damaged, or does not match the others.
    """
    from .train import resolve_device

    run = open_run(path)
    info = RunInfo.read(run)
    try:
        pre = PreprocessConfig.from_saved(info.preprocess)
    except Exception:
        raise RunError(f"{run}/run.json has preprocessing options this version cannot read") from None
    name = model or default_model(run)
    if name == BASELINE:
        from .baseline import TfidfBaseline

        base_path = run / "models" / BASELINE_FILE
        if not base_path.is_file():
            raise RunError(f"{run} has no saved baseline model (trained with --no-baseline?)")
        base = TfidfBaseline.load(base_path)
        if base.num_classes != len(info.labels):
            raise RunError(f"the baseline model has {base.num_classes} classes but run.json lists "
                           f"{len(info.labels)} labels: the run directory is inconsistent")
        return Classifier(name, info.labels, pre, BaselineScorer(base, pre))
    vocab = Vocab.load(run / "vocab.json")
    net = _load_network(model_file(run, name), len(vocab), len(info.labels))
    dev = resolve_device(device)
    net.to(dev).eval()
    return Classifier(name, info.labels, pre, NeuralScorer(net, vocab, info, pre, dev))


def _load_network(path: Path, vocab_size: int, num_classes: int):
    """Rebuild a network from its checkpoint, checked against the run's vocabulary and labels."""
    import torch

    from . import models

    ckpt = read_checkpoint(path)
    try:
        net = models.load_checkpoint(ckpt["model"])
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise RunError(f"model file {path} does not fit this version's models ({str(e).splitlines()[0]})") from None
    cfg = net.config
    if cfg.vocab_size != vocab_size:
        raise RunError(f"model file {path} was trained with a vocabulary of {cfg.vocab_size} tokens but vocab.json "
                       f"has {vocab_size}: the run directory's files do not belong together")
    if cfg.num_classes != num_classes:
        raise RunError(f"model file {path} predicts {cfg.num_classes} classes but run.json lists {num_classes} "
                       "labels: the run directory's files do not belong together")
    if not all(bool(torch.isfinite(p).all()) for p in net.state_dict().values() if p.is_floating_point()):
        raise RunError(f"model file {path} holds NaN or infinite weights: corrupt; retrain the model")
    return net
