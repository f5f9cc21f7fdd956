"""Distillation: does one student trained on the ensemble's probabilities keep the ensemble's accuracy?

    python bench/bench_distill.py --setup nsmc-25k        # 25.5k labelled NSMC reviews + the rest unlabelled
    python bench/bench_distill.py --setup kmhas-6k        # 6k labelled K-MHaS comments + the rest unlabelled
    python bench/bench_distill.py --setup nsmc-full --seeds 0,1,2   # the issue's goal: full NSMC, three seeds
    python bench/bench_distill.py --setup kmhas-full --seeds 0,1,2  # the same rows on all of K-MHaS
    python bench/bench_distill.py --setup kmhas-full --seeds 0,1,2 --train-only  # the run alone (accuracy)

Each setup is one ``pipeline.py`` run (BiGRU and BiLSTM with FastText, the TF-IDF baseline, their
ensemble and ``--distill``) in ``bench/out/distill/<setup>``, reused when present. The student's row,
its teacher's and a plain BiGRU's (the same run) are compared on the test split, which chose
nothing. Then the student and the run's BiGRU are exported to ONNX and their end-to-end throughput
(raw text -> calibrated probabilities, 5,000 test texts, batches of 256, one thread, one process
per measurement, interleaved) is measured. ``nsmc-full`` and ``kmhas-full`` have no unlabelled text
left (every training text is labelled), so their students learn from the training split alone.
``--train-only`` makes the run and stops: its scores do not depend on the machine's load, so it can run
beside other work, and the throughput is measured later, alone.

Writes the section ``distill`` of BENCHMARKS.md (every setup measured so far, from
``bench/out/distill/results.json``).
"""

from __future__ import annotations

import argparse
import json
import os
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

OUT = PROJECT_ROOT / "bench" / "out" / "distill"
PIPELINE = str(PROJECT_ROOT / "pipeline.py")
DATA = {"nsmc": DEFAULT_DATA_DIR, "kmhas": DEFAULT_DATA_DIR.parent / "kmhas"}  # --data-dir changes them


def kmhas_subset(size: int, seed: int) -> tuple[Path, Path]:
    """``(labelled.csv, rest.txt)`` of K-MHaS train.csv: a stratified sample of ``size`` comments with their
    binary label (혐오/해당없음), and every other comment as unlabelled text."""
    from sklearn.model_selection import train_test_split

    OUT.mkdir(parents=True, exist_ok=True)
    labelled, rest = OUT / f"kmhas-labelled-{size}-seed{seed}.csv", OUT / f"kmhas-rest-{size}-seed{seed}.txt"
    if not (labelled.exists() and rest.exists()):
        df = pd.read_csv(DATA["kmhas"] / "train.csv", dtype={"document": str}).dropna(subset=["document"])
        df["document"] = df["document"].str.replace(r"\s+", " ", regex=True).str.strip()
        df = df[df["document"] != ""].drop_duplicates("document")
        kept, other = train_test_split(df, train_size=size, stratify=df["label"], random_state=seed)
        kept[["document", "label"]].to_csv(labelled, index=False)
        rest.write_text("\n".join(other["document"]) + "\n", encoding="utf-8")
    return labelled, rest


def setup_args(setup: str, seed: int) -> list[str]:
    if setup == "nsmc-25k":
        from bench.nsmc_subsets import subset

        labelled, rest = subset(30_000, seed, DATA["nsmc"])
        return [
            "--data",
            str(labelled),
            "--test-data",
            str(DATA["nsmc"] / "test.csv"),
            "--unlabeled",
            str(rest),
        ]
    if setup == "kmhas-6k":
        labelled, rest = kmhas_subset(6_000, seed)
        return [
            "--data",
            str(labelled),
            "--test-data",
            str(DATA["kmhas"] / "test.csv"),
            "--unlabeled",
            str(rest),
        ]
    if setup in ("nsmc-full", "kmhas-full"):
        data = DATA[setup.split("-")[0]]
        return ["--data", str(data / "train.csv"), "--test-data", str(data / "test.csv")]
    raise SystemExit(f"unknown setup {setup}")


def train(setup: str, seeds: str, student: str, extra: list[str]) -> Path:
    name = f"{setup}-{student}-seeds{seeds.replace(',', '')}"
    if extra:  # other options, another run
        name += "-" + "".join(c if c.isalnum() else "_" for c in "".join(extra)).strip("_")[:60]
    run = OUT / name
    if not (run / "metrics.json").exists():
        cmd = [
            sys.executable,
            PIPELINE,
            *setup_args(setup, int(seeds.split(",")[0])),
            "--text-col",
            "document",
            "--label-col",
            "label",
            "--models",
            "gru,lstm",
            "--inits",
            "fasttext",
            "--seeds",
            seeds,
            "--distill",
            "--distill-model",
            student,
            "--out",
            str(OUT),
            "--name",
            name,
            *extra,
        ]
        print(" ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True, cwd=PROJECT_ROOT)
    return run


CHILD = r"""
import json, sys, time
import pandas as pd
from nlp_pp import load_classifier
path, n = sys.argv[1], int(sys.argv[2])
texts = pd.read_csv(sys.argv[3])["document"].fillna("").astype(str).tolist()[:n]
clf = load_classifier(path, threads=1)
clf.predict_proba(texts[:256])
t = time.perf_counter()
for s in range(0, n, 256):
    clf.predict_proba(texts[s:s + 256])
print(json.dumps({"msgs_per_s": n / (time.perf_counter() - t)}))
"""


def throughput(export: Path, test_csv: Path, n: int = 5000) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(export), str(n), str(test_csv)],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["msgs_per_s"]


