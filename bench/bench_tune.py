"""Budgeted tuning: what does ``pipeline.py tune`` find within a time budget, against the defaults?

    python bench/bench_tune.py --setup nsmc-10k --timeout 1500            # the short demonstration
    python bench/bench_tune.py --setup nsmc-full --timeout 7200    # the goal: 2 hours, full NSMC

Runs ``pipeline.py tune`` (BiGRU, BiLSTM and CNN, random and FastText initialisation; the search space of
``nlp_pp.tuning.space``) in ``bench/out/tune/<setup>``. Trial 0 is the options as given (the defaults),
so "best − as given" on the validation split is what the search bought; the best configuration is then
run once with the test split (NSMC's test.csv, which chose nothing). Writes the section ``tune`` of
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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

OUT = PROJECT_ROOT / "bench" / "out" / "tune"
PIPELINE = str(PROJECT_ROOT / "pipeline.py")


def data_args(setup: str, data_dir: Path) -> list[str]:
    test = [
        "--test-data",
        str(data_dir / "test.csv"),
        "--text-col",
        "document",
        "--label-col",
        "label",
    ]
    if setup == "nsmc-full":
        return ["--data", str(data_dir / "train.csv"), *test]
    from bench.nsmc_subsets import subset

    size = {"nsmc-10k": 10_000, "nsmc-30k": 30_000}[setup]
    return ["--data", str(subset(size, 0, data_dir)[0]), *test]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setup", choices=("nsmc-10k", "nsmc-30k", "nsmc-full"), default="nsmc-10k")
    ap.add_argument("--timeout", type=float, default=1500)
    ap.add_argument("--models", default="gru,lstm,cnn")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    a, extra = ap.parse_known_args(argv)
    load0 = load_average()
    name = f"{a.setup}-{int(a.timeout)}s"
    tune = OUT / name
    if not (tune / "report.md").exists():
        where = ["--out", str(OUT), "--name", name]
        cmd = [sys.executable, PIPELINE, "tune", *data_args(a.setup, a.data_dir), "--models", a.models]
        cmd += ["--timeout", str(a.timeout), *where, *extra]
        print(" ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True, cwd=PROJECT_ROOT)
    rows = list(csv.DictReader((tune / "trials.csv").open(encoding="utf-8")))
    done = [r for r in rows if r["state"] == "complete"]
    given = next(r for r in rows if r["as_given"] == "True")
    best = max(done, key=lambda r: float(r["val_macro_f1"]))
    from nlp_pp.training.experiment import load_metrics

    m = load_metrics(tune / "best")
    final = [
        [f"{r.model} + {r.init} (seed {r.seed})", f"{r.val.macro_f1:.4f}", f"{r.test.accuracy:.4f}",
         f"{r.test.macro_f1:.4f}"]
        for r in m.runs
    ] + [
        [r.key, f"{r.val.macro_f1:.4f}", f"{r.test.accuracy:.4f}", f"{r.test.macro_f1:.4f}"]
        for r in (m.baseline, m.ensemble)
        if r is not None
    ]  # fmt: skip
    fixed = ("number", "state", "val_macro_f1", "epochs", "seconds", "stopped", "as_given")
    names = [k for k in rows[0] if k not in fixed]

    def shown(v: str) -> str:
        try:
            return f"{float(v):.4g}" if "." in v else v
        except ValueError:
            return v

    params = [[k, shown(best[k]) or "—", shown(given[k]) or "—"] for k in names if best[k] or given[k]]
    seconds = sum(float(r["seconds"] or 0) for r in rows)
    states = {s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "fail")}
    diff = float(best["val_macro_f1"]) - float(given["val_macro_f1"])
    ok = diff >= 0
    cmd = command_line(__file__, argv if argv is not None else sys.argv[1:])
    where = tune.relative_to(PROJECT_ROOT)
    body = "\n".join(
        [
            "## Budgeted tuning: `pipeline.py tune` (tune)",
            "",
            f"Measured {today()} with `{cmd}` "
            f"(load at start: {format_load(load0)}); the tuning directory is `{where}` "
            "(report.html, trials.csv, best.toml).",
            "",
            md_facts(machine_facts(("torch", "optuna", "python-mecab-ko"))),
            "",
            f"**Search:** models {a.models}, inits random and FastText, budget {a.timeout:g} s; "
            f"{len(rows)} trials ({states['complete']} complete, {states['pruned']} pruned by the median "
            f"rule or the budget, {states['fail']} failed) in {seconds / 60:.1f} min of trials. "
            "Trial 0 is the hand-chosen defaults.",
            "",
            f"- validation macro-F1: best trial #{best['number']} {float(best['val_macro_f1']):.4f}, "
            "the defaults "
            f"(trial #{given['number']}) {float(given['val_macro_f1']):.4f}: {diff:+.4f} (goal: at least as "
            f"good on validation): **{'PASS' if ok else 'MISS'}**",
            "",
            "Best parameters against the defaults:",
            "",
            md_table(["parameter", "best", "defaults"], params, "lrr"),
            "",
            "The best configuration run once with the test split (`best/`, with the baseline and their "
            "ensemble):",
            "",
            md_table(["row", "val macro-F1", "test accuracy", "test macro-F1"], final, "lrrr"),
        ]
    )
    print(body)
    (OUT / f"{name}.json").write_text(
        json.dumps({"best": best, "given": given}, ensure_ascii=False, indent=2)
    )
    if not a.no_write:
        write_section("tune", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
