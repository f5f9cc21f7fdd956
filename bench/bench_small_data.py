"""What makes the neural models hold up with few labels: training options compared on *validation* scores.

    python bench/bench_small_data.py                          # sizes 5000,2000; seeds 0,1,2; every variant
    python bench/bench_small_data.py --sizes 5000 --variants base,vocab --no-write

For each labelled NSMC subset (stratified sample of train.csv, ``bench/nsmc_subsets.py``) the rest of
train.csv is unlabelled text: FastText is pretrained on it once (``pipeline.py pretrain``) and each
variant runs ``pipeline.py`` with ``--pretrained-vectors`` (BiGRU, one seed per run). Decisions are
made on the validation split only: the script reads the validation macro-F1 and accuracy of
``metrics.json`` and never a test score (the runs use the first 1,000 rows of test.csv as their
test file only because the pipeline needs one). Writes the section ``small-data`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
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
from bench.nsmc_subsets import OUT, pretrained, subset, test_file

# variant -> pipeline.py options (added to the common ones); "pretrained" runs get the subset's vectors
NO_VOCAB = "--no-vocab-from-vectors"
VARIANTS = {
    "random": ["--inits", "random"],
    "ft-labelled": ["--inits", "fasttext"],
    "base": ["pretrained", "--no-freeze-embedding", NO_VOCAB],
    "vocab": ["pretrained", "--no-freeze-embedding", "--vocab-from-vectors"],
    "freeze": ["pretrained", "--freeze-embedding", NO_VOCAB],
    "vocab+freeze": ["pretrained", "--vocab-from-vectors", "--freeze-embedding"],
    "vocab+freeze2": ["pretrained", "--no-freeze-embedding", "--vocab-from-vectors", "--freeze-epochs", "2"],
    "hidden64": ["pretrained", "--no-freeze-embedding", NO_VOCAB, "--hidden", "64"],
    "dropout0.5": ["pretrained", "--no-freeze-embedding", NO_VOCAB, "--dropout", "0.5"],
    "weight-decay": ["pretrained", "--no-freeze-embedding", NO_VOCAB, "--weight-decay", "1e-5"],
    "monitor-f1": ["pretrained", "--no-freeze-embedding", NO_VOCAB, "--monitor", "val_f1"],
    "lstm": ["pretrained", "--no-freeze-embedding", NO_VOCAB, "--models", "lstm"],
    "freeze+lstm": ["pretrained", "--freeze-embedding", NO_VOCAB, "--models", "lstm"],
    "freeze+dropout0.5": ["pretrained", "--freeze-embedding", NO_VOCAB, "--dropout", "0.5"],
}
REDUCED = ("random", "ft-labelled", "base", "vocab", "freeze", "vocab+freeze")  # at --reduced sizes


def run_variant(name: str, size: int, seed: int, extra: list[str]) -> dict:
    labelled, _ = subset(size, seed)
    out = OUT / "runs" / f"{name}-{size}-seed{seed}"
    metrics_path = out / "metrics.json"
    if not metrics_path.exists():
        opts = [o for o in VARIANTS[name] if o != "pretrained"]
        if "pretrained" in VARIANTS[name]:
            opts = ["--pretrained-vectors", str(pretrained(size, seed)), "--inits", "fasttext", *opts]
        if "--models" not in opts:
            opts = ["--models", "gru", *opts]
        cmd = [
            sys.executable,
            str(PROJECT_ROOT / "pipeline.py"),
            "--data",
            str(labelled),
            "--test-data",
            str(test_file(1000)),
            "--text-col",
            "document",
            "--label-col",
            "label",
            "--seeds",
            str(seed),
            "--split-seed",
            str(seed),
            "--no-baseline",
            "--no-ensemble",
            "--out",
            str(out.parent),
            "--name",
            out.name,
            *opts,
            *extra,
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{name} {size} seed {seed} failed:\n{proc.stderr[-2000:]}")
        print(f"{name} {size} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    from nlp_pp.training.experiment import load_metrics

    r = load_metrics(out).runs[0]
    return {
        "val_macro_f1": r.val.macro_f1,
        "val_accuracy": r.val.accuracy,
        "best_epoch": r.best_epoch,
        "seconds": r.train_seconds,
    }


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="5000,2000")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--reduced", default="2000", help="sizes at which only the main variants run")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="further pipeline.py options after --")
    a = ap.parse_args(argv)
    sizes = [int(x) for x in a.sizes.split(",")]
    seeds = [int(x) for x in a.seeds.split(",")]
    variants = a.variants.split(",")
    extra = [x for x in a.extra if x != "--"]
    reduced = {int(x) for x in a.reduced.split(",") if x}
    load0 = load_average()
    results: dict[tuple[str, int], list[dict]] = {}
    for size in sizes:
        for seed in seeds:
            for name in variants:
                if size in reduced and name not in REDUCED:
                    continue
                results.setdefault((name, size), []).append(run_variant(name, size, seed, extra))
    rows = []
    for name in variants:
        row = [name, " ".join(VARIANTS[name]).replace("pretrained", "pretrained vectors")]
        for size in sizes:
            rs = results.get((name, size))
            row += [
                mean_std([r["val_macro_f1"] for r in rs]) if rs else "—",
                f"{statistics.mean(r['best_epoch'] for r in rs):.1f}" if rs else "—",
            ]
        rows.append(row)
    header = ["variant", "options (BiGRU unless --models)"]
    for size in sizes:
        header += [f"val macro-F1, {size} labelled", "best epoch"]
    body = "\n".join(
        [
            "## Small labelled data: training options compared on validation",
            "",
            f"Measured {today()} with "
            f"`{command_line(__file__, argv if argv is not None else sys.argv[1:])}`.",
            "",
            md_facts({**machine_facts(), "load average at start": format_load(load0)}),
            "",
            f"Data: stratified NSMC subsets of train.csv ({', '.join(map(str, sizes))} labelled reviews; "
            "seeds "
            f"{', '.join(map(str, seeds))} choose both the subset and the training seed), split 85/15 into "
            "train and "
            "validation by the pipeline; the rest of train.csv (about 145k reviews) is unlabelled text, on "
            "which "
            "FastText is pretrained once per subset (`pipeline.py pretrain`). Mean ± std over the seeds of "
            "the "
            "**validation** macro-F1; no test score was read to make these choices.",
            "",
            md_table(header, rows, "ll" + "rr" * len(sizes)),
        ]
    )
    print(body)
    (OUT / "small_data.json").write_text(
        json.dumps({f"{k[0]}|{k[1]}": v for k, v in results.items()}, indent=1)
    )
    if not a.no_write:
        write_section("small-data", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
