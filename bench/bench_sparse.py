"""Sparse embedding gradients (SparseAdam) against dense Adam: a step's time, and accuracy on both data sets.

    python bench/bench_sparse.py steps      # seconds per training step at 20k/100k/300k words: alone
    python bench/bench_sparse.py accuracy   # the few-label runs with each (reused when present)
    python bench/bench_sparse.py write      # BENCHMARKS.md, section "sparse-embedding"

``steps`` times one training step (forward, backward, gradient clipping, optimizer step) of the small
GRU of the scale benchmark (``bench/bench_scale.py``: 50-wide embedding, 32 hidden, unidirectional,
batch 64 x 40 tokens) with a vocabulary of 20k, 100k and 300k words, one thread, with dense fused Adam
(the default) and with ``--sparse-embedding`` (sparse gradients for the embedding, SparseAdam for it,
fused Adam for the rest): the trainer's own :class:`~nlp_pp.training.trainer.JointOptimizer` and
:func:`~nlp_pp.training.trainer.clip_gradients`. Timing: run it alone.

``accuracy`` runs ``bench/bench_few_labels.py --section few-labels`` twice --
``--extra=--no-sparse-embedding`` and ``--extra=--sparse-embedding`` -- on K-MHaS 1k and 5k and
NSMC 2k labelled texts (seeds 0, 1, 2; gru and wide_gru, random and FastText init; pretrained vectors
from the rest of each train.csv), and compares validation and test macro-F1, mean over the seeds.
Accuracy does not depend on the machine's load, so it may run beside other work.
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
    format_load,
    git_revision,
    load_average,
    machine_facts,
    md_facts,
    md_table,
    today,
    write_section,
)

OUT = PROJECT_ROOT / "bench" / "out" / "sparse"
DATA = "kmhas:1000+5000,nsmc:2000"
MODELS = "gru,wide_gru"
VARIANTS = {"dense": "--no-sparse-embedding", "sparse": "--sparse-embedding"}
VOCABS = (20_000, 100_000, 300_000)


def step_ms(vocab: int, sparse: bool, n: int) -> float:
    """Milliseconds per training step of the small GRU with ``vocab`` words (mean of ``n`` steps)."""
    import torch

    from nlp_pp.training.trainer import JointOptimizer, clip_gradients, make_adam

    torch.manual_seed(0)
    emb = torch.nn.Embedding(vocab, 50, padding_idx=0, sparse=sparse)
    gru, head = torch.nn.GRU(50, 32, batch_first=True), torch.nn.Linear(32, 2)
    dense = [*gru.parameters(), *head.parameters()]
    opt = JointOptimizer(dense, [emb.weight], 2e-3) if sparse else make_adam([*dense, emb.weight], 2e-3)
    x, y = torch.randint(1, vocab, (64, 40)), torch.randint(0, 2, (64,))
    t0 = 0.0
    for i in range(5 + n):  # five to warm up
        if i == 5:
            t0 = time.perf_counter()
        _, h = gru(emb(x))
        loss = torch.nn.functional.cross_entropy(head(h[-1]), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip_gradients([emb.weight, *dense], 1.0)
        opt.step()
    return (time.perf_counter() - t0) / n * 1000


def steps(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    load = load_average()
    rows = []
    for vocab in VOCABS:
        for name in VARIANTS:
            rows.append({"vocab": vocab, "variant": name, "ms": step_ms(vocab, name == "sparse", args.steps)})
            print(rows[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    facts = {"date": today(), "load_at_start": load, "revision": git_revision(), "steps": args.steps}
    (OUT / "steps.json").write_text(json.dumps({"rows": rows, **facts}, indent=1))
    return 0


def accuracy(args: argparse.Namespace) -> int:
    for flag in VARIANTS.values():
        cmd = [
            sys.executable,
            str(PROJECT_ROOT / "bench" / "bench_few_labels.py"),
            "--section",
            "few-labels",
            "--data",
            DATA,
            "--models",
            MODELS,
            f"--extra={flag}",
            "--no-write",
        ]
        subprocess.run(cmd, check=True)
    return 0


def _runs() -> dict[tuple[str, str, str], list[tuple[float, float, float]]]:
    """(subset, row, variant) -> [(validation macro-F1, test macro-F1, training seconds)] over the seeds."""
    from bench.bench_few_labels import RUNS, _tag

    out: dict[tuple[str, str, str], list[tuple[float, float, float]]] = {}
    for variant, flag in VARIANTS.items():
        for d in sorted(RUNS.glob(f"*-{_tag(MODELS, [flag])}")):
            if not (d / "metrics.json").exists():
                continue
            m = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
            subset = d.name.rsplit("-", 2)[0]
            for r in m["runs"]:
                out.setdefault((subset, f"{r['model']} + {r['init']}", variant), []).append(
                    (r["val"]["macro_f1"], r["test"]["macro_f1"], r["train_seconds"])
                )
    return out


def mean(rows: list[tuple[float, float, float]], i: int) -> float:
    return statistics.mean(r[i] for r in rows)


def write(args: argparse.Namespace) -> int:
    lines = [
        "## Sparse embedding gradients: step time and accuracy (sparse-embedding)",
        "",
        "`--sparse-embedding` (off by default): a trainable embedding table (random init; wide_gru's "
        "n-gram vectors; jamo_gru's characters) gives sparse gradients and SparseAdam updates the rows a "
        "batch touched, so a step's cost stops growing with the vocabulary; dense fused Adam stays with "
        "`--weight-decay`, `--amp` and `torchrun`. It is not the default because it lost validation "
        "macro-F1 in 8 of the 9 trained rows below (up to 0.8 points at NSMC 2k); the scale benchmark "
        "uses it (millions of messages). Reproduce: `python bench/bench_sparse.py steps` (alone), "
        "`python bench/bench_sparse.py accuracy`, `python bench/bench_sparse.py write`.",
        "",
    ]
    path = OUT / "steps.json"
    if path.exists():
        s = json.loads(path.read_text())
        ms = {(r["vocab"], r["variant"]): r["ms"] for r in s["rows"]}
        lines += [
            f"**Step time** ({s['date']}, revision {s['revision']}, load at start "
            f"{format_load(s['load_at_start'])}; {s['steps']} steps each, one thread): the small GRU of "
            "the scale benchmark, batch 64 x 40 tokens, milliseconds per step.",
            "",
            md_table(
                ["words", "dense Adam (default)", "sparse", "dense / sparse"],
                [
                    [f"{v:,}", f"{d:.1f}", f"{sp:.1f}", f"{d / sp:.2f}x"]
                    for v in VOCABS
                    if (d := ms.get((v, "dense"))) and (sp := ms.get((v, "sparse")))
                ],
                "rrrr",
            ),
            "",
        ]
    runs = _runs()
    if runs:
        table = []
        for subset, row in sorted({(k[0], k[1]) for k in runs}):
            d, s = runs.get((subset, row, "dense"), []), runs.get((subset, row, "sparse"), [])
            if not d or not s:
                continue
            table.append(
                [
                    subset,
                    row,
                    f"{len(d)} / {len(s)}",
                    f"{mean(d, 0):.4f}",
                    f"{mean(s, 0):.4f}",
                    f"{(mean(s, 0) - mean(d, 0)) * 100:+.2f}",
                    f"{mean(d, 1):.4f}",
                    f"{mean(s, 1):.4f}",
                    f"{mean(d, 2):.0f} / {mean(s, 2):.0f}",
                ]
            )
        lines += [
            "**Accuracy** (`bench/bench_few_labels.py --section few-labels --data "
            f"{DATA} --models {MODELS}` with each flag; the data sets' own test splits, read only to "
            "report): macro-F1, mean over the seeds; FastText-init word tables are frozen, so their "
            "gru rows are the same computation (a check). Training seconds were measured beside other "
            "work: indicative only (the identical gru + fasttext rows differ too).",
            "",
            md_table(
                [
                    "subset",
                    "row",
                    "seeds",
                    "val dense",
                    "val sparse",
                    "val Δ (points)",
                    "test dense",
                    "test sparse",
                    "train s dense / sparse",
                ],
                table,
                "llrrrrrrr",
            ),
            "",
        ]
    lines += ["Machine:", "", md_facts(machine_facts())]
    write_section("sparse-embedding", "\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("steps")
    st.add_argument("--steps", type=int, default=50)
    sub.add_parser("accuracy")
    sub.add_parser("write")
    args = p.parse_args(argv)
    return {"steps": steps, "accuracy": accuracy, "write": write}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
