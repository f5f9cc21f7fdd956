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

from ..decisions.selection import BASELINE_INIT, ENSEMBLE_INIT


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
    pr_auc: float = math.nan
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
        per_class = {
            str(k): {m: num(_dict(v).get(m)) for m in ("precision", "recall", "f1", "support")}
            for k, v in _dict(d.get("per_class")).items()
        }
        return cls(
            *(
                num(d.get(k))
                for k in ("accuracy", "macro_f1", "precision", "recall", "roc_auc", "loss", "pr_auc")
            ),
            confusion=cm,
            per_class=per_class,
        )

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
class Decision:
    """A model's calibration and operating point (binary tasks), chosen on the validation split."""

    temperature: float = math.nan
    ece_before: float = math.nan
    ece_after: float = math.nan
    policy: str = ""
    threshold: float = math.nan
    met: bool = True
    note: str = ""
    at_threshold: dict[str, float] = field(default_factory=dict)  # test metrics at the threshold
    pr_curve: tuple[list[float], list[float]] = ((), ())  # recall, precision on the test split
    roc_curve: tuple[list[float], list[float]] = ((), ())  # false-positive rate, true-positive rate

    @classmethod
    def parse(cls, d: dict) -> Decision:
        cal, thr, at = (
            _dict(d.get("calibration")),
            _dict(d.get("threshold")),
            _dict(d.get("test_at_threshold")),
        )
        curves = _dict(d.get("curves"))
        pr, roc = _dict(curves.get("pr")), _dict(curves.get("roc"))
        nums = lambda xs: [num(x) for x in _list(xs)]
        return cls(
            num(cal.get("temperature")),
            num(cal.get("ece_before")),
            num(cal.get("ece_after")),
            str(thr.get("policy") or ""),
            num(thr.get("value")),
            bool(thr.get("met", True)),
            str(thr.get("note") or ""),
            {k: num(v) for k, v in at.items()},
            (nums(pr.get("recall")), nums(pr.get("precision"))),
            (nums(roc.get("fpr")), nums(roc.get("tpr"))),
        )

    @property
    def has_threshold(self) -> bool:
        return not math.isnan(self.threshold)


@dataclass(frozen=True)
class RunRecord:
    """One trained model, or the baseline (``init == "baseline"``) or the ensemble (``init ==
    "ensemble"``)."""

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
    decision: Decision = field(default_factory=Decision)

    @property
    def config(self) -> tuple[str, str]:
        return self.model, self.init

    @classmethod
    def parse(cls, d: Any, *, kind: str | None = None) -> RunRecord:
        """A run of ``runs``; ``kind="baseline"`` or ``"ensemble"`` for those rows (named by ``name``)."""
        d = _dict(d)
        seed = d.get("seed")
        history = []
        for i, h in enumerate(x for x in _list(d.get("history")) if isinstance(x, dict)):
            ep = num(h.get("epoch", i + 1))
            history.append(
                Epoch(ep, *(num(h.get(k)) for k in ("train_loss", "train_acc", "val_loss", "val_acc")))
            )
        mistakes = [
            Mistake(
                str(m.get("text") if m.get("text") is not None else ""),
                str(m.get("true", "—")),
                str(m.get("pred", "—")),
                num(m.get("prob")),
            )
            for m in _list(d.get("misclassified"))
            if isinstance(m, dict)
        ]
        model = str(d.get("name") or kind) if kind else str(d.get("model", "?"))
        return cls(
            model=model,
            init=kind or str(d.get("init", "?")),
            seed=int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else None,
            best_epoch=num(d.get("best_epoch")),
            epochs_run=num(d.get("epochs_run")),
            params=num(d.get("params")),
            train_seconds=num(d.get("train_seconds")),
            val=Scores.parse(d.get("val")),
            test=Scores.parse(d.get("test")),
            history=history,
            misclassified=mistakes,
            decision=Decision.parse(d),
        )


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
    ensemble: RunRecord | None
    ensemble_info: dict  # members, weights, cross_fitted, beats_best_single
    comparisons: list[dict]
    explanations: dict | None
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
        base, ens = r.get("baseline"), r.get("ensemble")
        ft, ex = r.get("fasttext"), r.get("explanations")
        return cls(
            raw=r,
            name=str(r.get("name") or "run"),
            created=str(r.get("created") or ""),
            dataset=ds,
            labels=[str(x) for x in _list(ds.get("labels"))],
            fasttext=ft if isinstance(ft, dict) else None,
            runs=[RunRecord.parse(x) for x in _list(r.get("runs")) if isinstance(x, dict)],
            baseline=RunRecord.parse(base, kind=BASELINE_INIT) if isinstance(base, dict) else None,
            ensemble=RunRecord.parse(ens, kind=ENSEMBLE_INIT) if isinstance(ens, dict) else None,
            ensemble_info=_dict(ens),
            comparisons=[c for c in _list(r.get("comparisons")) if isinstance(c, dict)],
            explanations=ex if isinstance(ex, dict) else None,
            config=r.get("config") if isinstance(r.get("config"), dict) else None,
            versions=_dict(r.get("versions")),
            device=str(r.get("device") or ""),
            timings=_dict(r.get("timings")),
        )

    @property
    def binary(self) -> bool:
        return len(self.labels) == 2

    @property
    def n_test(self) -> float:
        return num(_dict(self.dataset.get("split")).get("test"))
