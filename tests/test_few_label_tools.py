"""Few labels on short, noisy text: the regularised ensemble and the one best-model rule, <UNK> for
random-init runs during training (fast tests on synthetic scores; no pipeline run)."""

from __future__ import annotations

import numpy as np
import pytest

from nlp_pp.decisions.calibration import apply_temperature
from nlp_pp.decisions.ensemble import cross_fit_ensemble, fit_bagged_ensemble, fit_ensemble
from nlp_pp.decisions.scoring import Scores, Task, fit_ensemble_scores
from nlp_pp.decisions.selection import best_model, rank_configurations
from nlp_pp.errors import ConfigError, DataError
from nlp_pp.options import ThresholdPolicy
from nlp_pp.results import BaselineResult, CrossFit, EnsembleResult, Metrics, RunResult, SplitScores
from nlp_pp.training.fitting import beyond_as_unknown
from nlp_pp.vectors.vocab import UNK_IDX


def _logits(rng, y, strength, noise=1.0):
    """Two-class logits whose margin follows the label with ``strength`` plus Gaussian noise."""
    margin = strength * (2 * y - 1) + rng.normal(0, noise, len(y))
    return np.stack([-margin / 2, margin / 2], axis=1)


def _task(y_val, y_test):
    return Task(y_val, y_test, ["a", "b"], 1, ThresholdPolicy("f1"))


# --------------------------------------------------------------------------- bagged greedy selection


def test_min_gain_stops_greedy_selection_early():
    y = np.array([1, 1])
    a = np.array([[0.1, 0.9], [0.7, 0.3]])
    b = np.array([[0.7, 0.3], [0.1, 0.9]])
    assert fit_ensemble([a, b], y).members == (0, 1)  # averaging gains about 0.2 nats
    assert fit_ensemble([a, b], y, min_gain=0.5).members == (0,)  # less than the gain asked for
    with pytest.raises(ConfigError):
        fit_ensemble([a, b], y, min_gain=-1)


def test_bagged_selection_keeps_the_signal_and_drops_the_noise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    good = apply_temperature(_logits(rng, y, 2.0), 1)
    other = apply_temperature(_logits(rng, y, 2.0), 1)
    noise = [apply_temperature(rng.normal(0, 1, (600, 2)), 1) for _ in range(4)]
    ens = fit_bagged_ensemble([*noise, good, other], y, bags=10, seed=0)
    assert set(ens.members) == {4, 5} and sum(ens.weights) == pytest.approx(1.0)
    assert ens.path[1] < ens.path[0]  # the vote of two independent good members beats either
    assert fit_bagged_ensemble([good, other], y, bags=0) == fit_ensemble([good, other], y, min_gain=1e-3)
    with pytest.raises(ConfigError):
        fit_bagged_ensemble([good], y, bags=-1)


def test_cross_fit_fits_temperatures_on_the_fitting_part_only(monkeypatch):
    from nlp_pp.decisions import calibration

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    seen = []
    real = calibration.fit_temperature

    def spy(logits, labels, *a, **k):
        seen.append(len(labels))
        return real(logits, labels, *a, **k)

    monkeypatch.setattr(calibration, "fit_temperature", spy)
    res = cross_fit_ensemble([_logits(rng, y, 1.5), _logits(rng, y, 1.0)], y, folds=5, repeats=2, bags=2)
    assert len(seen) == 2 * 5 * 2 and max(seen) <= 200 * 4 / 5 + 1  # never the held-out rows
    assert res["folds"] == 5 and res["repeats"] == 2 and len(res["ensemble_folds"]) == 10
    assert res["std_error"] > 0
    assert res["ensemble_minus_best_single"] == pytest.approx(res["ensemble"] - res["best_single"])


def test_cross_fit_folds_follow_the_smallest_class_and_refuse_too_few_rows():
    rng = np.random.default_rng(2)
    y = np.array([0] * 30 + [1] * 3)
    res = cross_fit_ensemble([_logits(rng, y, 2), _logits(rng, y, 1)], y, folds=5, repeats=1, bags=0)
    assert res["folds"] == 3
    with pytest.raises(DataError):
        cross_fit_ensemble([_logits(rng, y[:3], 1)], y[:3], folds=2)


