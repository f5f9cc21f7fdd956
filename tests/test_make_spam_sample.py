"""Tests of data/make_spam_sample.py: the committed sample is reproducible, --spam-rate, one-line errors."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "data" / "make_spam_sample.py"
SAMPLE = ROOT / "data" / "spam_sample.csv"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def spam_share(path: Path) -> float:
    with path.open(encoding="utf-8", newline="") as fh:
        labels = [row["class"] for row in csv.DictReader(fh)]
    return labels.count("스팸문자") / len(labels)


@pytest.fixture(scope="module")
def module():
    spec = importlib.util.spec_from_file_location("make_spam_sample", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolves the module's annotations through sys.modules
    spec.loader.exec_module(mod)
    yield mod
    del sys.modules[spec.name]


def test_defaults_reproduce_the_committed_sample(tmp_path: Path) -> None:
    out = tmp_path / "sample.csv"
    result = run("--rows", "4000", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert sha256(out) == sha256(SAMPLE)


def test_spam_rate_is_the_share_of_spam_labels_in_the_file(tmp_path: Path) -> None:
    out = tmp_path / "minority.csv"
    result = run("--spam-rate", "0.06", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert spam_share(out) == pytest.approx(0.06, abs=0.005)


@pytest.mark.parametrize("value", ["0", "1", "-1", "abc", "0.01", "nan"])
def test_bad_spam_rate_is_a_one_line_error(value: str, tmp_path: Path) -> None:
    out = tmp_path / "never.csv"
    result = run("--spam-rate", value, "--out", str(out))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    assert "error: argument --spam-rate: must be a number strictly between 0.02 and 0.98" in errors[0]
    assert not out.exists()


def test_every_template_slot_is_defined_and_draws(module) -> None:
    templates = [s for pool in (*module.HAM_TOPICS.values(), *module.SPAM_TOPICS.values()) for s in pool]
    templates += module.SPAM_CTAS
    used = {name for t in templates for name in module.SLOT_RE.findall(t)}
    assert used <= set(module.SLOTS)
    rng = random.Random(0)
    for name in module.SLOTS:
        for _ in range(20):
            value = module.draw_slot(name, rng)
            assert value and "{" not in value and "}" not in value, (name, value)


def test_default_class_counts_are_unchanged_for_any_row_count(module) -> None:
    # Before --spam-rate the generator drew round(rows * 0.55) everyday messages.
    assert all(
        module.ham_messages(rows, module.DEFAULT_SPAM_RATE) == round(rows * 0.55) for rows in range(1, 20001)
    )
