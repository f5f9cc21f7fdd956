"""A spam filter's decisions on real text: NSMC made imbalanced, a precision:0.99 operating point,
calibration.

    python bench/bench_decisions.py
    python bench/bench_decisions.py --train-rows 10000 --no-write      # a quicker look

NSMC's negative reviews play the rare class (the "spam"): a stratified sample in which they are 6 %
of the rows, from train.csv for training (the pipeline splits it 85/15 into train and validation)
and from test.csv for testing. One ``pipeline.py`` run with ``--positive-label 0
--threshold-policy precision:0.99`` (BiLSTM and BiGRU, random and FastText init, the TF-IDF baseline
and the ensemble); the table is read from its ``metrics.json``: PR-AUC, the threshold chosen on
validation for 99 % precision, what it gives on the test split, and the expected calibration error
before and after temperature scaling. Writes the section ``decisions`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd

from bench.common import (
    DEFAULT_DATA_DIR,
    PROJECT_ROOT,
    command_line,
    format_load,
    load_average,
    machine_facts,
    md_facts,
    md_table,
    today,
    write_section,
)
from nlp_pp.training.experiment import load_metrics

OUT = PROJECT_ROOT / "bench" / "out" / "decisions"


def imbalanced(df: pd.DataFrame, rows: int, rate: float, seed: int) -> pd.DataFrame:
    """``rows`` reviews of which a share ``rate`` are negative (label 0), sampled at random."""
    df = df.dropna(subset=["document"]).drop_duplicates("document")
    n_neg = round(rows * rate)
    neg = df[df["label"] == 0].sample(n=n_neg, random_state=seed)
    pos = df[df["label"] == 1].sample(n=rows - n_neg, random_state=seed)
    return pd.concat([neg, pos]).sample(frac=1.0, random_state=seed)[["document", "label"]]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--train-rows", type=int, default=30_000)
    ap.add_argument("--test-rows", type=int, default=20_000)
    ap.add_argument("--rate", type=float, default=0.06)
    ap.add_argument("--policy", default="precision:0.99")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="further pipeline.py options after --")
    a = ap.parse_args(argv)
    load0 = load_average()
    OUT.mkdir(parents=True, exist_ok=True)
    train = OUT / f"train-{a.train_rows}-{a.rate}.csv"
    test = OUT / f"test-{a.test_rows}-{a.rate}.csv"
    if not train.exists():
        imbalanced(pd.read_csv(a.data_dir / "train.csv"), a.train_rows, a.rate, 0).to_csv(train, index=False)
        imbalanced(pd.read_csv(a.data_dir / "test.csv"), a.test_rows, a.rate, 0).to_csv(test, index=False)
    name = f"imbalanced-{a.train_rows}-{a.rate}-{a.policy.replace(':', '')}"
    run = OUT / name
    if not (run / "metrics.json").exists():
        subprocess.run(
            [
                sys.executable,
                str(PROJECT_ROOT / "pipeline.py"),
                "--data",
                str(train),
                "--test-data",
                str(test),
                "--text-col",
                "document",
                "--label-col",
                "label",
                "--positive-label",
                "0",
                "--threshold-policy",
                a.policy,
                "--models",
                "lstm,gru",
                "--out",
                str(OUT),
                "--name",
                name,
                *[x for x in a.extra if x != "--"],
            ],
            check=True,
        )
    m = load_metrics(run)
    rows = []
    entries = [(f"{r.model} + {r.init}", r) for r in m.runs]
    entries += [("TF-IDF baseline", m.baseline)] + ([("ensemble", m.ensemble)] if m.ensemble else [])
    for label, r in entries:
        t, at, cal = r.threshold, r.test_at_threshold, r.calibration
        rows.append(
            [
                label,
                f"{r.test.pr_auc:.4f}",
                f"{r.test.roc_auc:.4f}",
                f"{t.value:.3f}" + ("" if t.met else " (not met)"),
                f"{at.precision:.3f}" if at.precision is not None else "—",
                f"{at.recall:.3f}",
                f"{at.false_positives_per_10k:,.0f}",
                f"{at.missed_per_1k:,.0f}",
                f"{cal.ece_before:.4f}",
                f"{cal.ece_after:.4f}",
                f"{cal.temperature:.2f}",
            ]
        )
    split = m.dataset.split
    body = "\n".join(
        [
            "## Decisions on imbalanced real text: precision 0.99, PR-AUC, calibration",
            "",
            f"Measured {today()} with `{command_line(__file__, argv)}`.",
            "",
            md_facts({**machine_facts(), "load average at start": format_load(load0)}),
            "",
            f"Data: NSMC with the negative reviews (label 0, the positive class here, playing the spam) as a "
            f"{a.rate:.0%} minority: {a.train_rows:,} reviews of train.csv (split {split['train']:,} / "
            f"{split['val']:,} "
            f"train / validation) and {split['test']:,} of test.csv, sampled at random (seed 0). One run, "
            f"`--positive-label 0 --threshold-policy {a.policy}`, the pipeline's defaults otherwise; each "
            "threshold is "
            "chosen on the calibrated validation probabilities, and the test columns are what it gives "
            "there. "
            "ECE = expected calibration error on the test split (15 bins), before and after temperature "
            "scaling "
            "(temperature fitted on validation).",
            "",
            md_table(
                [
                    "model",
                    "test PR-AUC",
                    "test ROC-AUC",
                    f"threshold ({a.policy})",
                    "test precision",
                    "test recall",
                    "false alarms / 10k",
                    "missed / 1k",
                    "ECE before",
                    "ECE after",
                    "temperature",
                ],
                rows,
                "lrrrrrrrrrr",
            ),
        ]
    )
    print(body)
    if not a.no_write:
        write_section("decisions", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
