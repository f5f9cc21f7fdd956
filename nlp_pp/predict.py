"""Load a saved run and classify new texts with its preprocessing, vocabulary and best model."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import torch

from .batching import encode_corpus
from .errors import RunError
from .preprocess import PreprocessConfig, preprocess
from .train import predict_proba, resolve_device
from .vocab import Vocab

CHECKPOINT_FORMAT = "nlp_pp.checkpoint/1"


def best_run_key(metrics: dict) -> str:
    """The model run with the best *validation* macro-F1 (then accuracy): ``lstm-fasttext-seed0``."""
    runs = metrics.get("runs") or []
    if not runs:
        raise RunError("the run has no trained model")
    best = max(runs, key=lambda r: (r["val"].get("macro_f1", 0.0), r["val"].get("accuracy", 0.0)))
    return f"{best['model']}-{best['init']}-seed{best['seed']}"


class Predictor:
    """A trained classifier with everything it needs to read raw text.

    Examples
    --------
    >>> import models                                               # doctest: +SKIP
    >>> p = Predictor("runs/spam_sample-20261122-101500", models)    # doctest: +SKIP
    >>> p.predict(["오늘 저녁 뭐 먹을래?"])                          # doctest: +SKIP
    [{'text': '오늘 저녁 뭐 먹을래?', 'label': '일상대화', 'prob': 0.98}]
    """

    def __init__(self, run_dir: str | Path, zoo: ModuleType, model: str | None = None, device: str = "cpu"):
        run = Path(run_dir)
        if not run.is_dir():
            raise RunError(f"run directory not found: {run}; give a directory under runs/ made by pipeline.py")
        try:
            info = json.loads((run / "run.json").read_text(encoding="utf-8"))
            self.labels: list[str] = list(info["labels"])
            self.context_length = int(info["context_length"])
            self.truncating = info.get("truncating", "post")
            self.preprocess_config = PreprocessConfig.from_dict(info["preprocess"])
        except FileNotFoundError:
            raise RunError(f"{run} is not an nlp_pp run directory (run.json is missing)") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError):
            raise RunError(f"{run}/run.json is corrupt or from an incompatible version") from None
        self.vocab = Vocab.load(run / "vocab.json")
        if model is None:
            metrics_path = run / "metrics.json"
            if not metrics_path.exists():
                raise RunError(f"{run} is not finished (no metrics.json); name a model with --model")
            try:
                model = best_run_key(json.loads(metrics_path.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise RunError(f"{metrics_path} is corrupt") from None
        path = run / "models" / f"{model}.pt"
        if not path.is_file():
            have = ", ".join(sorted(p.stem for p in (run / "models").glob("*.pt"))) or "none"
            raise RunError(f"no saved model {model} in {run}; saved models: {have}")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # pickle / zip errors of a damaged file
            raise RunError(f"cannot read model file {path} ({e.__class__.__name__}): corrupt or incompatible") from None
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
            raise RunError(f"model file {path} has format {found!r}, this nlp_pp reads {CHECKPOINT_FORMAT!r}; "
                           "retrain with this version")
        try:
            self.model = zoo.load_checkpoint(ckpt["model"])
        except (ValueError, KeyError, RuntimeError) as e:
            raise RunError(f"model file {path} does not fit this version's models ({str(e).splitlines()[0]})") from None
        self.device = resolve_device(device)
        self.model.to(self.device).eval()
        self.model_name = model

    def predict_proba(self, texts: Sequence[str]):
        """Class probabilities ``[N, C]`` (columns in :attr:`labels` order)."""
        tokens = preprocess(list(texts), self.preprocess_config)
        seqs = encode_corpus(tokens, self.vocab, self.context_length, self.truncating)
        return predict_proba(self.model, seqs, self.device)

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """``{"text", "label", "prob"}`` per text: the predicted label and its probability."""
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return []
        probs = self.predict_proba(texts)
        best = probs.argmax(1)
        return [{"text": t, "label": self.labels[k], "prob": float(probs[i, k])}
                for i, (t, k) in enumerate(zip(texts, best))]
