"""Tests of the typed result model (nlp_pp.results) and its JSON Schema."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from nlp_pp.decisions.thresholds import MIN_FLAGGED, choose_threshold
from nlp_pp.errors import ConfigError, RunError
from nlp_pp.options import ClassWeights, ThresholdPolicy
from nlp_pp.results import (
    AtThreshold,
    BaselineResult,
    Calibration,
    EnsembleResult,
    Epoch,
    Evaluation,
    Metrics,
    RunResult,
    SplitScores,
    Threshold,
)
from nlp_pp.schemas import json_schema, metrics_schema
from nlp_pp.schemas.generate import render_schema


def _run() -> RunResult:
    return RunResult(
        model="gru",
        init="fasttext",
        seed=1,
        best_epoch=2,
        epochs_run=3,
        params=10,
        train_seconds=1.5,
        val=SplitScores(accuracy=0.9, macro_f1=0.89, loss=0.3, pr_auc=0.95),
        test=SplitScores(accuracy=0.8, macro_f1=0.79, loss=0.4, confusion_matrix=[[3, 1], [0, 4]]),
        calibration=Calibration(1.3, 0.05, 0.02),
        threshold=Threshold(ThresholdPolicy.parse("precision:0.9"), 0.7, True, "note", 20, 19, 30, 0.76),
        test_at_threshold=AtThreshold(threshold=0.7, precision=0.9, tp=9, fp=1, tn=5, fn=2),
        history=[Epoch(epoch=1, train_loss=0.5, val_loss=0.4)],
    )


def test_a_run_result_round_trips_and_keeps_its_json_shape():
    run = _run()
    d = run.to_dict()
    assert list(d)[:3] == ["model", "init", "seed"]  # identity first, for readers of the file
    assert d["threshold"]["policy"] == "precision:0.9"  # typed values are written in their text form
    assert "roc_auc" not in d["val"]  # fields that do not apply are left out, not null
    assert RunResult.from_dict(json.loads(json.dumps(d))) == run
    assert run.key == "gru-fasttext-seed1"


def test_a_value_of_the_wrong_type_names_where_it_is():
    d = _run().to_dict()
    d["val"]["accuracy"] = "high"
    with pytest.raises(RunError, match=r"run\.json\.val\.accuracy must be a number \(got 'high'\)"):
        RunResult.from_dict(d, where="run.json")
    d = _run().to_dict()
    d["history"][0]["epoch"] = True
    with pytest.raises(RunError, match=r"history\[0\]\.epoch must be an integer"):
        RunResult.from_dict(d)


def test_what_is_missing_takes_its_default_and_what_is_required_is_named():
    assert BaselineResult.from_dict({}).name == "tfidf_logreg"
    with pytest.raises(RunError, match="has no 'model'"):
        RunResult.from_dict({"init": "random", "seed": 0})


@pytest.mark.parametrize(
    ("record", "data"),
    [
        (Calibration, {"temperature": 0}),
        (Calibration, {"temperature": -2.0}),
        (Threshold, {"policy": "f1", "value": 1.5}),
        (Threshold, {"policy": "sometimes", "value": 0.5}),
        (EnsembleResult, {"members": ["a", "b"], "weights": [1.0]}),
        (EnsembleResult, {"members": ["a"], "weights": [0.0]}),
    ],
)
def test_out_of_range_decisions_are_refused_on_reading(record, data):
    with pytest.raises(RunError):
        record.from_dict(data)


def test_options_parsed_once_stay_typed():
    assert ThresholdPolicy.parse("PRECISION:0.99") == ThresholdPolicy("precision", 0.99)
    assert str(ClassWeights.parse("a=2, b=0.5")) == "a=2,b=0.5"
    for bad in ("a=0", "a=2,a=3", "=1", "x"):
        with pytest.raises(ConfigError):
            ClassWeights.parse(bad)


def test_evaluation_parts_build_any_result():
    ev = Evaluation(val=SplitScores(accuracy=1.0))
    assert BaselineResult(**ev.parts()).val.accuracy == 1.0


def test_the_shipped_schema_is_the_generated_one():
    """nlp_pp/schemas/metrics.schema.json cannot drift from the dataclasses (regenerate with write())."""
    assert metrics_schema() == json.loads(render_schema())
    assert json_schema(Metrics)["$defs"]["Threshold"]["properties"]["policy"] == {"type": "string"}


def test_a_written_result_validates_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    metrics = Metrics(runs=[_run()], baseline=BaselineResult(val=SplitScores(accuracy=0.5)))
    jsonschema.validate(metrics.to_dict(), metrics_schema())
    broken = metrics.to_dict()
    broken["runs"][0]["val"]["accuracy"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, metrics_schema())


# ------------------------------------------------------------------------------- thresholds with their counts


def test_a_threshold_records_the_counts_it_rests_on_and_the_precisions_lower_bound():
    y = np.array([1] * 20 + [0] * 80)
    p = np.r_[np.linspace(0.99, 0.9, 20), np.linspace(0.5, 0.0, 80)]
    t = choose_threshold(y, p, "precision:0.99")
    assert (t.flagged, t.true_positives, t.positives) == (20, 20, 20)
    assert t.precision_lower_bound == pytest.approx(0.839, abs=1e-3)  # Wilson 95 %, 20 of 20


def test_a_precision_target_met_on_few_flagged_messages_is_warned_about(caplog):
    y = np.array([1] * 20 + [0] * 80)
    p = np.r_[np.linspace(0.99, 0.9, 20), np.linspace(0.5, 0.0, 80)]
    with caplog.at_level(logging.WARNING, logger="nlp_pp.decisions.thresholds"):
        choose_threshold(y, p, "precision:0.99")
    assert f"rests on 20 flagged validation message(s), fewer than {MIN_FLAGGED}" in caplog.text
    assert "lower bound is 0.839" in caplog.text
    caplog.clear()
    y = np.array([1] * 300 + [0] * 300)
    p = np.r_[np.linspace(0.99, 0.9, 300), np.linspace(0.5, 0.0, 300)]
    with caplog.at_level(logging.WARNING, logger="nlp_pp.decisions.thresholds"):
        t = choose_threshold(y, p, "precision:0.99")
    assert t.flagged >= MIN_FLAGGED and "rests on" not in caplog.text
