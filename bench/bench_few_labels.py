"""Few labels on short, noisy messages (K-MHaS) and on movie reviews (NSMC): runs, self-training, suggest.

    python bench/bench_few_labels.py                                  # K-MHaS 2k/5k, seeds 0,1,2: goals
    python bench/bench_few_labels.py --data nsmc,kmhas --sizes 2000 --section self-training
    python bench/bench_few_labels.py --data nsmc,kmhas --section suggest
    python bench/bench_few_labels.py --models gru,lstm,NEWFAMILY       # another model family's rows

For a data set (``nsmc`` or ``kmhas``), a size and a seed: a stratified sample of that many labelled
rows of its train.csv (``bench/few_label_data.py``; the pipeline splits it 85/15 into train and
validation), the rest of train.csv without its labels as unlabelled text (FastText pretrained on it
with ``pipeline.py pretrain``, used with ``--pretrained-vectors``), and the data set's own test.csv as
the test split, read only to report. The seed chooses the subset, the split and the training seed.
Every choice -- the best neural configuration, the ensemble's members, whether self-training's rounds
are kept -- is made on validation.

Sections:

- ``few-labels``: one run per (data set, size, seed) with ``--models`` x {random, fasttext}, the TF-IDF
  baseline and the ensemble. Rows: TF-IDF, each configuration, the best neural configuration (highest
  mean validation macro-F1 over the seeds) and the ensemble; test macro-F1, mean ± std over the seeds.
- ``self-training``: the same runs with ``--self-training-rounds 3`` against without (the best neural
  configuration, the ensemble).
- ``suggest``: from ``--start`` labels, ``--add`` more chosen by ``pipeline.py suggest`` on the rest
  versus ``--add`` chosen at random (labels hidden, then revealed from train.csv), then a new run each;
  best neural and ensemble test macro-F1.

``--extra`` passes further options to every run (e.g. ``--extra=--class-weight=balanced``); results
go to ``bench/out/few``; ``--no-write`` prints the section instead of writing BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
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
from bench.few_label_data import OUT, pretrained, subset, test_file, unlabelled_rest

PIPELINE = str(PROJECT_ROOT / "pipeline.py")
RUNS = OUT / "runs"


def _tag(models: str, extra: list[str]) -> str:
    opts = " ".join([models, *extra])
    return hashlib.sha256(opts.encode()).hexdigest()[:8]


def run(data: str, labelled: Path, vectors: Path, seed: int, name: str, options: list[str]):
    """One pipeline run (reused when finished), its :class:`~nlp_pp.results.Metrics`."""
    from nlp_pp.training.experiment import load_metrics

    out = RUNS / name
    if not (out / "metrics.json").exists():
        shutil.rmtree(out.with_name(out.name + ".partial"), ignore_errors=True)
        t0 = time.perf_counter()
        cmd = [
            sys.executable,
            PIPELINE,
            "--data",
            str(labelled),
            "--test-data",
            str(test_file(data)),
            "--text-col",
            "document",
            "--label-col",
            "label",
            "--seeds",
            str(seed),
            "--split-seed",
            str(seed),
            "--pretrained-vectors",
            str(vectors),
            "--out",
            str(RUNS),
            "--name",
            name,
            *options,
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    return load_metrics(out)


def point(data: str, size: int, seed: int, models: str, extra: list[str], variant: str = "") -> dict:
    """Validation and test macro-F1 of every row of one run."""
    labelled, _ = subset(data, size, seed)
    vectors = pretrained(data, size, seed)
    name = f"{data}-{size}-seed{seed}-{_tag(models, extra)}{variant}"
    m = run(data, labelled, vectors, seed, name, ["--models", models, *extra])
    return rows_of(m)


def rows_of(m) -> dict:
    rows = {f"{r.model} + {r.init}": r for r in m.runs}
    if m.baseline is not None:
        rows["TF-IDF"] = m.baseline
    if m.ensemble is not None:
        rows["ensemble"] = m.ensemble
    out = {k: {"val": v.val.macro_f1, "test": v.test.macro_f1} for k, v in rows.items()}
    if m.ensemble is not None:
        out["_ensemble"] = {
            "members": m.ensemble.members,
            "weights": m.ensemble.weights,
            "beats_best_single": m.ensemble.beats_best_single,
            "method": m.ensemble.method,
        }
    st = getattr(m, "self_training", None)
    if st is not None:
        out["_self_training"] = st.to_dict()
    return out


def ms(values: list[float], scale: float = 1.0, signed: bool = False) -> str:
    m = statistics.mean(values) * scale
    s = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{m:+.2f} ± {s:.2f}" if signed else f"{m:.4f} ± {s:.4f}"


def neural_rows(pts: list[dict]) -> list[str]:
    return [k for k in pts[0] if not k.startswith("_") and k not in ("TF-IDF", "ensemble")]


def best_neural(pts: list[dict]) -> str:
    """The neural configuration with the highest mean validation macro-F1 over the seeds."""
    return max(neural_rows(pts), key=lambda k: statistics.mean(p[k]["val"] for p in pts))


def seed_best(p: dict) -> dict:
    """The scores of the neural configuration with the best validation macro-F1 in one run."""
    return max(
        (v for k, v in p.items() if not k.startswith("_") and k not in ("TF-IDF", "ensemble")),
        key=lambda v: v["val"],
    )


def header(a, argv: list[str], load0, what: str) -> list[str]:
    return [
        f"Measured {today()} with `{command_line(__file__, argv)}`.",
        "",
        md_facts({**machine_facts(), "load average at start": format_load(load0)}),
        "",
        what,
        "",
    ]


DATA_TEXT = (
    "Data: for each data set, a stratified sample of N labelled rows of its train.csv (split 85/15 into "
    "train and validation by the pipeline), the rest of train.csv as unlabelled text (labels dropped; "
    "FastText pretrained on it with `pipeline.py pretrain`), and the data set's own test.csv (NSMC "
    "50,000 reviews; K-MHaS 9,192 comments, binary `label` 혐오/해당없음) as the test split, read only "
    "to report. Seeds choose the subset, the split and the training. Every choice (best configuration, "
    "ensemble, self-training rounds) is made on validation."
)


def few_labels(a, argv) -> str:
    load0 = load_average()
    lines = header(a, argv, load0, DATA_TEXT)
    lines.insert(0, "## Few labels on short, noisy messages: K-MHaS and NSMC")
    lines.insert(1, "")
    lines += [
        f"Models: `--models {a.models}` with `--inits random,fasttext`, the TF-IDF baseline and the "
        f"ensemble; extra options: `{' '.join(a.extra) or 'none'}`. Test macro-F1, mean ± std over seeds "
        f"{', '.join(map(str, a.seeds))}; *best neural* is the configuration with the highest mean "
        "validation macro-F1.",
        "",
    ]
    results, goals = {}, []
    for data, sizes in a.plan:
        for size in sizes:
            pts = [point(data, size, s, a.models, a.extra) for s in a.seeds]
            results[f"{data}-{size}"] = pts
    (OUT / f"few_labels-{_tag(a.models, a.extra)}.json").write_text(json.dumps(results, indent=1))
    neural = neural_rows(next(iter(results.values())))
    heads = ["data", "labelled", "TF-IDF", *neural, "best neural", "ensemble", "vote kept"]
    table = []
    for key, pts in results.items():
        data, size = key.rsplit("-", 1)
        best = best_neural(pts)
        tfidf = [p["TF-IDF"]["test"] for p in pts]
        bn = [p[best]["test"] for p in pts]
        ens = [p["ensemble"]["test"] for p in pts]
        table.append(
            [data, f"{int(size):,}", ms(tfidf)]
            + [ms([p[k]["test"] for p in pts]) for k in neural]
            + [
                f"{ms(bn)} ({best})",
                ms(ens),
                f"{sum(p['_ensemble']['beats_best_single'] for p in pts)} of {len(pts)}",
            ]
        )
        d_nt = (statistics.mean(bn) - statistics.mean(tfidf)) * 100
        d_en = (statistics.mean(ens) - max(statistics.mean(bn), statistics.mean(tfidf))) * 100
        if data == "kmhas" and int(size) in (2000, 5000):
            need = 2.0 if int(size) == 5000 else 0.0
            goals.append(
                f"- K-MHaS {int(size):,}: best neural − TF-IDF = {d_nt:+.2f} points (goal ≥ {need:+.1f}): "
                f"**{'PASS' if d_nt >= need else 'MISS'}**"
            )
        goals.append(
            f"- {data} {int(size):,}: ensemble − max(best neural, TF-IDF) = {d_en:+.2f} points (goal ≥ 0): "
            f"**{'PASS' if d_en >= 0 else 'MISS'}**"
        )
    lines += [md_table(heads, table, "ll" + "r" * (len(heads) - 2)), "", "Goals:", "", *goals]
    return "\n".join(lines)


def self_training(a, argv) -> str:
    load0 = load_average()
    rounds = ["--self-training-rounds", str(a.rounds)]
    lines = header(a, argv, load0, DATA_TEXT)
    lines.insert(0, "## Self-training on the unlabelled text (few-labels)")
    lines.insert(1, "")
    lines += [
        f"Models: `--models {a.models}`; extra options `{' '.join(a.extra) or 'none'}`. Off: the runs of "
        f"the few-labels section; on: the same with `{' '.join(rounds)}` (pseudo-labels from the best "
        "validation model's calibrated, confident predictions on the unlabelled rest, balanced per "
        "class; a round is kept only when the validation macro-F1 improves). *Best neural*: in each "
        "run, the neural configuration it ranks first on validation (a kept self-training round's "
        "included). Test macro-F1, mean ± std over the seeds; paired differences per seed, points.",
        "",
    ]
    heads = [
        "data",
        "labelled",
        "best neural, off",
        "best neural, on",
        "on − off",
        "ensemble, off",
        "ensemble, on",
        "on − off",
        "rounds kept",
    ]
    table, goals, results = [], [], {}
    for data, sizes in a.plan:
        for size in sizes:
            off = [point(data, size, s, a.models, a.extra) for s in a.seeds]
            on = [
                point(
                    data,
                    size,
                    s,
                    a.models,
                    [*a.extra, *rounds, "--self-training-texts", str(unlabelled_rest(data, size, s))],
                )
                for s in a.seeds
            ]
            results[f"{data}-{size}"] = {"off": off, "on": on}
            # per seed, the neural configuration the run itself ranks first on validation (with
            # self-training on, the kept rounds' configuration exists only in the seeds that kept one)
            x_off, x_on = [seed_best(p)["test"] for p in off], [seed_best(p)["test"] for p in on]
            e_off, e_on = [p["ensemble"]["test"] for p in off], [p["ensemble"]["test"] for p in on]
            kept = [p.get("_self_training", {}).get("rounds_kept", 0) for p in on]
            table.append(
                [
                    data,
                    f"{size:,}",
                    ms(x_off),
                    ms(x_on),
                    ms([b - c for b, c in zip(x_on, x_off)], 100, True),
                    ms(e_off),
                    ms(e_on),
                    ms([b - c for b, c in zip(e_on, e_off)], 100, True),
                    ", ".join(map(str, kept)),
                ]
            )
            if size == 2000:
                d = (statistics.mean(x_on) - statistics.mean(x_off)) * 100
                goals.append(
                    f"- {data} 2,000: self-training − off (best neural) = {d:+.2f} points (goal ≥ +1.0): "
                    f"**{'PASS' if d >= 1.0 else 'MISS'}**"
                )
    (OUT / f"self_training-{_tag(a.models, a.extra)}.json").write_text(json.dumps(results, indent=1))
    lines += [md_table(heads, table, "ll" + "r" * 7), "", "Goals:", "", *goals]
    return "\n".join(lines)


def _grown(data: str, size: int, seed: int, add: int, how: str, models: str, extra: list[str]) -> Path:
    """The labelled file of ``size`` rows plus ``add`` rows of the rest chosen ``how`` (labels revealed)."""
    labelled, rest = subset(data, size, seed)
    out = OUT / data / f"grown-{size}+{add}-{how}-seed{seed}-{_tag(models, extra)}.csv"
    if out.exists():
        return out
    known = pd.read_csv(rest, dtype=str)
    if how == "random":
        picked = known.sample(n=add, random_state=seed)
    else:
        # suggest from the run on the starting labels: the texts it asks for, labels looked up
        base = RUNS / f"{data}-{size}-seed{seed}-{_tag(models, extra)}"
        if not (base / "metrics.json").exists():
            point(data, size, seed, models, extra)
        to_label = OUT / data / f"suggested-{size}+{add}-seed{seed}-{_tag(models, extra)}.csv"
        to_label.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            PIPELINE,
            "suggest",
            "--run",
            str(base),
            "--unlabeled",
            str(unlabelled_rest(data, size, seed)),
            "--text-col",
            "document",
            "--n",
            str(add),
            "--out",
            str(to_label),
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        texts = pd.read_csv(to_label, dtype=str)["document"]
        picked = known.set_index("document").loc[texts].reset_index()
    grown = pd.concat([pd.read_csv(labelled, dtype=str), picked[["document", "label"]]], ignore_index=True)
    grown.to_csv(out, index=False)
    return out


def suggest(a, argv) -> str:
    load0 = load_average()
    lines = header(a, argv, load0, DATA_TEXT)
    lines.insert(0, "## Label less: suggested vs random labels (few-labels)")
    lines.insert(1, "")
    lines += [
        f"Simulation: start from {a.start:,} labelled rows, run the pipeline (`--models {a.models}`), then "
        f"add {a.add:,} rows of the unlabelled rest, chosen by `pipeline.py suggest --n {a.add}` on that run "
        f"or at random, with their labels revealed from train.csv; a new run on the {a.start + a.add:,} rows "
        "each (FastText vectors: those of the starting subset, pretrained on its rest). Test macro-F1, "
        "mean ± std over the seeds; paired differences per seed, points.",
        "",
    ]
    heads = ["data", "start", "best neural, random", "best neural, suggested", "suggested − random"]
    heads += [
        "ensemble, random",
        "ensemble, suggested",
        "suggested − random",
        "suggested share of minority class",
    ]
    table, goals, results = [], [], {}
    for data in a.data:
        pts = {}
        for how in ("random", "suggested"):
            pts[how] = []
            for seed in a.seeds:
                grown = _grown(data, a.start, seed, a.add, how, a.models, a.extra)
                vectors = pretrained(data, a.start, seed)
                name = f"{data}-{a.start}+{a.add}-{how}-seed{seed}-{_tag(a.models, a.extra)}"
                pts[how].append(
                    rows_of(run(data, grown, vectors, seed, name, ["--models", a.models, *a.extra]))
                )
        results[data] = pts
        share = []
        for seed in a.seeds:
            g = pd.read_csv(_grown(data, a.start, seed, a.add, "suggested", a.models, a.extra), dtype=str)
            added = g.iloc[a.start :]["label"]
            minority = g.iloc[: a.start]["label"].value_counts().idxmin()
            share.append(float((added == minority).mean()))
        b_r, b_s = best_neural(pts["random"]), best_neural(pts["suggested"])
        x_r, x_s = [p[b_r]["test"] for p in pts["random"]], [p[b_s]["test"] for p in pts["suggested"]]
        e_r, e_s = (
            [p["ensemble"]["test"] for p in pts["random"]],
            [p["ensemble"]["test"] for p in pts["suggested"]],
        )
        table.append(
            [
                data,
                f"{a.start:,} + {a.add:,}",
                ms(x_r),
                ms(x_s),
                ms([s - r for s, r in zip(x_s, x_r)], 100, True),
                ms(e_r),
                ms(e_s),
                ms([s - r for s, r in zip(e_s, e_r)], 100, True),
                f"{statistics.mean(share):.2f}",
            ]
        )
        d = (statistics.mean(x_s) - statistics.mean(x_r)) * 100
        goals.append(
            f"- {data}: suggested − random (best neural) = {d:+.2f} points (goal ≥ +1.5): "
            f"**{'PASS' if d >= 1.5 else 'MISS'}**"
        )
    (OUT / f"suggest-{_tag(a.models, a.extra)}.json").write_text(json.dumps(results, indent=1))
    lines += [md_table(heads, table, "ll" + "r" * 7), "", "Goals:", "", *goals]
    return "\n".join(lines)


# variant -> options over today's defaults (vectors pretrained on the unlabelled rest: frozen embedding,
# the vectors' words in the vocabulary); BiGRU with FastText init, no baseline, no ensemble
VARIANTS = {
    "defaults": [],
    "trainable embedding": ["--no-freeze-embedding"],
    "no vectors' words": ["--no-vocab-from-vectors"],
    "class weights balanced": ["--class-weight", "balanced"],
    "dropout 0.5": ["--dropout", "0.5"],
    "monitor macro-F1": ["--monitor", "val_f1"],
    "epochs 20, patience 3": ["--epochs", "20", "--patience", "3"],
    "hidden 128": ["--hidden", "128"],
}


def defaults(a, argv) -> str:
    """Few-label defaults on both data sets, compared on validation only (the test file is a stub)."""
    from nlp_pp.training.experiment import load_metrics

    load0 = load_average()
    lines = header(a, argv, load0, DATA_TEXT.split(" and the data set's own test.csv")[0] + ".")
    lines.insert(0, "## Few-label defaults on K-MHaS and NSMC, on validation")
    lines.insert(1, "")
    lines += [
        "Each variant changes one option from today's defaults (vectors pretrained on the unlabelled rest, "
        "so a frozen embedding and the vectors' words in the vocabulary); BiGRU with FastText init, one "
        "run per seed, `--no-baseline --no-ensemble`. Only validation scores are read: the runs' test "
        "file is the first 200 rows of the data set's test.csv, because the pipeline needs one. "
        "Validation macro-F1, mean ± std over the seeds; Δ = the variant minus the defaults, points.",
        "",
    ]
    cols, table = [], {}
    for data in a.data:
        stub = OUT / data / "test-first200.csv"
        if not stub.exists():
            pd.read_csv(test_file(data)).head(200).to_csv(stub, index=False)
        for size in a.sizes:
            cols.append(f"{data} {size:,}")
            base = None
            for name, opts in VARIANTS.items():
                scores = []
                for seed in a.seeds:
                    labelled, _ = subset(data, size, seed)
                    vectors = pretrained(data, size, seed)
                    extra = ["--models", "gru", "--inits", "fasttext", "--no-baseline", "--no-ensemble"]
                    extra += ["--test-data", str(stub), *opts, *a.extra]
                    run_name = f"{data}-{size}-seed{seed}-d{_tag('gru', extra)}"
                    out = RUNS / run_name
                    if not (out / "metrics.json").exists():
                        run(data, labelled, vectors, seed, run_name, extra)
                    scores.append(load_metrics(out).runs[0].val.macro_f1)
                if base is None:
                    base = scores
                delta = statistics.mean(scores) - statistics.mean(base)
                table.setdefault(name, []).append(f"{ms(scores)} ({delta * 100:+.2f})")
    heads = ["variant", "options", *cols]
    rows = [[n, " ".join(VARIANTS[n]) or "—", *v] for n, v in table.items()]
    lines += [md_table(heads, rows, "ll" + "r" * len(cols))]
    return "\n".join(lines)


SECTIONS = {
    "few-labels": few_labels,
    "self-training": self_training,
    "suggest": suggest,
    "defaults": defaults,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--section", choices=sorted(SECTIONS), default="few-labels")
    p.add_argument(
        "--data",
        default="kmhas",
        help="comma-separated: nsmc, kmhas; NAME:SIZE+SIZE gives that data set its own sizes",
    )
    p.add_argument("--sizes", default="2000,5000")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--models", default="gru,lstm", help="model families, as pipeline.py --models")
    p.add_argument("--rounds", type=int, default=3, help="self-training: --self-training-rounds")
    p.add_argument("--start", type=int, default=1000, help="suggest: labelled rows to start from")
    p.add_argument("--add", type=int, default=1000, help="suggest: rows to add")
    p.add_argument("--extra", action="append", default=[], help="a further pipeline option (repeatable)")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args(argv)
    a.sizes = [int(x) for x in a.sizes.split(",")]
    a.plan = [
        (d.split(":")[0], [int(x) for x in d.split(":")[1].split("+")] if ":" in d else a.sizes)
        for d in a.data.split(",")
    ]
    a.data = [d for d, _ in a.plan]
    a.seeds = [int(x) for x in a.seeds.split(",")]
    body = SECTIONS[a.section](a, argv)
    if a.no_write:
        print(body)
    else:
        write_section(a.section, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
