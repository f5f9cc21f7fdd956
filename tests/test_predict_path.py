"""predict: the same answers as predict_proba, in plain Python types; the threads an export gets."""

from __future__ import annotations

import numpy as np
import pytest

from nlp_pp.cli import inference_threads
from nlp_pp.deploy.classifier import Classifier
from nlp_pp.deploy.inference import ONNX_MAX_BATCH, OnnxRunner
from nlp_pp.options import ThresholdPolicy
from nlp_pp.results import Calibration, ThreadSettings, Threshold
from nlp_pp.text.preprocess import PreprocessConfig


def _classifier(labels, threshold=None, positive=None):
    logits = {"a": [2.0, 0.0], "b": [0.0, 1.0], "c": [0.3, 0.2]}
    scorer = lambda texts: np.array([logits[t][: len(labels)] for t in texts], dtype=np.float32)
    decision = None if threshold is None else Threshold(ThresholdPolicy("fixed", threshold), threshold)
    return Classifier(
        "m", labels, PreprocessConfig(), scorer, calibration=Calibration(1.5), decision=decision,
        positive_label=positive,
    )  # fmt: skip


@pytest.mark.parametrize("threshold", [None, 0.45])
def test_predict_rows_match_predict_proba(threshold):
    clf = _classifier(["neg", "pos"], threshold, "pos" if threshold else None)
    texts = ["a", "b", "c"]
    rows, probs = clf.predict(texts), clf.predict_proba(texts)
    for row, text, p in zip(rows, texts, probs):
        k = clf.labels.index(row["label"])
        assert row["text"] == text and row["prob"] == pytest.approx(p[k], abs=0)
        assert row["probs"] == {"neg": pytest.approx(p[0], abs=0), "pos": pytest.approx(p[1], abs=0)}
        assert type(row["prob"]) is float and all(type(v) is float for v in row["probs"].values())
        if threshold is None:
            assert row["decision"] is None and k == int(np.argmax(p))
        else:
            assert row["decision"] == {
                "positive_label": "pos",
                "threshold": 0.45,
                "is_positive": p[1] >= 0.45,
            }
            assert type(row["decision"]["is_positive"]) is bool
    assert clf.predict([]) == []
    with pytest.raises(TypeError):
        clf.predict("a")


def _settings(source: str, intra: int) -> ThreadSettings:
    return ThreadSettings(
        intra_op=intra, inter_op=1, omp_wait_policy=None, omp_env="nlp_pp", source=source, cores=2
    )


def test_an_export_gets_one_thread_unless_asked():
    assert inference_threads(_settings("auto", 2)) == 1  # ONNX Runtime cannot adapt as torch does
    assert inference_threads(_settings("option", 2)) == 2
    assert inference_threads(_settings("NLP_PP_THREADS", 2)) == 2


def test_onnx_calls_are_small_by_default():
    import inspect

    assert ONNX_MAX_BATCH == 64
    assert inspect.signature(OnnxRunner).parameters["max_batch"].default == ONNX_MAX_BATCH
