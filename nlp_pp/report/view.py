"""A typed view of ``metrics.json``, parsed once: the rest of the report reads attributes, not dicts.

Every number is a ``float`` (``nan`` when missing or not a finite number), every text a ``str``,
every list a list, whatever the file holds: a damaged or hand-edited ``metrics.json`` gives a report
with dashes where values are missing, never a crash.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..selection import BASELINE_INIT


def num(x: Any) -> float:
    """``float(x)``, or NaN for None, booleans, non-numbers and non-finite values."""
    if x is None or isinstance(x, bool):
        return math.nan
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list:
    return x if isinstance(x, list) else []


@dataclass(frozen=True)
class Scores:
    """The metrics of one split."""

    accuracy: float = math.nan
    macro_f1: float = math.nan
    precision: float = math.nan
    recall: float = math.nan
    roc_auc: float = math.nan
    loss: float = math.nan
    confusion: np.ndarray | None = None
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def parse(cls, d: Any) -> Scores:
        d = _dict(d)
        cm = None
        try:
            arr = np.asarray(d.get("confusion_matrix"), dtype=float)
            if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.size:
                cm = arr
        except (TypeError, ValueError):
            pass
        per_class = {str(k): {m: num(_dict(v).get(m)) for m in ("precision", "recall", "f1", "support")}
                     for k, v in _dict(d.get("per_class")).items()}
        return cls(*(num(d.get(k)) for k in ("accuracy", "macro_f1", "precision", "recall", "roc_auc", "loss")),
                   confusion=cm, per_class=per_class)

    def get(self, metric: str) -> float:
        return getattr(self, metric, math.nan)


@dataclass(frozen=True)
class Epoch:
    epoch: float
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float


@dataclass(frozen=True)
class Mistake:
    text: str
    true: str
    pred: str
    prob: float


@dataclass(frozen=True)
class RunRecord:
    """One trained model (or the baseline, ``init == "baseline"``)."""

    model: str
    init: str
    seed: int | None
    best_epoch: float
    epochs_run: float
    params: float
    train_seconds: float
    val: Scores
    test: Scores
    history: list[Epoch]
    misclassified: list[Mistake]

    @property
    def config(self) -> tuple[str, str]:
        return self.model, self.init

    @classmethod
    def parse(cls, d: Any, *, baseline: bool = False) -> RunRecord:
        d = _dict(d)
        seed = d.get("seed")
        history = []
        for i, h in enumerate(x for x in _list(d.get("history")) if isinstance(x, dict)):
            ep = num(h.get("epoch", i + 1))
            history.append(Epoch(ep, *(num(h.get(k)) for k in ("train_loss", "train_acc", "val_loss", "val_acc"))))
        mistakes = [Mistake(str(m.get("text") if m.get("text") is not None else ""), str(m.get("true", "—")),
                            str(m.get("pred", "—")), num(m.get("prob")))
                    for m in _list(d.get("misclassified")) if isinstance(m, dict)]
        model = str(d.get("name") or "tfidf_logreg") if baseline else str(d.get("model", "?"))
        return cls(model=model, init=BASELINE_INIT if baseline else str(d.get("init", "?")),
                   seed=int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else None,
                   best_epoch=num(d.get("best_epoch")), epochs_run=num(d.get("epochs_run")),
                   params=num(d.get("params")), train_seconds=num(d.get("train_seconds")),
                   val=Scores.parse(d.get("val")), test=Scores.parse(d.get("test")),
                   history=history, misclassified=mistakes)


@dataclass(frozen=True)
class Results:
    """Everything the report shows, from one ``metrics.json``."""

    raw: dict
    name: str
    created: str
    dataset: dict
    labels: list[str]
    fasttext: dict | None
    runs: list[RunRecord]
    baseline: RunRecord | None
    config: dict | None
    versions: dict
    device: str
    timings: dict

    @classmethod
    def parse(cls, results: Any) -> Results:
        if isinstance(results, Results):
            return results
        r = _dict(results)
        ds = _dict(r.get("dataset"))
        base = r.get("baseline")
        ft = r.get("fasttext")
        return cls(raw=r, name=str(r.get("name") or "run"), created=str(r.get("created") or ""), dataset=ds,
                   labels=[str(x) for x in _list(ds.get("labels"))], fasttext=ft if isinstance(ft, dict) else None,
                   runs=[RunRecord.parse(x) for x in _list(r.get("runs")) if isinstance(x, dict)],
                   baseline=RunRecord.parse(base, baseline=True) if isinstance(base, dict) else None,
                   config=r.get("config") if isinstance(r.get("config"), dict) else None,
                   versions=_dict(r.get("versions")), device=str(r.get("device") or ""),
                   timings=_dict(r.get("timings")))

    @property
    def n_test(self) -> float:
        return num(_dict(self.dataset.get("split")).get("test"))
