"""How a run's time and memory grow with the number of messages: per stage, at 0.2M, 1M and 2M messages.

    python bench/bench_scale.py run --sizes 200000,1000000,2000000 --label after  # minutes to hours
    python bench/bench_scale.py write  # BENCHMARKS.md and the plot

The data sets are built from the 200,000 NSMC reviews (``train.csv`` then ``test.csv``): each message
is two distinct reviews of the same label joined by a space (every pair at most once), labelled with
that label, so the task stays the NSMC one and the texts are about twice a review's length. They are
written once to ``--work`` (outside the repository) and reused.

Each size runs ``pipeline.py`` in a fresh child process with an empty cache (so preprocessing and
FastText are computed, not read), with the options in ``RUN_ARGS`` (one epoch, a small GRU, one
FastText epoch: a 2M run with the defaults takes hours on 2 cores; ``--sparse-embedding``, whose
training step does not grow with the vocabulary, since label "streamed"). The child installs an observer
of :mod:`nlp_pp.training.stages` and a thread that samples the resident memory of the child and of
its worker processes every 50 ms; per stage it records the seconds (summed over the stage's
occurrences, e.g. the two training runs) and the peak resident memory of the child (``main``) and of
the whole process tree (``tree``: the child plus its preprocessing workers, shared pages counted
once per process). ``ru_maxrss`` of the child is the overall peak of the main process.

Results are kept as JSON in ``--results`` (one file per label and size), so measurements of the
code before and after a change can be shown side by side; ``write`` renders the section ``scale``
of BENCHMARKS.md and a log-log plot ``bench/scale.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DEFAULT_DATA_DIR,
    PROJECT_ROOT,
    format_load,
    git_revision,
    load_average,
    machine_facts,
    md_facts,
    md_table,
    today,
    write_section,
)

RUN_ARGS = [
    "--models",
    "gru",
    "--inits",
    "random,fasttext",
    "--epochs",
    "1",
    "--hidden",
    "32",
    "--emb-dim",
    "50",
    "--no-bidirectional",
    "--fasttext-epochs",
    "1",
    "--sparse-embedding",
    "--text-col",
    "document",
    "--label-col",
    "label",
]
STAGE_ORDER = (
    "load",
    "preprocess",
    "fasttext",
    "vocabulary",
    "encoding",
    "baseline",
    "epoch",
    "predict",
    "decisions",
    "report",
)
MB = 2**20
PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- data


def build_set(n: int, data_dir: Path, out: Path, seed: int = 0) -> Path:
    """``n`` messages, each two distinct same-label NSMC reviews joined by a space, as ``document,label``."""
    import numpy as np
    import pandas as pd

    if out.exists():
        return out
    frames = [pd.read_csv(data_dir / f, usecols=["document", "label"]) for f in ("train.csv", "test.csv")]
    df = pd.concat(frames, ignore_index=True).dropna()
    df = df[df["document"].str.strip() != ""]
    rng = np.random.default_rng(seed)
    parts = []
    labels = sorted(df["label"].unique())
    for k, lab in enumerate(labels):
        texts = df.loc[df["label"] == lab, "document"].to_numpy(dtype=object)
        m = len(texts)
        want = n // len(labels) + (1 if k < n % len(labels) else 0)
        rounds = -(-want // m)
        if rounds >= m:
            raise SystemExit(f"error: {n} messages need more than {m} reviews of label {lab}")
        first = np.concatenate([rng.permutation(m) for _ in range(rounds)])[:want]
        shift = np.repeat(np.arange(1, rounds + 1), m)[:want]  # round r pairs i with i + r: no pair twice
        second = (first + shift) % m
        joined = [f"{a} {b}" for a, b in zip(texts[first], texts[second])]
        parts.append(pd.DataFrame({"document": joined, "label": lab}))
    out_df = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    out_df.to_csv(tmp, index=False)
    tmp.replace(out)
    return out


# --------------------------------------------------------------------------- the measured child


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(x) for x in f.read().split()]
                out.extend(kids)
                todo.extend(kids)
        except (OSError, ValueError):
            pass
    return out


class Watcher:
    """Per-stage seconds and peak memory (main process, process tree), from stage events and sampling."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.current: list[str] = []
        self.stages: dict[str, dict] = {}
        self.started: dict[str, float] = {}
        self.peak_main = self.peak_tree = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def event(self, name: str, kind: str) -> None:
        now = time.perf_counter()
        main = _rss(os.getpid())
        with self._lock:
            s = self.stages.setdefault(name, {"seconds": 0.0, "count": 0, "peak_main": 0, "peak_tree": 0})
            if kind == "start":
                self.current.append(name)
                self.started[name] = now
            else:
                if name in self.current:
                    self.current.remove(name)
                s["seconds"] += now - self.started.pop(name, now)
                s["count"] += 1
            s["peak_main"] = max(s["peak_main"], main)
            s["peak_tree"] = max(s["peak_tree"], main)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            main = _rss(me)
            tree = main + sum(_rss(p) for p in _descendants(me))
            with self._lock:
                self.peak_main, self.peak_tree = max(self.peak_main, main), max(self.peak_tree, tree)
                for name in self.current:
                    s = self.stages[name]
                    s["peak_main"] = max(s["peak_main"], main)
                    s["peak_tree"] = max(s["peak_tree"], tree)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


