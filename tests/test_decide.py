"""Tests of the decision functions (nlp_pp.decisions): thresholds on hand-made scores, calibration on
synthetic logits, Caruana ensembles."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import average_precision_score, f1_score, log_loss, precision_score, recall_score

from nlp_pp.decisions.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)
from nlp_pp.decisions.curves import curve_points, pr_auc
from nlp_pp.decisions.ensemble import Ensemble, cross_fit_ensemble_score, fit_ensemble, score_probs
from nlp_pp.decisions.thresholds import (
    ThresholdPolicy,
    choose_threshold,
    metrics_at_threshold,
    parse_threshold_policy,
)
from nlp_pp.errors import ConfigError, DataError
from nlp_pp.results import Threshold


def strict_json(obj) -> str:
    """The JSON a run would write: records through their to_dict, never NaN."""
    if isinstance(obj, list):
        obj = [o.to_dict() if hasattr(o, "to_dict") else o for o in obj]
    elif hasattr(obj, "to_dict"):
        obj = obj.to_dict()
    return json.dumps(obj, allow_nan=False)


# ----------------------------------------------------------------------------------------------------
# policies
@pytest.mark.parametrize(
    "text, kind, target",
    [
        ("f1", "f1", None),
        (" F1 ", "f1", None),
        ("precision:0.99", "precision", 0.99),
        ("recall:0.95", "recall", 0.95),
        ("precision:1", "precision", 1.0),
        ("fixed:0.5", "fixed", 0.5),
        ("fixed:0", "fixed", 0.0),
        ("fixed:1", "fixed", 1.0),
        ("Recall: 0.9", "recall", 0.9),
    ],
)
def test_parse_valid(text, kind, target):
    policy = parse_threshold_policy(text)
    assert policy == ThresholdPolicy(kind, target)
    assert parse_threshold_policy(str(policy)) == policy  # the canonical form reads back


@pytest.mark.parametrize(
    "text",
    [
        "",
        "f2",
        "f1:0.5",
        "precision",
        "precision:",
        "precision:0",
        "precision:1.5",
        "recall:-0.1",
        "fixed:1.2",
        "fixed:-0.01",
        "fixed:nan",
        "precision:inf",
        "precision:abc",
        "accuracy:0.9",
        "precision:0.9:1",
        None,
        0.5,
    ],
)
def test_parse_invalid(text):
    with pytest.raises(ConfigError) as err:
        parse_threshold_policy(text)
    msg = str(err.value)
    assert "\n" not in msg
    for form in ("f1", "precision:X", "recall:X", "fixed:X"):
        assert form in msg


# Hand-made scores (same as tests/test_metrics.py). Sorted by score, descending:
#   score  .9  .8  .7  .6  .55  .35  .3  .2  .1  .05
#   truth   1   1   1   0   0    1    0   0   0   0
# flag p >= score:  precision 1 1 1 .75 .6 .667 .571 .5 .444 .4 ; recall .25 .5 .75 .75 .75 1 1 1 1 1
Y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.35, 0.7, 0.6, 0.2, 0.1, 0.3, 0.55, 0.05])


@pytest.mark.parametrize(
    "policy, value",
    [
        ("f1", 0.65),  # best F1 = 6/7 flagging .9 .8 .7; halfway between .7 and .6
        ("precision:1.0", 0.65),  # lowest threshold still at precision 1
        ("precision:0.6", 0.325),  # flag down to .35 (precision 4/6); .3 would give 4/7 < .6
        ("recall:1.0", 0.325),  # highest threshold catching all four positives
        ("recall:0.5", 0.75),  # .9 .8 -> recall .5; halfway between .8 and .7
        ("recall:0.6", 0.65),  # recall .75 is the first >= .6
        ("fixed:0.42", 0.42),
    ],
)
def test_choose_threshold_by_hand(policy, value):
    choice = choose_threshold(Y, P, policy)
    assert isinstance(choice, Threshold)
    assert choice.value == pytest.approx(value)
    assert choice.met is True
    assert choice.policy == parse_threshold_policy(policy)
    assert strict_json(choice)
    assert set(choice.to_dict()) >= {
        "policy",
        "value",
        "met",
        "note",
        "flagged",
        "true_positives",
        "positives",
    }


def test_choose_threshold_accepts_policy_object():
    assert choose_threshold(Y, P, ThresholdPolicy("recall", 0.5)).value == pytest.approx(0.75)


def test_perfectly_separable():
    y = [0, 0, 0, 1, 1]
    p = [0.1, 0.2, 0.3, 0.7, 0.9]
    for policy in ("precision:1.0", "f1", "recall:1.0"):
        choice = choose_threshold(y, p, policy)
        assert choice.met and choice.value == pytest.approx(0.5)
        m = metrics_at_threshold(y, p, choice.value)
        assert (m.precision, m.recall, m.fp, m.fn) == (1.0, 1.0, 0, 0)


def test_precision_unmet_falls_back_to_highest_precision():
    # precision when flagging down to each score: 0, 1/2, 2/3, 2/4, 3/5, 4/6, 4/7, 4/8, 4/9
    y = [0, 1, 1, 0, 1, 1, 0, 0, 0]
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
    choice = choose_threshold(y, p, "precision:0.9")
    assert choice.met is False
    assert "not reachable" in choice.note and "0.9" in choice.note
    # the best precision 2/3 is reached at .7 and at .4: the lower threshold catches more spam
    assert choice.value == pytest.approx(0.35)
    m = metrics_at_threshold(y, p, choice.value)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(1.0)


def test_threshold_rule_is_p_greater_or_equal():
    y = [0, 1, 1, 0]
    p = [0.5, 0.5, 0.8, 0.2]
    m = metrics_at_threshold(y, p, 0.5)  # both 0.5 are flagged
    assert (m.tp, m.fp, m.tn, m.fn) == (2, 1, 1, 0)
    m = metrics_at_threshold(y, p, 0.5000001)
    assert (m.tp, m.fp, m.tn, m.fn) == (1, 0, 2, 1)
    # ties are on the same side: recall 1 needs both 0.5 flagged; the threshold sits below them
    choice = choose_threshold(y, p, "recall:1.0")
    assert choice.value == pytest.approx(0.35)
    assert metrics_at_threshold(y, p, choice.value).fp == 1


def test_adjacent_floats_keep_the_operating_point():
    a = 0.5
    b = np.nextafter(a, 1.0)  # no float strictly between a and b
    y, p = [0, 1], [a, b]
    choice = choose_threshold(y, p, "precision:1.0")
    m = metrics_at_threshold(y, p, choice.value)
    assert (m.tp, m.fp) == (1, 0)


def _brute_force_points(y, p):
    """(score, precision, recall, f1) when flagging p >= score, for each distinct score, counted directly."""
    out = []
    for s in np.unique(p):
        flagged = p >= s
        tp, fp, fn = (flagged & (y == 1)).sum(), (flagged & (y == 0)).sum(), (~flagged & (y == 1)).sum()
        out.append((s, tp / (tp + fp), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_policies_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    p = np.round(np.clip(0.3 * y + rng.random(300) * 0.7, 0, 1), 2)  # rounded: many ties
    points = _brute_force_points(y, p)

    choice = choose_threshold(y, p, "f1")
    pred = (p >= choice.value).astype(int)
    assert f1_score(y, pred) == pytest.approx(max(f for *_, f in points))

    for target in (0.7, 0.8, 0.9):
        choice = choose_threshold(y, p, f"precision:{target}")
        pred = (p >= choice.value).astype(int)
        if choice.met:
            assert precision_score(y, pred) >= target
            # no lower threshold reaches the target
            assert all(prec < target for s, prec, _, _ in points if s < choice.value)
        else:
            assert all(prec < target for _, prec, _, _ in points)
            assert precision_score(y, pred) == pytest.approx(max(prec for _, prec, _, _ in points))

    for target in (0.5, 0.8, 0.95):
        choice = choose_threshold(y, p, f"recall:{target}")
        assert choice.met
        pred = (p >= choice.value).astype(int)
        assert recall_score(y, pred) >= target
        above = p[p >= choice.value].min()  # the lowest flagged score
        assert all(rec < target for s, _, rec, _ in points if s > above)
        # placement: the value is a midpoint between two consecutive distinct scores (or the lowest score)
        below = p[p < choice.value]
        if len(below):
            assert choice.value == pytest.approx((above + below.max()) / 2)
        else:
            assert choice.value == above


@pytest.mark.parametrize("y", [[0, 0, 0], [1, 1, 1], []])
def test_one_class_or_empty_falls_back(y):
    p = [0.2, 0.5, 0.9][: len(y)]
    for policy in ("f1", "precision:0.9", "recall:0.9"):
        choice = choose_threshold(y, p, policy)
        assert choice.value == 0.5 and choice.met is False
        assert "fell back" in choice.note
    fixed = choose_threshold(y, p, "fixed:0.3")
    assert (str(fixed.policy), fixed.value, fixed.met, fixed.note) == (
        "fixed:0.3",
        0.3,
        True,
        "fixed threshold 0.3",
    )


def test_constant_scores():
    y, p = [0, 1, 0, 1], [0.4] * 4
    choice = choose_threshold(y, p, "f1")
    assert choice.met and choice.value == 0.4  # the only operating point: flag everything
    choice = choose_threshold(y, p, "precision:0.9")
    assert not choice.met and choice.value == 0.4


def test_bad_inputs():
    with pytest.raises(DataError):
        choose_threshold([0, 1], [0.5], "f1")
    with pytest.raises(DataError):
        choose_threshold([0, 2], [0.5, 0.6], "f1")
    with pytest.raises(DataError):
        choose_threshold([0, 1], [0.5, float("nan")], "f1")
    with pytest.raises(ConfigError):
        choose_threshold([0, 1], [0.5, 0.6], "precision:2")


# ---------------------------------------------------------------------------------------------------- metrics
def test_metrics_at_threshold_known_confusion():
    # at 0.5: TP = 3 (.9 .8 .7), FN = 1 (.35), FP = 2 (.6 .55), TN = 4
    m = metrics_at_threshold(Y, P, 0.5)
    assert (m.tp, m.fp, m.tn, m.fn) == (3, 2, 4, 1)
    assert m.accuracy == pytest.approx(0.7)
    assert m.precision == pytest.approx(3 / 5)
    assert m.recall == pytest.approx(3 / 4)
    assert m.false_positives_per_10k == pytest.approx(2 / 6 * 10_000)
    assert m.missed_per_1k == pytest.approx(1 / 4 * 1_000)
    assert m.macro_f1 == pytest.approx(f1_score(Y, (P >= 0.5).astype(int), average="macro"))
    assert m.threshold == 0.5
    assert all(isinstance(getattr(m, k), int) for k in ("tp", "fp", "tn", "fn"))
    strict_json(m)


def test_metrics_at_threshold_absent_classes_are_none():
    m = metrics_at_threshold([0, 0, 0], [0.1, 0.2, 0.3], 0.5)  # no positive, nothing flagged
    assert m.precision is None and m.recall is None and m.missed_per_1k is None
    assert m.false_positives_per_10k == 0.0 and m.accuracy == 1.0
    assert m.macro_f1 == 1.0  # only the negative class has a defined F1
    m = metrics_at_threshold([1, 1], [0.1, 0.9], 0.5)  # no negative
    assert m.false_positives_per_10k is None and m.missed_per_1k == 500.0
    m = metrics_at_threshold([], [], 0.5)
    assert m.accuracy is None and m.macro_f1 is None
    strict_json(m)
    with pytest.raises(ConfigError):
        metrics_at_threshold([0], [0.1], float("nan"))


# ---------------------------------------------------------------------------------------------------- curves
def test_pr_auc_and_curves():
    assert pr_auc(Y, P) == pytest.approx(average_precision_score(Y, P))
    assert pr_auc([0, 0], [0.1, 0.2]) is None
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    p = rng.random(2000) * 0.6 + 0.4 * y
    c = curve_points(y, p, max_points=50)
    strict_json(c)
    assert 2 <= len(c.pr["recall"]) <= 50 and len(c.pr["recall"]) == len(c.pr["precision"])
    assert 2 <= len(c.roc["fpr"]) <= 50 and len(c.roc["fpr"]) == len(c.roc["tpr"])
    assert c.roc["fpr"][0] == 0.0 and c.roc["tpr"][-1] == 1.0  # end points kept
    assert c.pr["recall"][0] == 1.0 and c.pr["recall"][-1] == 0.0
    assert c.pr_auc == pytest.approx(average_precision_score(y, p))
    one = curve_points([1, 1, 1], [0.2, 0.5, 0.9])
    assert one.roc == {"fpr": [], "tpr": []} and one.roc_auc is None and one.pr_auc == 1.0
    none = curve_points([0, 0], [0.2, 0.5])
    assert none.pr == {"recall": [], "precision": []} and none.pr_auc is None
    strict_json([one, none])
    with pytest.raises(ConfigError):
        curve_points(Y, P, max_points=1)


# ----------------------------------------------------------------------------------------------------
# calibration
def _calibrated(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits z and labels drawn from softmax(z): z is perfectly calibrated."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, (n, k))
    cum = softmax(z, axis=1).cumsum(1)
    y = (rng.random((n, 1)) > cum).sum(1)
    return z, np.minimum(y, k - 1)


def test_temperature_recovers_three():
    z, y = _calibrated(20_000, 3, seed=0)
    logits = 3 * z  # over-confident by a factor 3
    t = fit_temperature(logits, y)
    assert isinstance(t, float)
    assert t == pytest.approx(3.0, rel=0.07)
    before = expected_calibration_error(softmax(logits, axis=1), y)
    after = expected_calibration_error(apply_temperature(logits, t), y)
    assert before > 0.1 and after < 0.03 and after < before / 4
    # scaling never changes the predicted class
    assert (apply_temperature(logits, t).argmax(1) == logits.argmax(1)).all()


def test_ece_small_when_calibrated():
    z, y = _calibrated(20_000, 2, seed=1)
    assert expected_calibration_error(softmax(z, axis=1), y) < 0.02
    assert fit_temperature(z, y) == pytest.approx(1.0, abs=0.08)


def test_temperature_degenerate_cases():
    assert fit_temperature(np.zeros((0, 3)), []) == 1.0
    assert (
        fit_temperature(np.array([[2.0, 0.0], [0.0, 3.0]]), [0, 1]) == 1.0
    )  # all correct: no finite optimum
    assert fit_temperature(np.zeros((4, 2)), [0, 1, 0, 1]) == 1.0  # constant logits: T changes nothing
    assert fit_temperature(np.ones((3, 1)), [0, 0, 0]) == 1.0  # one class
    with pytest.raises(DataError):
        fit_temperature(np.zeros(3), [0, 1, 0])
    with pytest.raises(DataError):
        fit_temperature(np.zeros((2, 2)), [0, 2])
    with pytest.raises(ConfigError):
        apply_temperature(np.zeros((2, 2)), 0.0)
    assert apply_temperature(np.array([[0.0, math.log(3.0)]]), 1.0) == pytest.approx(np.array([[0.25, 0.75]]))


def test_ece_and_bins_by_hand():
    # ten rows at confidence .9 with 9 correct (bin (13/15, 14/15]), ten at .6 with 3 correct (bin (8/15,
    # 9/15])
    p1 = np.array([0.9] * 10 + [0.6] * 10)
    y = np.array([1] * 9 + [0] + [1] * 3 + [0] * 7)
    assert expected_calibration_error(p1, y) == pytest.approx(0.5 * 0 + 0.5 * 0.3)
    rb = reliability_bins(p1, y)
    strict_json(rb)
    used = [b for b in rb.bins if b.count]
    assert [(b.confidence, b.accuracy, b.count) for b in used] == [
        (pytest.approx(0.6), pytest.approx(0.3), 10),
        (pytest.approx(0.9), pytest.approx(0.9), 10),
    ]
    assert used[0].lower == pytest.approx(8 / 15) and used[1].upper == pytest.approx(14 / 15)
    assert sum(b.count for b in rb.bins) == 20 and rb.bins[0].confidence is None
    # bins are (lo, hi]: confidence 0.5 falls in the first of two bins, 1.0 in the last
    rb2 = reliability_bins(np.array([[0.5, 0.5], [0.0, 1.0]]), [0, 1], n_bins=2)
    assert [b.count for b in rb2.bins] == [1, 1]
    assert expected_calibration_error(np.zeros((0, 2)), []) is None


# ----------------------------------------------------------------------------------------------------
# ensemble
def _two_column(p1: np.ndarray) -> np.ndarray:
    return np.stack([1 - p1, p1], axis=1)


def test_caruana_by_hand():
    # true-class probabilities: A = (.9, .3), B = (.3, .9). Alone: equal log loss, A first (lower index).
    # A + B averages to (.6, .6): better. Adding A again gives (.7, .5): worse than (.6, .6) -> stop.
    y = np.array([1, 1])
    a, b = _two_column(np.array([0.9, 0.3])), _two_column(np.array([0.3, 0.9]))
    ens = fit_ensemble([a, b], y, score="log_loss")
    assert ens.members == (0, 1) and ens.weights == (0.5, 0.5)
    single = -(math.log(0.9) + math.log(0.3)) / 2
    assert ens.path == pytest.approx((single, -math.log(0.6)))
    assert ens.rounds == 2
    assert ens.predict_proba([a, b]) == pytest.approx(_two_column(np.array([0.6, 0.6])))
    strict_json(ens.to_dict())


def test_caruana_ignores_noise_member():
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.integers(0, 2, n)
    signal = 2 * y - 1
    good = _two_column(1 / (1 + np.exp(-(1.5 * signal + rng.normal(0, 1, n)))))
    okay = _two_column(1 / (1 + np.exp(-(0.8 * signal + rng.normal(0, 1, n)))))
    noise = _two_column(rng.random(n))
    members = [noise, okay, good]
    ens = fit_ensemble(members, y, max_rounds=30)
    assert ens.path[0] == pytest.approx(log_loss(y, good))  # starts from the best single member
    assert 0 not in ens.members
    assert sum(ens.weights) == pytest.approx(1.0)
    assert ens.weight_vector()[2] == max(ens.weights)
    assert all(b < a for a, b in zip(ens.path, ens.path[1:]))  # strictly improving path
    assert ens.rounds <= 30
    for score in ("accuracy", "macro_f1"):
        e = fit_ensemble(members, y, score=score)
        assert 0 not in e.members and sum(e.weights) == pytest.approx(1.0)
        assert e.path[-1] == pytest.approx(score_probs(y, e.predict_proba(members), score))


def test_ensemble_max_rounds_and_single_member():
    y = np.array([0, 1, 1, 0])
    only = _two_column(np.array([0.2, 0.7, 0.6, 0.4]))
    ens = fit_ensemble([only], y)
    assert ens == Ensemble((0,), (1.0,), 1, "log_loss", ens.path) and ens.rounds == 1
    a, b = _two_column(np.array([0.9, 0.3])), _two_column(np.array([0.3, 0.9]))
    assert fit_ensemble([a, b], np.array([1, 1]), max_rounds=1).members == (0,)


def test_ensemble_bad_inputs():
    a = _two_column(np.array([0.2, 0.7]))
    with pytest.raises(DataError):
        fit_ensemble([], [0, 1])
    with pytest.raises(DataError):
        fit_ensemble([a, np.zeros((3, 2))], [0, 1])
    with pytest.raises(ConfigError):
        fit_ensemble([a], [0, 1], score="auc")
    with pytest.raises(ConfigError):
        fit_ensemble([a], [0, 1], max_rounds=0)
    with pytest.raises(DataError):
        fit_ensemble([a], [0, 1]).predict_proba([a, a])


def test_cross_fit_is_not_optimistic_on_noise():
    # eight members with no signal at all: in-sample selection finds "skill" that is not there
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    members = [_two_column(rng.random(n)) for _ in range(8)]
    res = cross_fit_ensemble_score(members, y, folds=2, seed=0, metric="macro_f1", score="macro_f1")
    strict_json(res)
    assert res["ensemble"] <= res["in_sample_ensemble"]
    assert res["best_single"] <= res["in_sample_best_single"]
    # chance is 0.5; in-sample the greedy selection "finds" several points of macro-F1
    assert res["in_sample_ensemble"] > 0.55 and res["in_sample_ensemble"] - res["ensemble"] > 0.03
    assert len(res["ensemble_folds"]) == 2 and res["ensemble"] == pytest.approx(
        np.mean(res["ensemble_folds"])
    )


def test_cross_fit_finds_a_real_gain():
    # y depends on two features; each member sees one: averaging them beats either alone
    rng = np.random.default_rng(4)
    n = 3000
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (x1 + x2 + rng.normal(0, 0.3, n) > 0).astype(int)
    members = [_two_column(1 / (1 + np.exp(-2 * x1))), _two_column(1 / (1 + np.exp(-2 * x2)))]
    res = cross_fit_ensemble_score(members, y, folds=3, seed=1, metric="accuracy")
    assert res["ensemble_better"] is True
    assert res["ensemble_minus_best_single"] > 0.05
    assert res["folds"] == 3 and len(res["best_single_folds"]) == 3
    res_ll = cross_fit_ensemble_score(members, y, metric="log_loss")
    assert res_ll["ensemble"] < res_ll["best_single"] and res_ll["ensemble_better"] is True
    with pytest.raises(ConfigError):
        cross_fit_ensemble_score(members, y, folds=1)


def test_the_note_gives_the_counts_the_threshold_rests_on():
    y = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    p = [0.95, 0.9, 0.85, 0.8, 0.7, 0.3, 0.2, 0.15, 0.1, 0.05]
    choice = choose_threshold(y, p, "precision:1.0")
    assert "(3 of 3 flagged)" in choice.note and "(3 of 4 positives)" in choice.note
