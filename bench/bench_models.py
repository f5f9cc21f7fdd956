"""The spelling families (wide_gru, jamo_gru) and attention pooling against the BiGRU and TF-IDF.

    # few labels + unlabelled text (section models-small); each line is one exclusive-lock session
    python bench/bench_models.py --data kmhas --sizes 2000,5000 --seeds 0,1,2
    python bench/bench_models.py --data nsmc --sizes 5000 --seeds 0,1,2
    # all labelled data (section models-full)
    python bench/bench_models.py --section models-full --data nsmc --seeds 0 --poolings last
    python bench/bench_models.py --section models-full --data nsmc --seeds 0 --poolings attention
    python bench/bench_models.py --section models-full --data kmhas --seeds 0
    # rewrite a section from the finished runs only
    python bench/bench_models.py --section models-small --render-only

Few labels (``models-small``): for each data set, size and seed, a stratified sample of that many
labelled rows of the data set's train.csv (NSMC: ``bench/nsmc_subsets.py``; K-MHaS: the same recipe
here, binary ``label``), the rest of train.csv without its labels as ``--unlabeled`` text, and the
shared test.csv as the test set. Two ``pipeline.py`` runs per point, FastText-initialised (trained on
the labelled training split plus the unlabelled text; the few-label defaults freeze it and add its
words to the vocabulary):

- ``last``: ``--models gru,wide_gru,jamo_gru``, the TF-IDF baseline, the ensemble;
- ``attention``: the same three families with ``--pooling attention`` (the FastText model is reused
  from the cache).

The seed chooses the subset, the split and the training seed. Rows are ranked and compared on the
**validation** macro-F1 (the pipeline splits the labelled sample 85/15); test scores are reported,
never used to choose. The goal of issue 23.2: wide_gru never below TF-IDF on validation at any size.

All labelled data (``models-full``): the whole train.csv (85/15 train/validation) and test.csv, one run
per family and pooling (``--inits fasttext``, no unlabelled text), so a session can be split; the
baseline comes with the first run.

Runs go to ``bench/out/models/<section>/<data>-<size>-seed<seed>-<variant>`` and are reused when
finished (``metrics.json``); the section is rendered from every finished run. Each run's start time,
command and load average are kept beside it (``bench.json``).
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

PIPELINE = str(PROJECT_ROOT / "pipeline.py")
OUT = PROJECT_ROOT / "bench" / "out" / "models"
FAMILIES = ("gru", "wide_gru", "jamo_gru")
POOLINGS = ("last", "attention")
DATA = {"nsmc": "NSMC", "kmhas": "K-MHaS"}


def shared_data_dir() -> Path:
    """``../shared/data`` of the project (a git worktree one level deeper: ``../../shared/data``)."""
    for base in (PROJECT_ROOT.parent, PROJECT_ROOT.parent.parent):
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    return PROJECT_ROOT.parent / "shared" / "data"


# --------------------------------------------------------------------------- data


def kmhas_subset(size: int, seed: int, data_dir: Path) -> tuple[Path, Path]:
    """``(labelled.csv, rest.txt)`` for K-MHaS: a stratified sample (binary ``label``) of ``size`` comments of
    train.csv, and every other comment of train.csv as unlabelled text (labels dropped)."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    out = PROJECT_ROOT / "bench" / "out" / "kmhas"
    out.mkdir(parents=True, exist_ok=True)
    labelled, rest = out / f"labelled-{size}-seed{seed}.csv", out / f"rest-{size}-seed{seed}.txt"
    if not (labelled.exists() and rest.exists()):
        df = pd.read_csv(data_dir / "train.csv", dtype={"document": str}).dropna(subset=["document"])
        df["document"] = df["document"].str.replace(r"\s+", " ", regex=True).str.strip()
        df = df[df["document"] != ""].drop_duplicates("document").reset_index(drop=True)
        kept, other = train_test_split(df, train_size=size, stratify=df["label"], random_state=seed)
        kept[["document", "label"]].to_csv(labelled, index=False)
        rest.write_text("\n".join(other["document"]) + "\n", encoding="utf-8")
    return labelled, rest


