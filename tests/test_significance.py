"""Tests of nlp_pp.decisions.significance: paired bootstrap, McNemar, Newcombe's interval, verdicts."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from scipy.stats import binomtest, chi2, norm
from sklearn.metrics import accuracy_score, f1_score

from nlp_pp.decisions.significance import (
    compare,
    macro_f1_from_confusion,
    mcnemar,
    newcombe_paired_interval,
    paired_bootstrap,
    verdict,
)
from nlp_pp.errors import ConfigError, DataError

KEYS = {"metric", "diff", "ci_low", "ci_high", "p_value", "method"}


def noisy(y: np.ndarray, accuracy: float, rng: np.random.Generator, k: int = 2) -> np.ndarray:
    """Predictions right with probability ``accuracy``, otherwise a random other class."""
    wrong = (y + rng.integers(1, k, len(y))) % k
    return np.where(rng.random(len(y)) < accuracy, y, wrong)


def test_macro_f1_matches_sklearn():
    rng = np.random.default_rng(0)
    for k in (2, 3, 5):
        y = rng.integers(0, k, 500)
        pred = noisy(y, 0.6, rng, k)
        pred[pred == k - 1] = 0  # one class never predicted: its F1 counts 0
        cm = np.zeros((k, k))
        np.add.at(cm, (y, pred), 1)
        expected = f1_score(y, pred, labels=list(range(k)), average="macro", zero_division=0)
        assert macro_f1_from_confusion(cm) == pytest.approx(expected)
    assert macro_f1_from_confusion(np.stack([cm, cm])).shape == (2,)


@pytest.mark.parametrize("metric", ["macro_f1", "accuracy"])
def test_bootstrap_identical_quality_contains_zero(metric):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    a, b = noisy(y, 0.8, rng), noisy(y, 0.8, rng)
    res = paired_bootstrap(y, a, b, metric=metric, n_resamples=1000, seed=0)
    assert set(res) == KEYS and res["metric"] == metric
    json.dumps(res, allow_nan=False)
    assert res["ci_low"] < 0 < res["ci_high"]
    assert res["p_value"] > 0.05
    assert verdict(res) == "no clear difference"
    scorer = accuracy_score if metric == "accuracy" else (lambda t, p: f1_score(t, p, average="macro"))
    assert res["diff"] == pytest.approx(scorer(y, a) - scorer(y, b))
    assert res["ci_low"] <= res["diff"] <= res["ci_high"]


@pytest.mark.parametrize("metric", ["macro_f1", "accuracy"])
def test_bootstrap_clearly_better_excludes_zero(metric):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 1000)
    good, bad = noisy(y, 0.9, rng, 3), noisy(y, 0.7, rng, 3)
    res = paired_bootstrap(y, good, bad, metric=metric, n_resamples=1000, seed=0)
    assert 0 < res["ci_low"] < res["diff"] < res["ci_high"]
    assert res["p_value"] == pytest.approx(2 / 1001)  # no resample on the other side of zero
    assert verdict(res) == "a is better"
    swapped = paired_bootstrap(y, bad, good, metric=metric, n_resamples=1000, seed=0)
    assert swapped["diff"] == pytest.approx(-res["diff"]) and swapped["ci_high"] < 0
    assert verdict(swapped) == "b is better"


def test_bootstrap_identical_predictions_and_seed():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    a = noisy(y, 0.8, rng)
    res = paired_bootstrap(y, a, a.copy())
    assert (res["diff"], res["ci_low"], res["ci_high"], res["p_value"]) == (0.0, 0.0, 0.0, 1.0)
    assert verdict(res) == "no clear difference"
    b = noisy(y, 0.8, rng)
    assert paired_bootstrap(y, a, b, seed=5) == paired_bootstrap(y, a, b, seed=5)


def _macro_f1_rows(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Binary macro-F1 of each row of (r, n) label arrays, counted class by class."""
    f1s = []
    for c in (0, 1):
        tp = ((pred == c) & (y == c)).sum(1)
        wrong = ((pred == c) != (y == c)).sum(1)  # fp + fn
        f1s.append(2 * tp / (2 * tp + wrong))
    return np.mean(f1s, axis=0)


