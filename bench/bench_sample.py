"""Time of the default comparison on the embedded sample: ``python pipeline.py`` with no options.

    python bench/bench_sample.py

Runs ``pipeline.py`` exactly as a new user would (six runs and the TF-IDF baseline on
``data/spam_sample.csv``), with a fresh cache directory so nothing is reused, and writes its wall
time, peak memory and time per stage into the ``sample`` section of BENCHMARKS.md (target: < 5 min).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_accuracy import run_pipeline
from bench.common import (
    command_line,
    format_load,
    load_average,
    machine_facts,
    md_facts,
    md_table,
    today,
    write_section,
)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = Path(tempfile.mkdtemp(prefix="nlp_pp-bench-sample-"))
    load0 = load_average()
    wall, peak, run_dir = run_pipeline(["--out", str(out / "runs"), "--cache-dir", str(out / "cache")])
    from nlp_pp.training.experiment import load_metrics

    m = load_metrics(run_dir)
    stages = [[k, f"{v:.1f}"] for k, v in m.timings.items()]
    runs = [
        [f"{r.model} + {r.init}", r.epochs_run, f"{r.train_seconds:.1f}", f"{r.test.accuracy:.4f}"]
        for r in m.runs
    ]
    if m.baseline:
        runs.append(
            [
                "tfidf_logreg (baseline)",
                "—",
                f"{m.baseline.train_seconds:.1f}",
                f"{m.baseline.test.accuracy:.4f}",
            ]
        )
    body = "\n".join(
        [
            "## `python pipeline.py` on the embedded sample",
            "",
            f"Measured {today()} with `{command_line(__file__, argv)}` (runs `python pipeline.py` with its "
            "defaults "
            "and a fresh, empty cache).",
            "",
            md_facts({**machine_facts(), "load average at start": format_load(load0)}),
            "",
            f"Whole run: **{wall:.0f} s** wall ({wall / 60:.1f} min; target < 5 min: "
            f"**{'PASS' if wall < 300 else 'MISS'}**), peak memory {peak:,.0f} MB; the wall time includes "
            "starting "
            "Python and importing torch, gensim and pandas.",
            "",
            md_table(["stage", "seconds"], stages, "lr"),
            "",
            md_table(["run", "epochs", "train s", "test accuracy"], runs, "lrrr"),
        ]
    )
    print(body)
    write_section("sample", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