# --------------------------------------------------------------------------- the ensemble of a run


def test_a_vote_within_the_noise_falls_back_to_the_best_single_member():
    # one good member and weak ones on a small validation split: the vote cannot show a gain
    rng = np.random.default_rng(3)
    y_val, y_test = rng.integers(0, 2, 120), rng.integers(0, 2, 500)
    members = [
        Scores(f"m{i}", _logits(rng, y_val, s), _logits(rng, y_test, s))
        for i, s in enumerate((2.5, 0.2, 0.2, 0.1))
    ]
    fit, scores = fit_ensemble_scores(members, [1.0] * 4, _task(y_val, y_test), seed=0)
    assert fit.method == "best single" and not fit.beats_best_single
    assert fit.members == ["m0"] and fit.weights == [1.0]
    # the ensemble is then exactly that member, calibrated
    assert np.allclose(np.exp(scores.test), apply_temperature(members[0].test, 1.0))
    assert fit.cross_fitted.out_of_fold_temperatures and fit.cross_fitted.repeats == 2


def test_a_real_gain_keeps_the_vote_and_a_margin_can_refuse_it():
    # two members that each see half of the signal: their vote is clearly better on 2,000 rows
    rng = np.random.default_rng(4)
    n = 2000
    x = rng.normal(size=(2, 2 * n))
    y = (x.sum(0) + rng.normal(0, 0.3, 2 * n) > 0).astype(int)
    members = [
        Scores(f"m{i}", np.stack([-x[i, :n], x[i, :n]], 1), np.stack([-x[i, n:], x[i, n:]], 1))
        for i in range(2)
    ]
    task = _task(y[:n], y[n:])
    fit, _ = fit_ensemble_scores(members, [1.0, 1.0], task, seed=0)
    assert fit.beats_best_single and fit.method == "bagged greedy" and len(fit.members) == 2
    cf = fit.cross_fitted
    assert cf.ensemble_minus_best_single - cf.std_error > 0
    refused, _ = fit_ensemble_scores(members, [1.0, 1.0], task, seed=0, margin=0.5)
    assert not refused.beats_best_single and refused.method == "best single"


# --------------------------------------------------------------------------- the one best-model rule


def _run(model, init, seed, f1):
    return RunResult(model=model, init=init, seed=seed, val=SplitScores(accuracy=f1, macro_f1=f1))


def _ensemble(f1, beats):
    return EnsembleResult(
        members=["gru-fasttext-seed0", "tfidf_logreg"],
        weights=[0.5, 0.5],
        candidates=3,
        cross_fitted=CrossFit(ensemble=f1, best_single=0.7),
        beats_best_single=beats,
        val=SplitScores(accuracy=f1, macro_f1=f1),
    )


def test_the_ensemble_is_chosen_only_when_it_beats_the_best_single_on_cross_fitted_validation():
    runs = [_run("gru", "fasttext", 0, 0.80), _run("gru", "random", 0, 0.70)]
    base = BaselineResult(val=SplitScores(accuracy=0.75, macro_f1=0.75))
    # a higher (or tied) score that is not a cross-fitted gain: ranked right after the best, not first
    for f1 in (0.80, 0.85):
        ranked = rank_configurations(runs, base, _ensemble(f1, beats=False))
        assert [r.label for r in ranked][:2] == ["gru + fasttext", "ensemble"]
        assert (
            best_model(Metrics(runs=runs, baseline=base, ensemble=_ensemble(f1, False)))
            == "gru-fasttext-seed0"
        )
    # a low ensemble that does not beat keeps its place further down
    assert [r.label for r in rank_configurations(runs, base, _ensemble(0.6, False))][-1] == "ensemble"
    # a cross-fitted gain: first, and predict's default
    ranked = rank_configurations(runs, base, _ensemble(0.79, beats=True))
    assert ranked[0].label == "ensemble"
    assert best_model(Metrics(runs=runs, baseline=base, ensemble=_ensemble(0.79, True))) == "ensemble"


