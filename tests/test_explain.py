"""Tests of nlp_pp.decisions.explain with toy models whose token contributions are known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nlp_pp.decisions.explain import aggregate_contributions, occlusion, top_contributions
from nlp_pp.errors import ConfigError, DataError
from nlp_pp.text.hangul import compose, decompose

# token id -> additive effect on p(spam) of a "linear probability" toy model
WEIGHTS = {2: 0.20, 3: -0.10, 4: 0.05, 5: 0.0, 6: 0.15}


class LinearModel:
    """p(spam) = 0.4 + sum of token weights (clipped to [0, 1]); records every call."""

    def __init__(self):
        self.calls: list[list[list[int]]] = []

    def __call__(self, batch: list[list[int]]) -> np.ndarray:
        self.calls.append(batch)
        p1 = np.clip([0.4 + sum(WEIGHTS[t] for t in seq) for seq in batch], 0, 1)
        return np.stack([1 - p1, p1], axis=1)


def logistic_model(batch: list[list[int]]) -> np.ndarray:
    p1 = np.array([1 / (1 + np.exp(-(-0.5 + 4 * sum(WEIGHTS[t] for t in seq)))) for seq in batch])
    return np.stack([1 - p1, p1], axis=1)


def test_occlusion_linear_model_gives_the_weights():
    model = LinearModel()
    ids = [2, 3, 4, 2, 5]
    contrib = occlusion(ids, model, target=1)
    assert contrib.dtype == np.float64 and contrib.shape == (5,)
    assert contrib == pytest.approx([0.20, -0.10, 0.05, 0.20, 0.0])
    # one batched call: the full sequence, then each position removed (not replaced)
    assert len(model.calls) == 1
    assert model.calls[0] == [
        [2, 3, 4, 2, 5],
        [3, 4, 2, 5],
        [2, 4, 2, 5],
        [2, 3, 2, 5],
        [2, 3, 4, 5],
        [2, 3, 4, 2],
    ]
    assert occlusion(ids, LinearModel(), target=0) == pytest.approx(-contrib)


def test_removing_the_top_token_moves_the_probability_as_stated():
    ids = [3, 6, 4, 3]
    contrib = occlusion(ids, logistic_model, target=1)
    top = int(np.argmax(np.abs(contrib)))
    assert ids[top] == 6 and contrib[top] > 0  # the strongest spam token
    full = logistic_model([ids])[0, 1]
    without = logistic_model([ids[:top] + ids[top + 1 :]])[0, 1]
    assert without < full and full - without == pytest.approx(contrib[top])
    # a negative contribution: removing the token raises p(spam)
    neg = int(np.argmin(contrib))
    assert contrib[neg] < 0 and logistic_model([ids[:neg] + ids[neg + 1 :]])[0, 1] > full


def test_occlusion_empty_and_single_token():
    model = LinearModel()
    assert occlusion([], model, target=1).shape == (0,) and model.calls == []
    assert occlusion([6], model, target=1) == pytest.approx([0.15])
    assert model.calls == [[[6], []]]


def test_occlusion_bad_model_output():
    with pytest.raises(DataError):
        occlusion([2, 3], lambda batch: np.zeros((1, 2)), target=1)
    with pytest.raises(ConfigError):
        occlusion([2, 3], LinearModel(), target=2)


def test_top_contributions():
    tokens = ["대출", "안녕", "무료", "대출", "ㅋㅋ"]
    contrib = np.array([0.3, -0.05, -0.3, 0.1, 0.0])
    top = top_contributions(tokens, contrib, k=3)
    assert top == [("대출", 0.3), ("무료", -0.3), ("대출", 0.1)]  # |.3| tie keeps message order; no merging
    assert all(isinstance(v, float) for _, v in top)
    assert len(top_contributions(tokens, contrib, k=10)) == 5
    assert top_contributions(tokens, contrib, k=0) == []
    jamo = [decompose(t) for t in tokens]
    assert top_contributions(jamo, contrib, k=1, display=compose) == [("대출", 0.3)]
    assert top_contributions(jamo, contrib, k=1)[0][0] == decompose("대출")
    with pytest.raises(DataError):
        top_contributions(tokens, contrib[:3])
    with pytest.raises(ConfigError):
        top_contributions(tokens, contrib, k=-1)


def test_aggregate_contributions():
    items = [
        (["대출", "무료", "안녕"], [0.4, 0.2, -0.1], 1),
        (["대출", "대출"], [0.2, 0.3], 1),
        (["무료", "안녕"], [0.1, 0.0], 1),
        (["안녕", "대출"], [0.3, -0.2], 0),
    ]
    out = aggregate_contributions(items, min_count=2)
    # class 1: 대출 (.4 + .2 + .3) / 3 = .3, 무료 (.2 + .1) / 2 = .15, 안녕 (-.1 + 0) / 2 = -.05
    assert list(out) == [0, 1]
    expected = [("대출", 0.3, 3), ("무료", 0.15, 2), ("안녕", -0.05, 2)]
    assert [(t, round(m, 10), c) for t, m, c in out[1]] == expected
    assert out[0] == []  # every token of class 0 occurs once
    assert aggregate_contributions(items, min_count=1)[0] == [("안녕", 0.3, 1), ("대출", -0.2, 1)]
    assert len(aggregate_contributions(items, min_count=1, top=1)[1]) == 1
    jamo_items = [([decompose(t) for t in tokens], c, cls) for tokens, c, cls in items]
    assert aggregate_contributions(jamo_items, min_count=3, display=compose)[1] == [
        ("대출", pytest.approx(0.3), 3)
    ]
    json.dumps(aggregate_contributions(items, min_count=1), allow_nan=False)
    with pytest.raises(DataError):
        aggregate_contributions([(["a", "b"], [0.1], 0)])
    with pytest.raises(ConfigError):
        aggregate_contributions(items, min_count=0)