def test_bootstrap_matches_index_resampling():
    """The multinomial shortcut has the distribution of resampling indices (same paired draw for a and b)."""
    rng = np.random.default_rng(4)
    n = 1500
    y = rng.integers(0, 2, n)
    a, b = noisy(y, 0.85, rng), noisy(y, 0.82, rng)
    res = paired_bootstrap(y, a, b, n_resamples=4000, seed=0)
    idx = rng.integers(0, n, (2000, n))
    diffs = _macro_f1_rows(y[idx], a[idx]) - _macro_f1_rows(y[idx], b[idx])
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    width = hi - lo
    assert res["ci_high"] - res["ci_low"] == pytest.approx(width, rel=0.1)
    assert res["ci_low"] == pytest.approx(lo, abs=0.1 * width)
    assert res["ci_high"] == pytest.approx(hi, abs=0.1 * width)


def test_bootstrap_is_fast():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 50_000)
    a, b = noisy(y, 0.87, rng), noisy(y, 0.86, rng)
    start = time.perf_counter()
    paired_bootstrap(y, a, b, metric="macro_f1", n_resamples=1000)
    assert time.perf_counter() - start < 1.0


def test_bootstrap_bad_inputs():
    with pytest.raises(DataError):
        paired_bootstrap([0, 1], [0, 1], [0])
    with pytest.raises(DataError):
        paired_bootstrap([], [], [])
    with pytest.raises(DataError):
        paired_bootstrap([0, 1], [0.2, 0.9], [0, 1])  # probabilities, not labels
    with pytest.raises(ConfigError):
        paired_bootstrap([0, 1], [0, 1], [0, 1], metric="auc")
    with pytest.raises(ConfigError):
        paired_bootstrap([0, 1], [0, 1], [0, 1], ci=1.0)
    with pytest.raises(ConfigError):
        paired_bootstrap([0, 1], [0, 1], [0, 1], n_resamples=0)


def table(both: int, only_a: int, only_b: int, neither: int):
    """Binary y, pred_a, pred_b with the given paired-correctness table."""
    counts = (both, only_a, only_b, neither)
    right_a = np.repeat([True, True, False, False], counts)
    right_b = np.repeat([True, False, True, False], counts)
    y = np.arange(sum(counts)) % 2
    return y, np.where(right_a, y, 1 - y), np.where(right_b, y, 1 - y)


def test_mcnemar_exact_small_table():
    y, a, b = table(both=10, only_a=7, only_b=2, neither=1)
    res = mcnemar(y, a, b)
    assert set(res) == KEYS and res["metric"] == "accuracy"
    assert res["p_value"] == pytest.approx(binomtest(7, 9, 0.5).pvalue)
    assert res["p_value"] == pytest.approx(0.1796875)  # 2 * P(X >= 7), X ~ Bin(9, 1/2) = 2 * 46/512
    assert "exact" in res["method"] and "9 discordant" in res["method"]
    assert res["diff"] == pytest.approx(5 / 20)
    assert res["ci_low"] < 0 < res["ci_high"] and verdict(res) == "no clear difference"
    json.dumps(res, allow_nan=False)


def test_mcnemar_chi_square_large_table():
    y, a, b = table(both=500, only_a=30, only_b=15, neither=55)
    res = mcnemar(y, a, b)
    assert "chi-square" in res["method"]
    assert res["p_value"] == pytest.approx(chi2.sf((15 - 1) ** 2 / 45, 1))
    assert res["diff"] == pytest.approx(15 / 600)


def test_mcnemar_no_discordant_pairs():
    y, a, b = table(both=40, only_a=0, only_b=0, neither=10)
    res = mcnemar(y, a, b)
    assert res["p_value"] == 1.0 and res["diff"] == 0.0
    assert res["ci_low"] < 0 < res["ci_high"]  # Newcombe's interval does not collapse


