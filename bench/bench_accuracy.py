"""Accuracy on real Korean text: the pipeline's comparison on NSMC (150k train / 50k test).

    # full data, seed 0, rnn/lstm/gru x 2 inits
    python bench/bench_accuracy.py
    python bench/bench_accuracy.py --section accuracy-seeds --max-rows 30000 --seeds 0,1,2
    python bench/bench_accuracy.py --section accuracy-best --models gru --seeds 0,1,2 -- --inits fasttext
    --no-baseline
    python bench/bench_accuracy.py --section accuracy-other --models cnn,hybrid,avg
    python bench/bench_accuracy.py --section cache --max-rows 30000 --models rnn --epochs 1 --twice

Runs ``pipeline.py`` in a child process exactly as a user would (``--data train.csv --test-data
test.csv --text-col document --label-col label``, the pipeline's defaults otherwise), measures its
wall time and peak memory, and writes a section of BENCHMARKS.md from the run's ``metrics.json``:
test accuracy and macro-F1 per configuration (mean ± std over seeds), seconds per epoch, the
TF-IDF baseline, the FastText effect per model and the time per stage. ``--twice`` runs the same
command a second time with the same cache directory, to show what the cache saves.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (
    DEFAULT_DATA_DIR,
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


def run_pipeline(args: list[str]) -> tuple[float, float, Path]:
    """Run pipeline.py; returns (wall seconds, peak RSS MB of the child tree, run directory)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "pipeline.py"), *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    sys.stderr.write(proc.stderr[-3000:])
    if proc.returncode != 0:
        raise SystemExit(f"pipeline.py failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    report = [line for line in proc.stdout.splitlines() if line.startswith("report: ")][-1]
    return wall, peak, Path(report.removeprefix("report: ")).parent


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--section", default="accuracy", help="BENCHMARKS.md section to write")
    ap.add_argument("--models", default="rnn,lstm,gru")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--max-rows", type=int, default=None, help="stratified subset of the training file")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument(
        "--twice", action="store_true", help="run again with the same cache (shows the cache's effect)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="further pipeline.py options after --")
    a = ap.parse_args(argv)

    cache_dir = tempfile.mkdtemp(prefix="nlp_pp-bench-cache-") if a.twice else None
    args = [
        "--data",
        str(a.data_dir / "train.csv"),
        "--test-data",
        str(a.data_dir / "test.csv"),
        "--text-col",
        "document",
        "--label-col",
        "label",
        "--models",
        a.models,
        "--seeds",
        a.seeds,
        "--out",
        str(a.out),
    ]
    if a.max_rows:
        args += ["--max-rows", str(a.max_rows)]
    if a.epochs:
        args += ["--epochs", str(a.epochs)]
    if cache_dir:
        args += ["--cache-dir", cache_dir]
    args += [x for x in a.extra if x != "--"]
    load0 = load_average()
    wall, peak, run_dir = run_pipeline(args)
    metrics = load_metrics(run_dir)
    second = None
    if a.twice:
        wall2, _, run2 = run_pipeline(args)
        second = (wall2, load_metrics(run2))

    from nlp_pp.report import fasttext_effect, summarize

    table = summarize(metrics)
    per_epoch = {}
    for r in metrics.runs:
        per_epoch.setdefault(r.configuration, []).append(r.train_seconds / max(1, r.epochs_run))
    rows = []
    for _, r in table.iterrows():
        key = (r["model"], r["init"])
        spe = sum(per_epoch[key]) / len(per_epoch[key]) if key in per_epoch else float("nan")
        n = int(r["n_seeds"])
        acc = f"{r['accuracy_mean']:.4f}" + (f" ± {r['accuracy_std']:.4f}" if n > 1 else "")
        f1 = f"{r['macro_f1_mean']:.4f}" + (f" ± {r['macro_f1_std']:.4f}" if n > 1 else "")
        rows.append(
            [
                r["model"],
                r["init"],
                n,
                acc,
                f1,
                "—" if r["init"] == "baseline" else f"{r['best_epoch_mean']:.1f}",
                "—" if r["init"] == "baseline" else f"{spe:.1f}",
            ]
        )
    effect = fasttext_effect(metrics)
    eff_rows = [
        [
            e["model"],
            int(e["n_seeds"]),
            f"{e['accuracy_diff']:+.4f}",
            "—" if e["accuracy_spread"] != e["accuracy_spread"] else f"{e['accuracy_spread']:.4f}",
            f"{e['macro_f1_diff']:+.4f}",
            "—" if e["macro_f1_spread"] != e["macro_f1_spread"] else f"{e['macro_f1_spread']:.4f}",
            e["verdict"],
        ]
        for _, e in effect.iterrows()
    ]
    ds, cfg = metrics.dataset, metrics.config
    best = table[table["init"] != "baseline"].iloc[0]
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in metrics.timings.items())
    lines = [
        f"## NSMC comparison: {a.section}",
        "",
        f"Measured {today()} with `{command_line(__file__, argv)}` "
        f"(runs `python pipeline.py {' '.join(args)}`).",
        "",
        md_facts(
            {
                **machine_facts(("torch", "gensim", "python-mecab-ko")),
                "torch threads": str(
                    metrics.threads.describe() if hasattr(metrics.threads, "describe") else metrics.threads
                ),
                "load average at start": format_load(load0),
            }
        ),
        "",
        f"Data: `{ds.source}` → {ds.split.train:,} train / {ds.split.val:,} validation texts"
        f"{' (stratified subset of ' + str(a.max_rows) + ' rows)' if a.max_rows else ''}; test: the "
        f"{ds.split.test:,} texts of `test.csv`. Vocabulary {ds.vocab.size:,} tokens "
        f"(min_count {ds.vocab.min_count}), context length {ds.lengths.context_length}. "
        f"Settings: the pipeline's defaults — emb_dim {cfg['emb_dim']}, hidden {cfg['hidden']}, "
        f"bidirectional {cfg['bidirectional']}, pooling {cfg.get('pooling', 'last')}, dropout "
        f"{cfg['dropout']}, "
        f"lr {cfg['lr']}, batch {cfg['batch_size']}, up to {cfg['epochs']} epochs with patience "
        f"{cfg['patience']}; "
        f"stopwords {cfg['preprocess']['stopwords']}, keep_jamo {cfg['preprocess']['keep_jamo']}, "
        f"keep_punct {cfg['preprocess'].get('keep_punct', False)}, "
        f"jamo {cfg['preprocess']['jamo']}.",
        "",
        md_table(
            ["model", "init", "seeds", "test accuracy", "test macro-F1", "best epoch", "s / epoch"],
            rows,
            "llrrrrr",
        ),
        "",
        f"Best neural configuration: **{best['model']} + {best['init']}**, test accuracy "
        f"{best['accuracy_mean']:.4f} (target ≥ 0.875: "
        f"**{'PASS' if best['accuracy_mean'] >= 0.875 else 'MISS'}**). "
        f"Seconds per epoch include the validation pass.",
        "",
    ]
    if eff_rows:
        lines += [
            "Does FastText initialisation help? (FastText minus random; spread = std over seeds of the "
            "paired per-seed difference)",
            "",
            md_table(
                ["model", "seeds", "Δ accuracy", "spread", "Δ macro-F1", "spread", "verdict"],
                eff_rows,
                "lrrrrrl",
            ),
            "",
        ]
    lines += [
        f"Whole run: {wall / 60:.1f} min wall, peak memory {peak:,.0f} MB (child process tree; "
        f"target < 4 GB: **{'PASS' if peak < 4096 else 'MISS'}**). Time per stage: {timing}."
    ]
    if second is not None:
        wall2, m2 = second
        t1, t2 = metrics.timings, m2.timings
        saved = (t1.get("preprocess", 0) + t1.get("fasttext", 0)) - (
            t2.get("preprocess", 0) + t2.get("fasttext", 0)
        )
        lines += [
            "",
            "Cache: the same command run again with the same cache directory:",
            "",
            md_table(
                ["stage", "first run s", "second run s"],
                [[k, f"{t1.get(k, 0):.1f}", f"{t2.get(k, 0):.1f}"] for k in ("preprocess", "fasttext")]
                + [["whole run (wall)", f"{wall:.1f}", f"{wall2:.1f}"]],
                "lrr",
            ),
            "",
            f"The cache saved {saved:.1f} s of preprocessing and FastText training.",
        ]
    body = "\n".join(lines)
    print(body)
    if not a.no_write:
        write_section(a.section, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