def export(run: Path, model: str) -> Path:
    out = run.parent / "exports" / f"{run.name}-{model}"
    if not (out / "manifest.json").exists():
        subprocess.run(
            [sys.executable, PIPELINE, "export", "--run", str(run), "--model", model, "--out", str(out)],
            check=True,
            cwd=PROJECT_ROOT,
        )
    return out


def measure(setup: str, run: Path, rounds: int) -> dict:
    from nlp_pp.training.experiment import load_metrics

    m = load_metrics(run)
    gru = [r for r in m.runs if r.model == "gru"]
    best_gru = max(gru, key=lambda r: r.val.macro_f1)
    test_csv = DATA["kmhas" if setup.startswith("kmhas") else "nsmc"] / "test.csv"
    speeds: dict[str, list[float]] = {"distilled": [], best_gru.key: []}
    exports = {"distilled": export(run, "distilled"), best_gru.key: export(run, best_gru.key)}
    for _ in range(rounds):
        for key, path in exports.items():
            speeds[key].append(throughput(path, test_csv))
    rows = []

    def row(label: str, results) -> list:
        import numpy as np

        val = [r.val.macro_f1 for r in results]
        acc = [r.test.accuracy for r in results]
        f1 = [r.test.macro_f1 for r in results]

        def pm(xs):
            return f"{np.mean(xs):.4f}" + (f" ± {np.std(xs, ddof=1):.4f}" if len(xs) > 1 else "")

        return [label, str(len(results)), pm(val), pm(acc), pm(f1)]

    for model in ("gru", "lstm"):
        rs = [r for r in m.runs if r.model == model]
        if rs:
            rows.append(row(f"Bi{model.upper()} + FastText", rs))
    rows.append(row("TF-IDF + logistic regression", [m.baseline]))
    rows.append(row(f"ensemble of {', '.join(m.ensemble.members)}", [m.ensemble]))
    d = m.distilled
    rows.append(row(f"**distilled {d.model} student**", [d]))
    return {
        "setup": setup,
        "run": str(run.relative_to(PROJECT_ROOT)),
        "date": today(),
        "labelled_train": d.labelled_texts,
        "unlabeled": d.unlabeled_texts,
        "alpha": d.alpha,
        "val": m.dataset.split.val,
        "test": m.dataset.split.test,
        "rows": rows,
        "student": d.model,
        "student_test_acc": d.test.accuracy,
        "ensemble_test_acc": m.ensemble.test.accuracy,
        "gru_test_acc": sum(r.test.accuracy for r in gru) / len(gru),
        "speed": {k: sorted(v)[len(v) // 2] for k, v in speeds.items()},
        "speed_ref": best_gru.key,
        "seconds": {k: round(v) for k, v in m.timings.items()},
    }


def render(results: dict, load0, argv: list[str]) -> str:
    lines = [
        "## Distillation: the ensemble's accuracy at one model's cost (distill)",
        "",
        f"Last measured {today()} with `{command_line(__file__, argv)}` "
        f"(load at start: {format_load(load0)}); "
        "every setup below lists its own run. One `pipeline.py` run per setup: BiGRU and BiLSTM with "
        "FastText, the TF-IDF baseline, their ensemble (members and weights chosen on validation) and "
        "`--distill` (a BiGRU student of the run's sizes). The student learns the ensemble's calibrated "
        "probabilities on the unlabelled texts (out-of-sample for the ensemble's members) and, on the "
        "labelled training texts, 0.5 × those probabilities + 0.5 × the label (the members saw these "
        "texts: their probabilities there are in-sample). Scores: validation macro-F1 (what chose), "
        "test accuracy and macro-F1 (reported only).",
        "",
        md_facts(machine_facts(("torch", "onnxruntime", "python-mecab-ko"))),
    ]
    for setup, r in results.items():
        lines += [
            "",
            f"### {setup}: {r['labelled_train']:,} labelled training texts, {r['unlabeled']:,} unlabelled, "
            f"{r['val']:,} validation, {r['test']:,} test ({r['date']}, `{r['run']}`)",
            "",
            md_table(["row", "seeds", "val macro-F1", "test accuracy", "test macro-F1"], r["rows"], "lrrrr"),
            "",
        ]
        s = r["speed"]
        ref = r["speed_ref"]
        ratio = s["distilled"] / s[ref]
        vs_ens = 100 * (r["student_test_acc"] - r["ensemble_test_acc"])
        vs_gru = 100 * (r["student_test_acc"] - r["gru_test_acc"])
        lines.append(
            f"Student − ensemble on test accuracy: {vs_ens:+.2f} "
            f"points; student − BiGRU (mean of its seeds): {vs_gru:+.2f} "
            f"points. Exported ONNX end to end, one thread, batches of 256, 5,000 test texts (median of the "
            f"rounds): student {s['distilled']:,.0f} msg/s, the run's {ref} {s[ref]:,.0f} msg/s "
            f"({ratio:.2f}×). Seconds: " + ", ".join(f"{k} {v}" for k, v in r["seconds"].items()) + "."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setup", choices=("nsmc-25k", "kmhas-6k", "nsmc-full", "kmhas-full"), required=True)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--student", default="gru")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="NSMC's directory (K-MHaS beside it)"
    )
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--train-only", action="store_true", help="make the run (reused later) and stop")
    a, extra = ap.parse_known_args(argv)
    DATA.update(nsmc=a.data_dir, kmhas=a.data_dir.parent / "kmhas")
    load0 = load_average()
    run = train(a.setup, a.seeds, a.student, extra)
    if a.train_only:
        return 0
    result = measure(a.setup, run, a.rounds)
    path = OUT / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[f"{a.setup} (student {a.student}, seeds {a.seeds})"] = result
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if not a.no_write:
        write_section("distill", render(results, load0, argv if argv is not None else sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
