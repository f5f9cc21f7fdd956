"""Scaling out: preprocessing on a Dask cluster (messages/s) and training with torchrun (seconds per epoch).

    python bench/bench_distributed.py                 # both parts, writes the section "distributed"
    python bench/bench_distributed.py --part cluster  # only the preprocessing part (a few minutes)

**cluster**: the 200,000 NSMC reviews (``train.csv`` then ``test.csv``) preprocessed into token arrays by
:func:`nlp_pp.vectors.tokenstore.build_token_arrays` with the default chain: a local process pool of 1 and
2 processes, and a Dask cluster ``local:1`` and ``local:2`` (``--cluster``; the cluster's start and stop
are timed separately and included in the run's time). The token arrays of every mode are compared
with those of the single process.

**torchrun**: ``pipeline.py`` on the 150,000 NSMC training reviews (the 50,000 test reviews as
``--test-data``), ``--models gru --inits random --epochs 1 --no-baseline --no-ensemble`` and the default
model, once as one process and once under ``torchrun --standalone --nproc_per_node=2`` (gloo); the
seconds of the training epoch come from ``metrics.json`` (``history``; validation runs on rank 0 and
is included). The single process runs first and fills the cache, which the torchrun ranks then read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
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


def cluster_part(data_dir: Path) -> dict:
    import numpy as np
    import pandas as pd

    from nlp_pp.text.cluster import DaskMap
    from nlp_pp.text.preprocess import PreprocessConfig
    from nlp_pp.vectors.tokenstore import build_token_arrays

    frames = [pd.read_csv(data_dir / f, usecols=["document"]) for f in ("train.csv", "test.csv")]
    texts = pd.concat(frames)["document"].dropna().astype(str).tolist()
    cfg = PreprocessConfig()
    rows, reference = [], None
    for mode, kwargs in (
        ("local pool, 1 process", {"n_jobs": 1}),
        ("local pool, 2 processes", {"n_jobs": 2}),
        ("--cluster local:1", {"cluster": "local:1"}),
        ("--cluster local:2", {"cluster": "local:2"}),
    ):
        startup = None
        if "cluster" in kwargs:
            t0 = time.perf_counter()
            with DaskMap(kwargs["cluster"]):
                pass
            startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        arrays = build_token_arrays(texts, cfg, None, **kwargs)
        seconds = time.perf_counter() - t0
        if reference is None:
            reference = arrays
        same = arrays.types == reference.types and bool(np.array_equal(arrays.ids, reference.ids))
        same = same and bool(np.array_equal(arrays.offsets, reference.offsets))
        rows.append({"mode": mode, "seconds": seconds, "startup": startup, "same": same, "texts": len(texts)})
        print(
            f"{mode}: {seconds:.1f} s, {len(texts) / seconds:,.0f} messages/s, identical {same}", flush=True
        )
    return {"rows": rows, "tokens": int(len(reference.ids))}


def torchrun_part(data_dir: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="nlp_pp_bench_ddp_"))
    args = [
        "--data",
        str(data_dir / "train.csv"),
        "--test-data",
        str(data_dir / "test.csv"),
        "--text-col",
        "document",
        "--label-col",
        "label",
        "--models",
        "gru",
        "--inits",
        "random",
        "--epochs",
        "1",
        "--no-baseline",
        "--no-ensemble",
        "--cache-dir",
        str(work / "cache"),
        "--out",
        str(work / "runs"),
    ]
    py = sys.executable
    out = {}
    for name, cmd in (
        ("1 process", [py, "pipeline.py", *args, "--name", "one"]),
        (
            "torchrun, 2 processes (gloo)",
            [py, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "pipeline.py", *args]
            + ["--name", "two"],
        ),
    ):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            raise SystemExit(f"error: {name} failed:\n{done.stderr[-2000:]}")
        run = {"one": "one", "torchrun, 2 processes (gloo)": "two"}.get(name, "one")
        m = json.loads((work / "runs" / run / "metrics.json").read_text(encoding="utf-8"))
        r = m["runs"][0]
        out[name] = {
            "epoch_seconds": r["history"][0]["seconds"],
            "wall": wall,
            "world_size": m["world_size"],
            "val_macro_f1": r["val"]["macro_f1"],
            "test_accuracy": r["test"]["accuracy"],
            "threads": m["threads"]["intra_op"] if isinstance(m["threads"], dict) else m["threads"],
            "train_rows": m["dataset"]["split"]["train"],
        }
        print(f"{name}: epoch {out[name]['epoch_seconds']:.1f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=["all", "cluster", "torchrun"], default="all")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    p.add_argument("--json", default=None, help="also save the results here")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--from-json", default=None, help="render results saved with --json instead of measuring")
    args = p.parse_args(argv)
    data_dir = Path(args.data_dir)
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        started = result["date"]
    else:
        started = today()
        result = {"date": started, "load": format_load(load_average())}
        if args.part in ("all", "cluster"):
            result["cluster"] = cluster_part(data_dir)
        if args.part in ("all", "torchrun"):
            result["torchrun"] = torchrun_part(data_dir)
        result["command"] = command_line(__file__, argv)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    body = [
        "## Scaling out: Dask preprocessing and torchrun training",
        "",
        f"Measured {started} with `{result.get('command', 'python bench/bench_distributed.py')}`; load at "
        f"start {result['load']}.",
        "",
        md_facts(machine_facts()),
        "",
    ]
    if "cluster" in result:
        c = result["cluster"]
        body += [
            f"### Preprocessing: {c['rows'][0]['texts']:,} NSMC reviews into token arrays "
            f"({c['tokens']:,} tokens)",
            "",
            md_table(
                ["mode", "seconds", "messages/s", "cluster start + stop s", "tokens identical"],
                [
                    [
                        r["mode"],
                        f"{r['seconds']:.1f}",
                        f"{r['texts'] / r['seconds']:,.0f}",
                        "-" if r["startup"] is None else f"{r['startup']:.1f}",
                        "yes" if r["same"] else "**no**",
                    ]
                    for r in c["rows"]
                ],
                "lrrrl",
            ),
            "",
            "Seconds include the cluster's start and stop (given separately too). On one 2-core machine a "
            "cluster cannot beat the local pool; it is for more cores than one machine has.",
            "",
        ]
    if "torchrun" in result:
        t = result["torchrun"]
        rows = [
            [
                k,
                v["world_size"],
                v["threads"],
                f"{v['epoch_seconds']:.1f}",
                f"{v['val_macro_f1']:.4f}",
                f"{v['test_accuracy']:.4f}",
            ]
            for k, v in t.items()
        ]
        body += [
            "### Training: one epoch of the default GRU on the 150,000 NSMC training reviews",
            "",
            md_table(
                ["run", "world size", "threads per process", "epoch s", "val macro-F1", "test accuracy"],
                rows,
                "lrrrrr",
            ),
            "",
            "The epoch's seconds include validation (on rank 0). With 2 processes each rank trains half "
            "the batches at `--batch-size` 64 each, so the global batch is 128 and the epoch takes half "
            "the optimizer steps: the scores after one epoch are not those of one process.",
            "",
        ]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        write_section("distributed", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
