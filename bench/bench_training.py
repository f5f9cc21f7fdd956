"""Training throughput: length-bucketed packed batches vs fixed-length post-padding, at equal settings.

    python bench/bench_training.py                      # RNN, LSTM, GRU on the 150k NSMC training texts
    python bench/bench_training.py --limit 20000 --no-write   # a quick look

For each model both modes train the same architecture, from the same seed, with the same batch size,
learning rate and number of epochs, on the same index sequences (truncated to the same context
length), and are scored on the 50k NSMC test texts:

- ``bucketed``: nlp_pp's default -- batches grouped by exact length (most need no padding and run
  on the dense kernels; the mixed leftovers are packed with the true lengths, so padding never
  reaches the final state);
- ``fixed``: the design's original approach -- every sequence post-padded to the context length
  and the whole padded sequence fed to the recurrent layer (the final state comes after the padding).

Writes the section ``training`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
import torch

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
from nlp_pp import models
from nlp_pp.cache import Cache, cache_key, default_cache_dir
from nlp_pp.config import ExperimentConfig
from nlp_pp.text.preprocess import preprocess
from nlp_pp.training.trainer import make_adam, run_epoch, set_seed
from nlp_pp.vectors.batching import BucketBatchSampler, choose_context_length, encode_corpus, make_dataloader
from nlp_pp.vectors.vocab import Vocab


class FullLength:
    """Wrap a fixed-width loader so the model reads every padded step (no packing by true length)."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for tokens, lengths, labels in self.loader:
            yield tokens, torch.full_like(lengths, tokens.size(1)), labels


def load_tokens(path: Path, cfg: ExperimentConfig, cache: Cache) -> tuple[list[list[str]], np.ndarray]:
    df = pd.read_csv(path)
    texts = df["document"].fillna("").astype(str).tolist()
    key = cache_key("bench-tokens", str(path), path.stat().st_size, cfg.preprocess.fingerprint())
    tokens = cache.get("tokens", key)
    if tokens is None:
        tokens = preprocess(texts, cfg.preprocess, n_jobs=-1)
        cache.put("tokens", key, tokens)
    return tokens, df["label"].to_numpy(dtype=np.int64)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--models", default="rnn,lstm,gru")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="use the first N training texts")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    cfg = ExperimentConfig()  # the pipeline's defaults: preprocessing, sizes, batch size, lr
    torch.set_num_threads(torch.get_num_threads())
    cache = Cache(default_cache_dir())
    load0 = load_average()
    train_tokens, y_train = load_tokens(args.data_dir / "train.csv", cfg, cache)
    test_tokens, y_test = load_tokens(args.data_dir / "test.csv", cfg, cache)
    if args.limit:
        train_tokens, y_train = train_tokens[: args.limit], y_train[: args.limit]
    vocab = Vocab.build(train_tokens, min_count=cfg.min_count)
    context = choose_context_length([len(t) for t in train_tokens], cfg.length_percentile)
    train_seqs = encode_corpus(train_tokens, vocab, context)
    test_seqs = encode_corpus(test_tokens, vocab, context)
    lengths = np.array([len(s) for s in train_seqs])
    batches = list(BucketBatchSampler(lengths, cfg.batch_size, seed=0))
    unpadded = np.mean([lengths[b].min() == lengths[b].max() for b in batches])
    print(
        f"{len(train_seqs)} training texts, vocabulary {len(vocab)}, context length {context}, "
        f"mean length {lengths.mean():.1f}, bucketed batches without padding {unpadded:.1%}",
        flush=True,
    )

    rows, results = [], {}
    for name in args.models.split(","):
        for mode in ("bucketed", "fixed"):
            set_seed(0)
            net = models.build_model(cfg.model_config(name, len(vocab), 2))
            opt = make_adam(net.parameters(), cfg.lr)
            fixed = context if mode == "fixed" else None
            train_loader = make_dataloader(
                train_seqs, y_train, cfg.batch_size, shuffle=True, seed=0, fixed_length=fixed
            )
            test_loader = make_dataloader(test_seqs, y_test, 512, shuffle=False, fixed_length=fixed)
            if mode == "fixed":
                train_loader, test_loader = FullLength(train_loader), FullLength(test_loader)
            seconds = []
            for _ in range(args.epochs):
                t0 = time.perf_counter()
                run_epoch(net, train_loader, torch.device("cpu"), opt, cfg.clip)
                seconds.append(time.perf_counter() - t0)
            acc = run_epoch(net, test_loader, torch.device("cpu")).acc
            results[(name, mode)] = (float(np.mean(seconds)), acc)
            print(f"{name} {mode}: {np.mean(seconds):.1f} s/epoch, test accuracy {acc:.4f}", flush=True)
        b, f = results[(name, "bucketed")], results[(name, "fixed")]
        verdict = "PASS" if f[0] / b[0] >= 2 and b[1] >= f[1] - 0.002 else "MISS"
        rows.append(
            [name, f"{b[0]:.1f}", f"{f[0]:.1f}", f"{f[0] / b[0]:.2f}×", f"{b[1]:.4f}", f"{f[1]:.4f}", verdict]
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    body = "\n".join(
        [
            "## Training throughput: bucketed + packed vs fixed-length post-padding",
            "",
            f"Measured {today()} with "
            f"`{command_line(__file__, argv if argv is not None else sys.argv[1:])}`.",
            "",
            md_facts(
                {
                    **machine_facts(),
                    "torch threads": str(torch.get_num_threads()),
                    "load average at start": format_load(load0),
                }
            ),
            "",
            f"Data: {len(train_seqs):,} NSMC training texts (`{args.data_dir}/train.csv`), scored on the "
            f"{len(test_seqs):,} test texts; the pipeline's default preprocessing, vocabulary "
            f"({len(vocab):,} tokens, min_count {cfg.min_count}) and context length {context} "
            f"(95th percentile; mean length {lengths.mean():.1f}). Equal settings in both modes: "
            f"emb_dim {cfg.emb_dim}, hidden {cfg.hidden}, bidirectional {cfg.bidirectional}, batch size "
            f"{cfg.batch_size}, Adam lr {cfg.lr}, {args.epochs} epochs, seed 0, random embedding init. "
            "*fixed* = every sequence post-padded to the context length and fed whole to the recurrent "
            "layer (the design's original approach); *bucketed* = nlp_pp's batches grouped by exact "
            f"length ({unpadded:.1%} of the training batches have no padding and run unpacked; the rest "
            "are packed with their true lengths). Both use the pipeline's optimizer "
            "(`nlp_pp.training.trainer.make_adam`). "
            "Seconds are training time per epoch (mean over epochs).",
            "",
            md_table(
                [
                    "model",
                    "bucketed s/epoch",
                    "fixed s/epoch",
                    "speed-up",
                    "bucketed test acc.",
                    "fixed test acc.",
                    "target (≥ 2× at equal or better accuracy)",
                ],
                rows,
                "lrrrrrl",
            ),
            "",
            f"Peak resident memory of the benchmark process: {peak_mb:,.0f} MB.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("training", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