def wilson(x: int, n: int, z: float) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_newcombe_interval_by_formula():
    both, only_a, only_b, neither = 50, 12, 4, 14
    n = both + only_a + only_b + neither
    z = norm.ppf(0.975)
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    l1, u1 = wilson(both + only_a, n, z)
    l2, u2 = wilson(both + only_b, n, z)
    cross = both * neither - only_a * only_b  # 652 > n / 2: continuity-corrected phi
    phi = (cross - n / 2) / math.sqrt(
        (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    )
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    high = d + math.sqrt((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2)
    assert newcombe_paired_interval(both, only_a, only_b, neither) == pytest.approx((low, high))
    # large samples: close to the Wald interval of the paired difference
    big = (5000, 600, 400, 1000)
    n = sum(big)
    d = (600 - 400) / n
    se = math.sqrt((600 + 400) / n - d * d) / math.sqrt(n)
    lo, hi = newcombe_paired_interval(*big)
    assert lo == pytest.approx(d - z * se, abs=1e-3) and hi == pytest.approx(d + z * se, abs=1e-3)
    assert newcombe_paired_interval(0, 5, 0, 0)[1] <= 1.0


def test_mcnemar_agrees_with_bootstrap_on_accuracy():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 5000)
    a, b = noisy(y, 0.86, rng), noisy(y, 0.84, rng)
    m, bs = mcnemar(y, a, b), paired_bootstrap(y, a, b, metric="accuracy", n_resamples=2000)
    assert m["diff"] == pytest.approx(bs["diff"])
    assert m["ci_low"] == pytest.approx(bs["ci_low"], abs=0.003)
    assert m["ci_high"] == pytest.approx(bs["ci_high"], abs=0.003)


def test_compare_and_verdict():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 1000)
    good, bad = noisy(y, 0.9, rng), noisy(y, 0.75, rng)
    res = compare(y, good, bad, a="BiGRU", b="TF-IDF", metric="accuracy", method="mcnemar")
    assert set(res) == KEYS | {"a", "b"} and (res["a"], res["b"]) == ("BiGRU", "TF-IDF")
    assert verdict(res) == "a is better" and res["p_value"] < 1e-6
    res = compare(y, bad, good, a="x", b="y", metric="macro_f1", n_resamples=500, seed=1)
    assert res["method"].startswith("paired bootstrap (500") and verdict(res) == "b is better"
    json.dumps(res, allow_nan=False)
    with pytest.raises(ConfigError):
        compare(y, good, bad, metric="macro_f1", method="mcnemar")
    with pytest.raises(ConfigError):
        compare(y, good, bad, method="t-test")
    assert verdict({"ci_low": 0.0, "ci_high": 0.02}) == "no clear difference"
    assert verdict({"ci_low": -0.03, "ci_high": -0.001}) == "b is better"


def test_bootstrap_over_several_seeds_averages_the_paired_differences():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    a = np.stack([np.where(rng.random(3000) < q, y, 1 - y) for q in (0.9, 0.88, 0.86)])
    b = np.stack([np.where(rng.random(3000) < 0.8, y, 1 - y) for _ in range(3)])
    res = paired_bootstrap(y, a, b, n_resamples=500, seed=0)
    per_seed = [f1_score(y, a[s], average="macro") - f1_score(y, b[s], average="macro") for s in range(3)]
    assert res["diff"] == pytest.approx(np.mean(per_seed))
    assert res["ci_low"] > 0
    one = paired_bootstrap(y, a[:1], b[0], n_resamples=500, seed=0)
    assert one == paired_bootstrap(y, a[0], b[0], n_resamples=500, seed=0)
    # a single row of b is compared with each seed of a
    tiled = paired_bootstrap(y, a, b[0], n_resamples=200, seed=0)
    assert tiled["diff"] == pytest.approx(
        np.mean([f1_score(y, a[s], average="macro") for s in range(3)]) - f1_score(y, b[0], average="macro")
    )
    # ... and so is a single row of a (the ensemble or the baseline ranked first, a multi-seed runner-up)
    first = paired_bootstrap(y, b[0], a, n_resamples=200, seed=0)
    assert first["diff"] == pytest.approx(-tiled["diff"])
