"""Tests of nlp_pp.decisions.metrics against values computed by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nlp_pp.decisions.metrics import classification_metrics, misclassified
from nlp_pp.results import Mistake

# Binary case, worked by hand. Class 1 ("spam") is the positive class.
#   idx     0    1    2     3    4    5    6    7    8     9
#   true    1    1    1     1    0    0    0    0    0     0
#   p(1)   .9   .8   .35   .7   .6   .2   .1   .3   .55  .05
#   pred    1    1    0     1    1    0    0    0    1     0
# TP = 3 (0, 1, 3), FN = 1 (2), FP = 2 (4, 8), TN = 4 (5, 6, 7, 9)
Y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
P1 = np.array([0.9, 0.8, 0.35, 0.7, 0.6, 0.2, 0.1, 0.3, 0.55, 0.05])
PROBS = np.stack([1 - P1, P1], axis=1)


def as_json(*args, **kwargs) -> dict:
    """classification_metrics as a run writes it (metrics.json)."""
    return classification_metrics(*args, **kwargs).to_dict()


LABELS = ["ham", "spam"]
TEXTS = [f"text {i}" for i in range(10)]


def f1(p, r):
    return 2 * p * r / (p + r)


def test_binary_metrics_by_hand():
    m = as_json(Y, PROBS, LABELS)
    assert m["accuracy"] == pytest.approx(7 / 10)
    assert m["precision"] == pytest.approx(3 / 5)  # TP / (TP + FP), positive class
    assert m["recall"] == pytest.approx(3 / 4)  # TP / (TP + FN)
    f1_spam, f1_ham = f1(3 / 5, 3 / 4), f1(4 / 5, 4 / 6)
    assert m["macro_f1"] == pytest.approx((f1_spam + f1_ham) / 2)
    # ROC-AUC: share of (positive, negative) pairs ranked correctly: .9, .8, .7 beat all 6, .35 beats 4
    assert m["roc_auc"] == pytest.approx(22 / 24)
    # confusion matrix: rows = true class, columns = predicted class
    assert m["confusion_matrix"] == [[4, 2], [1, 3]]
    expected_loss = -np.mean([math.log(P1[i] if Y[i] == 1 else 1 - P1[i]) for i in range(10)])
    assert m["loss"] == pytest.approx(expected_loss)
    assert m["per_class"] == {
        "ham": {
            "precision": pytest.approx(4 / 5),
            "recall": pytest.approx(4 / 6),
            "f1": pytest.approx(f1_ham),
            "support": 6,
        },
        "spam": {
            "precision": pytest.approx(3 / 5),
            "recall": pytest.approx(3 / 4),
            "f1": pytest.approx(f1_spam),
            "support": 4,
        },
    }
    assert all(
        isinstance(m[k], float) for k in ("accuracy", "macro_f1", "precision", "recall", "roc_auc", "loss")
    )


def test_binary_positive_class_zero():
    m = as_json(Y, PROBS, LABELS, positive=0)
    assert m["precision"] == pytest.approx(4 / 5)
    assert m["recall"] == pytest.approx(4 / 6)
    assert m["roc_auc"] == pytest.approx(22 / 24)
    assert m["accuracy"] == pytest.approx(7 / 10)
    assert m["confusion_matrix"] == [[4, 2], [1, 3]]


def test_binary_perfect_and_inverted():
    y = [0, 0, 1, 1]
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    m = as_json(y, p, LABELS)
    assert (m["accuracy"], m["macro_f1"], m["precision"], m["recall"], m["roc_auc"]) == (
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
    )
    m = as_json(y, p[:, ::-1], LABELS)
    assert m["accuracy"] == 0.0 and m["roc_auc"] == 0.0 and m["precision"] == 0.0


def test_multiclass_by_hand():
    y = [0, 1, 2, 2, 1, 0]
    probs = np.array(
        [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]]
    )
    # predictions: 0, 1, 2, 0, 2, 0
    m = as_json(y, probs, ["a", "b", "c"])
    assert m.get("roc_auc") is None
    assert m["accuracy"] == pytest.approx(4 / 6)
    # per class precision: a 2/3, b 1/1, c 1/2; recall: a 2/2, b 1/2, c 1/2
    assert m["precision"] == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    assert m["recall"] == pytest.approx((1 + 1 / 2 + 1 / 2) / 3)
    assert m["macro_f1"] == pytest.approx((f1(2 / 3, 1) + f1(1, 1 / 2) + f1(1 / 2, 1 / 2)) / 3)
    assert m["confusion_matrix"] == [[2, 0, 0], [0, 1, 1], [1, 0, 1]]
    assert set(m["per_class"]) == {"a", "b", "c"}
    assert m["per_class"]["b"]["support"] == 2


def test_multiclass_class_never_predicted_or_present():
    y = [0, 0, 1]
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    m = as_json(y, probs, ["a", "b", "c"])
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    assert m["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_binary_single_class_roc_auc_is_none():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = as_json([1, 1, 1], np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]), LABELS)
    assert m.get("roc_auc") is None


def test_misclassified_sorted_by_confidence():
    wrong = misclassified(TEXTS, Y, PROBS, LABELS)
    # wrong rows: 2 (pred ham, .65), 4 (pred spam, .6), 8 (pred spam, .55)
    assert wrong == [
        Mistake("text 2", "spam", "ham", 0.65),
        Mistake("text 4", "ham", "spam", 0.6),
        Mistake("text 8", "ham", "spam", 0.55),
    ]


def test_misclassified_limit_and_none_wrong():
    assert [w.text for w in misclassified(TEXTS, Y, PROBS, LABELS, limit=2)] == ["text 2", "text 4"]
    assert misclassified(TEXTS, Y, PROBS, LABELS, limit=0) == []
    perfect = np.eye(2)[Y]
    assert misclassified(TEXTS, Y, perfect, LABELS) == []


def test_misclassified_ties_keep_input_order():
    probs = np.array([[0.3, 0.7], [0.3, 0.7], [0.7, 0.3]])
    wrong = misclassified(["a", "b", "c"], [0, 0, 1], probs, LABELS)
    assert [w.text for w in wrong] == ["a", "b", "c"]


def test_log_loss_of_probabilities_with_zeros_warns_nothing():
    import warnings

    probs = np.array([[0.3, 0.7], [1.0, 0.0], [0.6, 0.4]])  # a hard 0 and 1, as a confident model gives
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn warns when clipped rows no longer sum to one
        loss = classification_metrics([1, 0, 0], probs, ["a", "b"]).loss
    assert loss == pytest.approx(-(np.log(0.7) + np.log(1 - 1e-7) + np.log(0.6)) / 3, rel=1e-4)