# --------------------------------------------------------------------------- self-training and suggest


def test_pseudo_labels_are_confident_and_balanced():
    from nlp_pp.training.selftrain import pick_pseudo_labels

    probs = np.array([[0.99, 0.01], [0.95, 0.05], [0.91, 0.09], [0.6, 0.4], [0.2, 0.8], [0.03, 0.97]])
    rows, labels = pick_pseudo_labels(probs, quota=5, confidence=0.9)
    # class 1 has one confident row (0.97; 0.8 is below 0.9): class 0 gets one too, its most confident
    assert rows.tolist() == [0, 5] and labels.tolist() == [0, 1]
    rows, _ = pick_pseudo_labels(probs, quota=5, confidence=0.75)
    assert sorted(rows.tolist()) == [0, 1, 4, 5]
    assert len(pick_pseudo_labels(probs, quota=5, confidence=0.999)[0]) == 0


def test_unlabelled_pool_leaves_out_labelled_texts_and_repeats(tmp_path):
    from nlp_pp.training.selftrain import unlabelled_pool

    path = tmp_path / "u.txt"
    path.write_text("a\nb\n b \nc\nlabelled\nd\n", encoding="utf-8")
    assert unlabelled_pool([path], "content", ["labelled"], limit=10, seed=0) == ["a", "b", "c", "d"]
    two = unlabelled_pool([path], "content", [], limit=2, seed=0)
    assert len(two) == 2 and set(two) <= {"a", "b", "c", "d", "labelled"}


class _Fake:
    """A classifier stand-in: uncertainty from a lookup, the default preprocessing."""

    name = "fake"

    def __init__(self, p1: dict[str, float]):
        from nlp_pp.text.preprocess import PreprocessConfig

        self.p1, self.preprocess_config = p1, PreprocessConfig()

    def predict_proba(self, texts):
        p = np.array([self.p1[t] for t in texts])
        return np.stack([1 - p, p], 1)


def test_suggest_spreads_over_clusters_instead_of_near_duplicates():
    from nlp_pp.decisions.suggest import suggest

    # 30 near-duplicates of one template, all very uncertain; 10 varied messages, a little less so
    dupes = [f"무료 쿠폰 지급 이벤트 당첨 확인 {i}" for i in range(30)]
    varied = [
        "오늘 회의는 세시에 시작해요",
        "배송이 너무 늦어서 환불 요청합니다",
        "주말에 등산 같이 갈래?",
        "택배 기사님 감사합니다",
        "영화 정말 재밌었어요 또 보고 싶다",
        "엄마 저녁 뭐 먹어요",
        "계좌번호 다시 보내주세요",
        "비 오니까 우산 챙겨",
        "시험 잘 봤어? 연락 줘",
        "내일 병원 예약 잊지 마세요",
    ]
    p1 = dict.fromkeys(dupes, 0.5) | dict.fromkeys(varied, 0.4)
    s = suggest(_Fake(p1), dupes + varied, known=[], n=4, seed=0)
    # ranking by uncertainty alone would give four variants of the template
    assert len(s.texts) == 4 and sum(t in dupes for t in s.texts) < 4
    assert s.texts[0] in dupes and s.uncertainty == sorted(s.uncertainty, reverse=True)


def test_suggest_leaves_out_what_is_labelled_even_when_only_the_tokens_match():
    from nlp_pp.decisions.suggest import suggest

    texts = ["영화 정말 재밌어요", "영화   정말  재밌어요", "배송이 늦어요", "환불 해주세요"]
    p1 = dict.fromkeys(texts, 0.5)
    s = suggest(_Fake(p1), texts, known=["영화 정말 재밌어요"], n=2)
    assert set(s.texts) == {"배송이 늦어요", "환불 해주세요"} and s.labelled == 2
    with pytest.raises(DataError, match="more than the 2 messages"):
        suggest(_Fake(p1), texts, known=["영화 정말 재밌어요"], n=3)
    with pytest.raises(DataError, match="already labelled"):
        suggest(_Fake(p1), texts[:2], known=["영화 정말 재밌어요"], n=1)
    with pytest.raises(ConfigError):
        suggest(_Fake(p1), texts, known=[], n=0)