def child(args: argparse.Namespace, pipeline_args: list[str]) -> int:
    from nlp_pp import cli
    from nlp_pp.training import stages

    watcher = Watcher()
    stages.observe(watcher.event)
    watcher.start()
    t0 = time.perf_counter()
    code = cli.main(pipeline_args)
    total = time.perf_counter() - t0
    watcher.stop()
    result = {
        "exit_code": code,
        "seconds": total,
        "stages": watcher.stages,
        "peak_main": max(watcher.peak_main, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
        "peak_tree": watcher.peak_tree,
        "ru_maxrss_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }
    Path(args.json).write_text(json.dumps(result, indent=1))
    return code


# --------------------------------------------------------------------------- the parent


def run(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    work = Path(args.work)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    for n in [int(x) for x in args.sizes.split(",")]:
        data = build_set(n, Path(args.data_dir), work / f"nsmc_pairs_{n}.csv")
        tmp = Path(tempfile.mkdtemp(prefix="nlp_pp_scale_", dir=work))
        out_json = results / f"{args.label}_{n}.json"
        pipeline_args = [
            "--data",
            str(data),
            *RUN_ARGS,
            "--out",
            str(tmp / "runs"),
            "--name",
            f"scale_{n}",
            "--cache-dir",
            str(tmp / "cache"),
            *args.extra,
        ]
        load = load_average()
        cmd = [sys.executable, str(Path(__file__).resolve()), "child", "--json", str(tmp / "r.json"), "--"]
        print(f"[{today()}] {n} messages, load {format_load(load)}: {' '.join(pipeline_args)}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([*cmd, *pipeline_args], cwd=PROJECT_ROOT)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not (tmp / "r.json").exists():
            print(f"error: the run of {n} messages failed (exit {proc.returncode})", file=sys.stderr)
            return 1
        r = json.loads((tmp / "r.json").read_text())
        metrics = json.loads(next((tmp / "runs").glob("*/metrics.json")).read_text())
        r.update(
            messages=n,
            label=args.label,
            wall=wall,
            date=today(),
            load_at_start=format_load(load),
            revision=revision(),
            pipeline_args=[a if not a.startswith(str(tmp)) else "TMP" for a in pipeline_args],
            scores={
                ru["model"] + "-" + ru["init"]: {
                    "val_macro_f1": ru["val"]["macro_f1"],
                    "test_acc": ru["test"]["accuracy"],
                }
                for ru in metrics["runs"]
            },
            timings=metrics.get("timings", {}),
            cache_mb=sum(f.stat().st_size for f in (tmp / "cache").rglob("*") if f.is_file()) / MB,
        )
        out_json.write_text(json.dumps(r, indent=1))
        print(
            f"  {wall:.0f} s, peak main {r['peak_main'] / MB:.0f} MB, tree {r['peak_tree'] / MB:.0f} MB",
            flush=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def revision() -> str:
    """The commit measured: ``REVISION`` in an exported snapshot of the code (``git archive``), else git's."""
    marker = PROJECT_ROOT / "REVISION"
    return marker.read_text().strip() if marker.is_file() else git_revision()


def pretrain(args: argparse.Namespace) -> int:
    """``pipeline.py pretrain`` on 100k and 200k NSMC reviews and on the 2M-message set: peak memory."""
    import shutil
    import tempfile

    import pandas as pd

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data_dir = Path(args.data_dir)
    texts = pd.concat([pd.read_csv(data_dir / f)["document"] for f in ("train.csv", "test.csv")])
    texts = texts.dropna().astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    texts = texts[texts != ""]
    sets = {}
    for n in [int(x) for x in args.reviews.split(",") if x]:
        path = work / f"reviews_{n}.txt"
        if not path.exists():
            path.write_text("\n".join(texts.iloc[:n]) + "\n", encoding="utf-8")
        sets[f"{n:,} NSMC reviews"] = (path, n)
    for n in [int(x) for x in args.pairs.split(",") if x]:
        pairs = build_set(n, data_dir, work / f"nsmc_pairs_{n}.csv")
        path = work / f"pairs_{n}.txt"
        if not path.exists():
            docs = pd.read_csv(pairs)["document"].astype(str).str.replace(r"\s+", " ", regex=True)
            path.write_text("\n".join(docs) + "\n", encoding="utf-8")
        sets[f"{n:,} messages (review pairs)"] = (path, n)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    for name, (path, n) in sets.items():
        tmp = Path(tempfile.mkdtemp(prefix="nlp_pp_pretrain_", dir=work))
        out = tmp / "vectors.npz"
        cli_args = ["pretrain", "--unlabeled", str(path), "--out", str(out), "--no-cache", *args.extra]
        load = load_average()
        print(f"[{today()}] pretrain on {name}, load {format_load(load)}", flush=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "child", "--json", str(tmp / "r.json"), "--"]
        t0 = time.perf_counter()
        proc = subprocess.run([*cmd, *cli_args], cwd=PROJECT_ROOT)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"error: pretrain on {name} failed", file=sys.stderr)
            return 1
        from nlp_pp.vectors.storage import load_vectors

        vectors, meta = load_vectors(out)
        ngrams = getattr(vectors, "vectors_ngrams", None)
        r = json.loads((tmp / "r.json").read_text())
        r.update(
            name=name,
            texts=n,
            wall=wall,
            date=today(),
            load_at_start=format_load(load),
            revision=revision(),
            args=cli_args[6:],
            tokens=meta.get("corpus", {}).get("tokens"),
            vocabulary=meta.get("corpus", {}).get("vocabulary"),
            buckets=None if ngrams is None else int(ngrams.shape[0]),
            dim=int(vectors.vector_size),
        )
        (results / f"pretrain_{n}.json").write_text(json.dumps(r, indent=1))
        print(
            f"  {wall / 60:.1f} min, peak main {r['peak_main'] / MB:,.0f} MB, "
            f"tree {r['peak_tree'] / MB:,.0f} MB, vocabulary {r['vocabulary']}, buckets {r['buckets']}",
            flush=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def slope(xs: list[float], ys: list[float]) -> float | None:
    import numpy as np

    pts = [(x, y) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    lx, ly = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(lx, ly, 1)[0])


def write(args: argparse.Namespace) -> int:
    results = [json.loads(p.read_text()) for p in sorted(Path(args.results).glob("*.json"))]
    if not results:
        print(f"error: no results in {args.results}", file=sys.stderr)
        return 2
    labels = list(dict.fromkeys(r["label"] for r in sorted(results, key=lambda r: r["date"])))
    body = [
        "## Scale: time and memory per stage, 0.2M to 2M messages",
        "",
        f"Written {today()} by `python bench/bench_scale.py write` from the runs of "
        "`python bench/bench_scale.py run --sizes ... --label LABEL` (each run's date and load below).",
        "",
        "**Data:** each message is two distinct NSMC reviews of the same label joined by a space (every pair "
        "at most once), labelled with that label; built from the 200,000 reviews of `train.csv` and "
        "`test.csv`.",
        "",
        "**Run:** `pipeline.py --data SET " + " ".join(RUN_ARGS) + "` (the default split, baseline, ensemble "
        "and report; an empty cache, so preprocessing and FastText are computed). One epoch, a 32-unit "
        "one-directional GRU and one FastText epoch keep the 2M run to tens of minutes on 2 "
        "cores; memory does not depend on these.",
        "",
        "**Machine:**",
        "",
        md_facts(machine_facts()),
        "",
        "Peak memory: resident set sampled every 50 ms; *main* = the pipeline process, *tree* = it plus its "
        "preprocessing workers (shared pages counted once per process). MB = 2^20 bytes.",
        "",
    ]
    for label in labels:
        rows = sorted((r for r in results if r["label"] == label), key=lambda r: r["messages"])
        sizes = [r["messages"] for r in rows]
        body += [f"### {label}", ""]
        body += [
            "\n".join(
                f"- {r['messages']:,} messages: {r['date']}, revision {r['revision']}, load at start "
                f"{r['load_at_start']}, {r['wall'] / 60:.1f} min, cache {r['cache_mb']:.0f} MB; "
                + ", ".join(f"{k} val macro-F1 {v['val_macro_f1']:.4f}" for k, v in r["scores"].items())
                for r in rows
            ),
            "",
        ]
        head = [
            "stage",
            *(f"{n / 1e6:g}M s" for n in sizes),
            "slope s",
            *(f"{n / 1e6:g}M peak MB" for n in sizes),
        ]
        table = []
        for st in STAGE_ORDER:
            if not any(st in r["stages"] for r in rows):
                continue
            secs = [r["stages"].get(st, {}).get("seconds", 0.0) for r in rows]
            peaks = [r["stages"].get(st, {}).get("peak_tree", 0) / MB for r in rows]
            sl = slope(sizes, secs)
            table.append(
                [
                    st,
                    *(f"{s:.1f}" for s in secs),
                    "-" if sl is None else f"{sl:.2f}",
                    *(f"{p:,.0f}" for p in peaks),
                ]
            )
        whole = [r["wall"] for r in rows]
        sl = slope(sizes, whole)
        table.append(
            [
                "**whole run**",
                *(f"{s:.0f}" for s in whole),
                "-" if sl is None else f"{sl:.2f}",
                *(f"{max(r['peak_tree'], r['peak_main']) / MB:,.0f}" for r in rows),
            ]
        )
        body += [md_table(head, table, "l" + "r" * (len(head) - 1)), ""]
        mains = [r["peak_main"] / MB for r in rows]
        trees = [max(r["peak_tree"], r["peak_main"]) / MB for r in rows]
        if len(rows) > 1:
            per_m = (trees[-1] - trees[0]) / ((sizes[-1] - sizes[0]) / 1e6)
            body.append(
                f"Peak of the main process {', '.join(f'{m:,.0f}' for m in mains)} MB; of the tree "
                f"{', '.join(f'{t:,.0f}' for t in trees)} MB: growth {per_m:,.0f} MB per million messages."
            )
            body.append("")
    body += pretrain_lines(Path(args.results) / "pretrain")
    plot(results, labels, Path(args.plot))
    plot_path = Path(args.plot).resolve()
    link = plot_path.relative_to(PROJECT_ROOT) if plot_path.is_relative_to(PROJECT_ROOT) else plot_path
    body += [f"![time and peak memory per stage, log-log]({link.as_posix()})", ""]
    write_section("scale", "\n".join(body))
    print("\n".join(body))
    return 0


def pretrain_lines(folder: Path) -> list[str]:
    """The pretrain measurements as a table (none: nothing)."""
    rows = sorted(
        (json.loads(p.read_text()) for p in folder.glob("pretrain_*.json")), key=lambda r: r["texts"]
    )
    if not rows:
        return []
    table = [
        [
            r["name"],
            " ".join(r["args"]) or "defaults",
            f"{r['tokens']:,}",
            f"{r['vocabulary']:,}",
            f"{r['buckets']:,}",
            f"{r['buckets'] * r['dim'] * 4 / MB:,.0f}",
            f"{r['wall'] / 60:.1f}",
            f"{r['peak_main'] / MB:,.0f}",
            f"{r['peak_tree'] / MB:,.0f}",
        ]
        for r in rows
    ]
    return [
        "### `pipeline.py pretrain`: peak memory against the corpus",
        "",
        "`pipeline.py pretrain --unlabeled FILE --no-cache` (one message per line; preprocessing in 2 "
        "processes), each in a fresh process: "
        + "; ".join(f"{r['name']}: {r['date']}, load {r['load_at_start']}" for r in rows)
        + ". *n-gram MB* = buckets x dim x 4 bytes, the n-gram vector table FastText allocates.",
        "",
        md_table(
            [
                "corpus",
                "options",
                "tokens",
                "vocabulary",
                "n-gram buckets",
                "n-gram MB",
                "minutes",
                "peak main MB",
                "peak tree MB",
            ],
            table,
            "llrrrrrrr",
        ),
        "",
    ]


def plot(results: list[dict], labels: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(labels), 2, figsize=(11, 4.2 * len(labels)), squeeze=False)
    for row, label in enumerate(labels):
        rows = sorted((r for r in results if r["label"] == label), key=lambda r: r["messages"])
        sizes = [r["messages"] for r in rows]
        for st in STAGE_ORDER:
            secs = [r["stages"].get(st, {}).get("seconds", 0.0) for r in rows]
            peaks = [r["stages"].get(st, {}).get("peak_tree", 0) / MB for r in rows]
            if any(secs):
                axes[row][0].plot(sizes, secs, marker="o", label=st)
                axes[row][1].plot(sizes, peaks, marker="o", label=st)
        for ax, what in zip(axes[row], ("seconds", "peak resident MB")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("messages")
            ax.set_ylabel(what)
            ax.set_title(f"{label}: {what} per stage")
            ax.grid(True, which="both", alpha=0.3)
        axes[row][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--sizes", default="200000,1000000,2000000")
    r.add_argument("--label", default="after")
    r.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="the NSMC CSVs (default: %(default)s)")
    r.add_argument("--work", default="/tmp/nlp_pp_scale")
    r.add_argument("--results", default=str(PROJECT_ROOT / "bench" / "scale_results"))
    r.add_argument("extra", nargs="*", help="more pipeline options (after --)")
    c = sub.add_parser("child")
    c.add_argument("--json", required=True)
    pt = sub.add_parser("pretrain")
    pt.add_argument("--reviews", default="100000,200000", help="numbers of NSMC reviews to pretrain on")
    pt.add_argument("--pairs", default="2000000", help="sizes of the review-pair sets to pretrain on too")
    pt.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    pt.add_argument("--work", default="/tmp/nlp_pp_scale")
    pt.add_argument("--results", default=str(PROJECT_ROOT / "bench" / "scale_results" / "pretrain"))
    pt.add_argument("extra", nargs="*", help="more pretrain options (after --)")
    w = sub.add_parser("write")
    w.add_argument("--results", default=str(PROJECT_ROOT / "bench" / "scale_results"))
    w.add_argument("--plot", default=str(PROJECT_ROOT / "bench" / "scale.png"))
    if argv and argv[0] == "child":
        i = argv.index("--")
        return child(p.parse_args(argv[:i]), argv[i + 1 :])
    args = p.parse_args(argv)
    return {"run": run, "pretrain": pretrain, "write": write}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