def subset(data: str, size: int, seed: int, shared: Path) -> tuple[Path, Path]:
    if data == "kmhas":
        return kmhas_subset(size, seed, shared / "kmhas")
    from bench.nsmc_subsets import subset as nsmc_subset

    return nsmc_subset(size, seed, shared / "nsmc")


# --------------------------------------------------------------------------- runs


def run(section: str, name: str, options: list[str]) -> Path:
    """``pipeline.py`` with ``options`` into ``OUT/section/name`` unless it finished before."""
    out = OUT / section / name
    if (out / "metrics.json").exists():
        return out
    shutil.rmtree(out.with_name(out.name + ".partial"), ignore_errors=True)  # an interrupted attempt
    cmd = [sys.executable, PIPELINE, *options, "--out", str(out.parent), "--name", out.name]
    start = {
        "started": today(),
        "load": load_average(),
        "command": " ".join(["python pipeline.py", *options]),
    }
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    start["wall_seconds"] = time.perf_counter() - t0
    (out / "bench.json").write_text(json.dumps(start, indent=1))
    print(f"{name}: {start['wall_seconds']:.0f} s", flush=True)
    return out


def common(data: str, shared: Path, train: Path, seed: int) -> list[str]:
    return [
        "--data",
        str(train),
        "--test-data",
        str(shared / data / "test.csv"),
        "--text-col",
        "document",
        "--label-col",
        "label",
        "--inits",
        "fasttext",
        "--seeds",
        str(seed),
        "--split-seed",
        str(seed),
    ]


def run_small(a) -> None:
    for size in a.sizes:
        for seed in a.seeds:
            labelled, rest = subset(a.data, size, seed, a.shared)
            base = [*common(a.data, a.shared, labelled, seed), "--unlabeled", str(rest), *a.extra]
            families = ["--models", ",".join(FAMILIES)]
            run("small", f"{a.data}-{size}-seed{seed}-last", [*base, *families])
            run(
                "small",
                f"{a.data}-{size}-seed{seed}-attention",
                [*base, *families, "--pooling", "attention", "--no-baseline", "--no-ensemble"],
            )


def run_full(a) -> None:
    for seed in a.seeds:
        base = [*common(a.data, a.shared, a.shared / a.data / "train.csv", seed), *a.extra]
        for pooling in a.poolings:
            for family in a.families:
                first = (pooling, family) == (POOLINGS[0], FAMILIES[0])  # the run that also fits TF-IDF
                extra = ["--no-ensemble"] + ([] if first else ["--no-baseline"])
                run(
                    "full",
                    f"{a.data}-full-seed{seed}-{family}-{pooling}",
                    [*base, "--models", family, "--pooling", pooling, *extra],
                )


# --------------------------------------------------------------------------- results


def collect(section: str) -> list[dict]:
    """One row per finished (run, configuration): data, size, seed, variant, scores, timing."""
    from nlp_pp.training.experiment import load_metrics

    rows = []
    for path in sorted((OUT / section).glob("*/metrics.json")):
        m = load_metrics(path.parent)
        bench = (
            json.loads((path.parent / "bench.json").read_text())
            if (path.parent / "bench.json").exists()
            else {}
        )
        pooling = m.config.get("pooling", "last")
        data, size = path.parent.name.split("-")[:2]
        facts = {"data": data, "size": size, "run": path.parent.name, "bench": bench, "metrics": m}
        for r in m.runs:
            seconds = [h.seconds for h in r.history]
            rows.append(
                {
                    **facts,
                    "seed": r.seed,
                    "row": r.model + (" + attention" if pooling == "attention" else ""),
                    "val": r.val.macro_f1,
                    "test": r.test.macro_f1,
                    "acc": r.test.accuracy,
                    "epoch_s": statistics.mean(seconds) if seconds else float("nan"),
                    "best_epoch": r.best_epoch,
                }
            )
        if m.baseline is not None:
            b = m.baseline
            rows.append(
                {
                    **facts,
                    "seed": int(m.config["split_seed"]),
                    "row": "TF-IDF",
                    "val": b.val.macro_f1,
                    "test": b.test.macro_f1,
                    "acc": b.test.accuracy,
                    "epoch_s": float("nan"),
                    "best_epoch": None,
                }
            )
    return rows