# --------------------------------------------------------------------------- <UNK> during training


def test_words_only_the_vectors_know_are_unknown_to_a_random_init_run():
    seqs = [[2, 5, 9, 3], [7], []]
    assert beyond_as_unknown(seqs, 6) == [[2, 5, UNK_IDX, 3], [UNK_IDX], []]
    assert beyond_as_unknown(seqs, 10) == seqs


@pytest.mark.parametrize("family", ["gru", "wide_gru", "jamo_gru"])
def test_after_training_a_random_init_model_reads_those_words_as_unknown_too(family):
    """Embedding rows and spelling (the n-gram and jamo tables) alike: what the model was trained on."""
    import torch

    from nlp_pp import models
    from nlp_pp.config import ExperimentConfig
    from nlp_pp.training.fitting import untrained_as_unknown

    itos = ["<PAD>", "<UNK>", "영화", "재밌다", "ㅅㅂ", "광고", "무료쿠폰", "대출"]
    first = 5  # "무료쿠폰" and "대출" came from the vectors only
    net = models.build_model(
        ExperimentConfig(emb_dim=8, hidden=8).model_config(family, len(itos), 2, "random"), tokens=itos
    ).eval()
    ids = torch.tensor([[2, 6, 7], [2, UNK_IDX, UNK_IDX]])
    lengths = torch.tensor([3, 3])
    with torch.no_grad():
        before = net(ids, lengths)
    assert not torch.allclose(before[0], before[1])
    untrained_as_unknown(net, first)
    net.check_buffers()  # the spelling tables stay consistent
    with torch.no_grad():
        after = net(ids, lengths)
    assert torch.allclose(after[0], after[1])
    assert torch.equal(after[1], before[1])  # the words the model trained on are untouched


def test_a_validation_split_too_small_to_cross_fit_keeps_the_best_single_member():
    rng = np.random.default_rng(5)
    y_val, y_test = np.array([0, 1, 1]), rng.integers(0, 2, 50)
    members = [Scores(f"m{i}", _logits(rng, y_val, s), _logits(rng, y_test, s)) for i, s in enumerate((2, 1))]
    fit, _ = fit_ensemble_scores(members, [1.0, 1.0], _task(y_val, y_test))
    assert fit.method == "best single" and not fit.beats_best_single and fit.cross_fitted.folds == 0
    assert fit.cross_fitted.ensemble is None and len(fit.members) == 1


def test_suggest_reads_the_runs_files_with_the_runs_encoding(tmp_path):
    """A run trained with ``--encoding johab`` (not detected): suggest reads its files alike."""
    import json

    import pandas as pd

    from nlp_pp.config import ExperimentConfig
    from nlp_pp.decisions.suggest import known_texts, run_sources

    data, test = tmp_path / "data.csv", tmp_path / "test.csv"
    pd.DataFrame({"content": ["무료 쿠폰", "밥 먹자"], "label": ["스팸문자", "일상대화"]}).to_csv(
        data, index=False, encoding="johab"
    )
    pd.DataFrame({"content": ["대출 상담"], "label": ["스팸문자"]}).to_csv(
        test, index=False, encoding="johab"
    )
    cfg = ExperimentConfig(data=str(data), test_data=str(test), encoding="johab")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"experiment": cfg.to_dict()}), encoding="utf-8")
    src = run_sources(run)
    assert (src.encoding, src.columns) == ("johab", ["content", "label"])
    assert known_texts(src.data, src.test, src.text_col, src.encoding) == [
        "무료 쿠폰",
        "밥 먹자",
        "대출 상담",
    ]
