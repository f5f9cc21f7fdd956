"""Few labels, much unlabelled text: the learning curve on NSMC, and what pretraining costs.

    python bench/bench_learning_curve.py                          # sizes 2000,5000,10000,25000; seeds 0,1,2
    python bench/bench_learning_curve.py --sizes 5000 --seeds 0 --no-write
    # pretrain on all 200k NSMC texts: time, memory
    python bench/bench_learning_curve.py --section pretrain

Learning curve (section ``learning-curve``): for each size and seed, a stratified sample of that many
labelled reviews of NSMC's train.csv (``bench/nsmc_subsets.py``; the pipeline splits it 85/15 into
train and validation), the rest of train.csv without its labels as unlabelled text, and the shared
test.csv as the test set. FastText is pretrained on the unlabelled rest (``pipeline.py pretrain``) and
two runs of ``pipeline.py`` give the rows:

- run A, ``--pretrained-vectors``: TF-IDF + logistic regression, the recurrent model with random init,
  with FastText-with-unlabelled init, and the ensemble (members and weights chosen on validation);
- run B, ``--inits fasttext`` without the unlabelled text: FastText trained on the labelled split only.

The seed chooses both the subset and the training seed; mean ± std over the seeds, and the paired
per-seed differences. Writes ``bench/learning_curve.png``.

Pretraining (section ``pretrain``): ``pipeline.py pretrain`` on every NSMC text (train + test, 200k)
and on half of them, each in a fresh process: wall time and peak memory (the corpus is streamed, so
memory should not grow with the file).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
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
from bench.nsmc_subsets import OUT, pretrained, subset, test_file

PIPELINE = str(PROJECT_ROOT / "pipeline.py")
ROWS = ("TF-IDF", "random", "FastText, labelled only", "FastText + unlabelled", "ensemble")


def run(name: str, size: int, seed: int, options: list[str]) -> dict:
    labelled, _ = subset(size, seed)
    out = OUT / "curve" / f"{name}-{size}-seed{seed}"
    if not (out / "metrics.json").exists():
        shutil.rmtree(
            out.with_name(out.name + ".partial"), ignore_errors=True
        )  # an interrupted earlier attempt
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                PIPELINE,
                "--data",
                str(labelled),
                "--test-data",
                str(test_file()),
                "--text-col",
                "document",
                "--label-col",
                "label",
                "--seeds",
                str(seed),
                "--split-seed",
                str(seed),
                "--out",
                str(out.parent),
                "--name",
                out.name,
                *options,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"{name} {size} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    from nlp_pp.training.experiment import load_metrics

    return load_metrics(out)


def curve_point(size: int, seed: int, model: str, options: list[str]) -> dict[str, dict]:
    vectors = pretrained(size, seed)
    a = run(
        "with-unlabelled", size, seed, ["--models", model, "--pretrained-vectors", str(vectors), *options]
    )
    b = run(
        "labelled-only",
        size,
        seed,
        ["--models", model, "--inits", "fasttext", "--no-baseline", "--no-ensemble", *options],
    )
    by_init = {r.init: r for r in a.runs}
    rows = {
        "TF-IDF": a.baseline,
        "random": by_init["random"],
        "FastText, labelled only": b.runs[0],
        "FastText + unlabelled": by_init["fasttext"],
        "ensemble": a.ensemble,
    }
    return {
        k: {"accuracy": v.test.accuracy, "macro_f1": v.test.macro_f1, "val_macro_f1": v.val.macro_f1}
        for k, v in rows.items()
    } | {
        "_members": {
            "members": a.ensemble.members,
            "weights": a.ensemble.weights,
            "beats_best_single": a.ensemble.beats_best_single,
        }
    }


def ms(values: list[float], scale: float = 1.0, signed: bool = False) -> str:
    m = statistics.mean(values) * scale
    s = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return (f"{m:+.2f}" if signed else f"{m:.4f}") + (f" ± {s:.2f}" if signed else f" ± {s:.4f}")


def plot(results: dict, sizes: list[int], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for row, style in zip(ROWS, ("--o", ":s", "-.^", "-o", "-D")):
        means = [statistics.mean(p[row]["accuracy"] for p in results[size]) for size in sizes]
        ax.plot(sizes, means, style, label=row, lw=1.6, ms=5)
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{s // 1000}k" for s in sizes])
    ax.set_xticks([], minor=True)  # no 3x10^3-style minor labels of the log axis
    ax.set_xlabel("labelled training reviews (NSMC subset; 85 % train, 15 % validation)")
    ax.set_ylabel("test accuracy (50k NSMC test reviews)")
    ax.set_title("Learning curve, mean over seeds")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.savefig(path)


def learning_curve(a, argv) -> str:
    sizes = [int(x) for x in a.sizes.split(",")]
    seeds = [int(x) for x in a.seeds.split(",")]
    options = [x for x in a.extra if x != "--"]
    load0 = load_average()
    results = {size: [curve_point(size, seed, a.model, options) for seed in seeds] for size in sizes}
    (OUT / "learning_curve.json").write_text(json.dumps(results, indent=1))
    png = PROJECT_ROOT / "bench" / "learning_curve.png"
    plot(results, sizes, png)
    table, diffs, goals = [], [], []
    for size in sizes:
        pts = results[size]
        table.append([f"{size:,}"] + [ms([p[r]["accuracy"] for p in pts]) for r in ROWS])
        acc = {r: [p[r]["accuracy"] for p in pts] for r in ROWS}
        best_neural = [max(p["random"]["accuracy"], p["FastText + unlabelled"]["accuracy"]) for p in pts]
        ft_minus_random = [u - r for u, r in zip(acc["FastText + unlabelled"], acc["random"])]
        neural_minus_tfidf = [u - t for u, t in zip(acc["FastText + unlabelled"], acc["TF-IDF"])]
        ens_minus_best = [e - max(t, n) for e, t, n in zip(acc["ensemble"], acc["TF-IDF"], best_neural)]
        diffs.append(
            [
                f"{size:,}",
                ms(ft_minus_random, 100, True),
                ms(neural_minus_tfidf, 100, True),
                ms(ens_minus_best, 100, True),
                f"{sum(p['_members']['beats_best_single'] for p in pts)} of {len(pts)}",
            ]
        )
        if size >= 5000:
            need = 2.0 if size == 5000 else 0.0
            ok = statistics.mean(neural_minus_tfidf) * 100 > need
            goals.append(
                f"- {size:,}: FastText + unlabelled − TF-IDF = "
                f"{statistics.mean(neural_minus_tfidf) * 100:+.2f} "
                f"points (goal > {need:+.1f}): **{'PASS' if ok else 'MISS'}**; ensemble above both: "
                f"**{'PASS' if statistics.mean(ens_minus_best) > 0 else 'MISS'}**"
                + (
                    f"; FastText + unlabelled − random = {statistics.mean(ft_minus_random) * 100:+.2f} "
                    f"(goal ≥ +3): **{'PASS' if statistics.mean(ft_minus_random) * 100 >= 3 else 'MISS'}**"
                    if size == 5000
                    else ""
                )
            )
    return "\n".join(
        [
            "## Learning curve: few labels, much unlabelled text (NSMC)",
            "",
            f"Measured {today()} with `{command_line(__file__, argv)}`.",
            "",
            md_facts({**machine_facts(), "load average at start": format_load(load0)}),
            "",
            f"Model: {a.model.upper()} with the pipeline's "
            f"defaults{' and ' + ' '.join(options) if options else ''}. "
            f"Sizes {', '.join(f'{s:,}' for s in sizes)} labelled reviews (stratified subsets of train.csv), "
            "seeds "
            f"{', '.join(map(str, seeds))}; unlabelled text: the rest of train.csv (~145k reviews, labels "
            "dropped); "
            "test: the 50,000 reviews of test.csv. FastText + unlabelled uses vectors pretrained on the "
            "unlabelled "
            "rest (none of the run's validation or test texts are in it); the ensemble's members and weights "
            "are "
            "chosen on validation.",
            "",
            "Test accuracy, mean ± std over the seeds:",
            "",
            md_table(["labelled", *ROWS], table, "lrrrrr"),
            "",
            "Paired per-seed differences in test accuracy, points (mean ± std over the seeds):",
            "",
            md_table(
                [
                    "labelled",
                    "FastText + unlabelled − random",
                    "FastText + unlabelled − TF-IDF",
                    "ensemble − best of (TF-IDF, neural)",
                    "ensemble beats best single on validation (cross-fitted)",
                ],
                diffs,
                "lrrrr",
            ),
            "",
            "Goals:",
            "",
            *goals,
            "",
            "![learning curve](bench/learning_curve.png)",
        ]
    )


CHILD = r"""
import sys, time, resource, subprocess
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def pretrain_cost(a, argv) -> str:
    load0 = load_average()
    data = a.data_dir
    texts = pd.concat(
        [pd.read_csv(data / "train.csv")["document"], pd.read_csv(data / "test.csv")["document"]]
    )
    texts = texts.dropna().astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    texts = texts[texts != ""]
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, part in (("half (100k)", texts.iloc[: len(texts) // 2]), ("all (200k)", texts)):
        src = OUT / f"all-nsmc-{len(part)}.txt"
        src.write_text("\n".join(part) + "\n", encoding="utf-8")
        dst = OUT / f"pretrain-{len(part)}.model"
        dst.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            PIPELINE,
            "pretrain",
            "--unlabeled",
            str(src),
            "--out",
            str(dst),
            "--no-cache",
            *[x for x in a.extra if x != "--"],
        ]
        out = subprocess.run([sys.executable, "-c", CHILD, *cmd], capture_output=True, text=True, check=True)
        seconds, peak = map(float, out.stdout.split())
        meta = __import__("nlp_pp.vectors.storage", fromlist=["load_vectors"]).load_vectors(dst)[1]["corpus"]
        rows.append(
            [
                label,
                f"{len(part):,}",
                f"{src.stat().st_size / 2**20:,.0f}",
                f"{meta['tokens']:,}",
                f"{meta['vocabulary']:,}",
                f"{seconds / 60:.1f}",
                f"{peak:,.0f}",
            ]
        )
        print(rows[-1], flush=True)
    return "\n".join(
        [
            "## Pretraining FastText on unlabelled text: time and memory",
            "",
            f"Measured {today()} with `{command_line(__file__, argv)}`.",
            "",
            md_facts({**machine_facts(), "load average at start": format_load(load0)}),
            "",
            "`pipeline.py pretrain --no-cache` on NSMC's reviews (train.csv then test.csv, one per line), "
            "the "
            "defaults otherwise (preprocessing in 2 processes, FastText dim 100, 10 epochs, 1 thread), each "
            "in a "
            "fresh process; peak memory is the largest resident set of the process tree (preprocessing "
            "workers "
            "included).",
            "",
            md_table(
                ["corpus", "texts", "file MB", "tokens", "vocabulary", "minutes", "peak MB"], rows, "lrrrrrr"
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--section", default="learning-curve", choices=("learning-curve", "pretrain"))
    ap.add_argument("--sizes", default="2000,5000,10000,25000")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--model", default="gru")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="further pipeline.py options after --")
    a = ap.parse_args(argv)
    body = learning_curve(a, argv) if a.section == "learning-curve" else pretrain_cost(a, argv)
    print(body)
    if not a.no_write:
        write_section(a.section, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