def ms(values: list[float], scale: float = 1.0, signed: bool = False, digits: int = 4) -> str:
    if not values:
        return "—"
    m = statistics.mean(values) * scale
    s = statistics.stdev(values) * scale if len(values) > 1 else None
    fmt = f"{{:{'+' if signed else ''}.{digits}f}}"
    return fmt.format(m) + (f" ± {s:.{digits}f}" if s is not None else "")


ORDER = [
    "TF-IDF",
    "gru",
    "gru + attention",
    "wide_gru",
    "wide_gru + attention",
    "jamo_gru",
    "jamo_gru + attention",
]


def table(rows: list[dict]) -> tuple[str, list[str]]:
    """The results table of one section (a row per data set, size and configuration) and goal lines."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["data"], r["size"]), []).append(r)
    lines, goals = [], []
    for (data, size), rs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], int(kv[0][1]) if kv[0][1].isdigit() else 10**9)
    ):
        tfidf = {r["seed"]: r["val"] for r in rs if r["row"] == "TF-IDF"}
        for name in sorted({r["row"] for r in rs}, key=lambda n: ORDER.index(n) if n in ORDER else 99):
            sel = sorted((r for r in rs if r["row"] == name), key=lambda r: r["seed"])
            diffs = [r["val"] - tfidf[r["seed"]] for r in sel if r["seed"] in tfidf and name != "TF-IDF"]
            lines.append(
                [
                    DATA.get(data, data),
                    f"{int(size):,}" if size.isdigit() else size,
                    name,
                    ",".join(str(r["seed"]) for r in sel),
                    ms([r["val"] for r in sel]),
                    ms(diffs, 100, signed=True, digits=2) if diffs else "—",
                    ms([r["test"] for r in sel]),
                    ms([r["acc"] for r in sel]),
                    "—" if name == "TF-IDF" else f"{statistics.mean(r['epoch_s'] for r in sel):.1f}",
                    "—" if name == "TF-IDF" else f"{statistics.mean(r['best_epoch'] for r in sel):.1f}",
                ]
            )
            if name == "wide_gru" and diffs:
                ok = statistics.mean(diffs) >= 0
                goals.append(
                    f"- {DATA.get(data, data)}, {size} labelled: wide_gru − TF-IDF, validation macro-F1 = "
                    f"{statistics.mean(diffs) * 100:+.2f} points (mean of {len(diffs)} seed(s); lowest seed "
                    f"{min(diffs) * 100:+.2f}); goal ≥ 0: **{'PASS' if ok else 'MISS'}**"
                    + ("" if min(diffs) >= 0 else " on the mean, below TF-IDF on at least one seed")
                )
    headers = [
        "data",
        "labelled",
        "configuration",
        "seeds",
        "val macro-F1",
        "val − TF-IDF (points)",
        "test macro-F1",
        "test accuracy",
        "s / epoch",
        "best epoch",
    ]
    return md_table(headers, lines, "llllrrrrrr"), goals


def runs_list(rows: list[dict]) -> list[str]:
    seen, out = set(), []
    for r in rows:
        if r["run"] in seen:
            continue
        seen.add(r["run"])
        b = r["bench"]
        load = format_load(tuple(b["load"]) if b.get("load") else None)
        minutes = b.get("wall_seconds", float("nan")) / 60
        out.append(f"- `{r['run']}`: {b.get('started', '?')}, load at start {load}, {minutes:.1f} min")
    return out


def render(section: str, argv: list[str]) -> str:
    rows = collect("small" if section == "models-small" else "full")
    body, goals = table(rows)
    example = next((r for r in rows), None)
    settings = ""
    if example is not None:
        cfg = example["metrics"].config

        def listed(key: str) -> str:
            return ",".join(map(str, cfg[key]))

        settings = (
            f"Settings: the pipeline's defaults (emb_dim {cfg['emb_dim']}, hidden {cfg['hidden']}, "
            f"lr {cfg['lr']}, batch {cfg['batch_size']}, up to {cfg['epochs']} epochs with patience "
            f"{cfg['patience']}; wide_gru: {cfg['ngram_buckets']:,} buckets × {cfg['wide_dim']}, syllable "
            f"n-grams {listed('char_ngrams')}, jamo n-grams {listed('jamo_ngrams')}, token bigrams "
            f"{cfg['token_bigrams']}, {cfg['ngram_slots']} features per entry at most; jamo_gru: jamo "
            f"embedding {cfg['char_dim']}, {cfg['char_filters']} filters per width "
            f"{listed('char_kernel_sizes')}, {cfg['char_len']} jamo per token), "
            "FastText-initialised."
        )
    if section == "models-small":
        title = "## Models: spelling families and attention pooling with few labels"
        what = (
            "Data: stratified samples of each data set's train.csv (K-MHaS: binary `label`, 혐오/해당없음; "
            "NSMC: `label`), split 85/15 into train and validation by the pipeline; the rest of train.csv "
            "without labels as `--unlabeled` text (FastText trains on it and the labelled training split, "
            "then stays frozen with its words in the vocabulary: the few-label defaults); test: the data "
            "set's test.csv (K-MHaS 9,192 comments, NSMC 50,000 reviews). The seed chooses the sample, the "
            "split and the training seed. Mean ± std over the seeds; **validation** macro-F1 ranks and "
            'decides, test is reported. "val − TF-IDF": paired per-seed difference to the TF-IDF baseline of '
            "the same run."
        )
    else:
        title = "## Models: spelling families and attention pooling, all labelled data"
        what = (
            "Data: the whole train.csv of each data set (85/15 train/validation, the pipeline's split) and "
            "its test.csv; FastText trained on the training split (no unlabelled text); one run per family "
            "and pooling. **Validation** macro-F1 ranks and decides, test is reported."
        )
    return "\n".join(
        [
            title,
            "",
            f"Measured with `python bench/bench_models.py` (this section rendered {today()} by "
            f"`{command_line(__file__, argv)}`); the runs, each a `python pipeline.py` in its own process "
            "under an exclusive lock of the machine:",
            "",
            *runs_list(rows),
            "",
            md_facts(machine_facts()),
            "",
            what,
            "",
            settings,
            "",
            body,
            "",
            "Goal (issue 23.2):" if goals else "",
            "",
            *goals,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--section", default="models-small", choices=("models-small", "models-full"))
    ap.add_argument("--data", default="kmhas", choices=tuple(DATA))
    ap.add_argument("--sizes", default="2000,5000", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--seeds", default="0,1,2", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument(
        "--families", default=",".join(FAMILIES), type=lambda s: s.split(","), help="models-full only"
    )
    ap.add_argument(
        "--poolings", default=",".join(POOLINGS), type=lambda s: s.split(","), help="models-full only"
    )
    ap.add_argument("--shared", type=Path, default=shared_data_dir(), help="the shared data directory")
    ap.add_argument("--render-only", action="store_true", help="write the section from finished runs")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="further pipeline.py options after --")
    a = ap.parse_args(argv)
    a.extra = [x for x in a.extra if x != "--"]
    if not a.render_only:
        (run_small if a.section == "models-small" else run_full)(a)
    body = render(a.section, argv)
    print(body)
    if not a.no_write:
        write_section(a.section, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
