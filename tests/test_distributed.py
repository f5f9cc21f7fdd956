"""Tests of data-parallel training (nlp_pp.training.distributed) and of torchrun runs end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp_pp.errors import ConfigError
from nlp_pp.training import threads
from nlp_pp.training.distributed import SINGLE, DistributedBucketSampler, World, world_from_environment
from nlp_pp.vectors.batching import BucketBatchSampler

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "spam_sample.csv"


def lengths(n: int = 500, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 30, size=n)


def test_one_rank_gets_the_batches_of_the_single_process_sampler():
    a = BucketBatchSampler(lengths(), 16, seed=3)
    b = DistributedBucketSampler(lengths(), 16, rank=0, size=1, seed=3)
    for _ in range(3):
        assert list(a) == list(b)
    assert len(a) == len(b)


@pytest.mark.parametrize("size", [2, 3, 7])
def test_ranks_share_every_batch_in_equal_counts(size):
    ls = lengths(401, seed=size)
    single = BucketBatchSampler(ls, 8, seed=1)
    ranks = [DistributedBucketSampler(ls, 8, rank=r, size=size, seed=1) for r in range(size)]
    for _ in range(2):  # every epoch: the same batch list on every rank, reshuffled alike
        expected = list(single)
        shares = [list(s) for s in ranks]
        assert {len(s) for s in shares} == {-(-len(expected) // size)} == {len(r) for r in ranks}
        seen = [tuple(b) for share in shares for b in share]
        assert set(seen) == {tuple(b) for b in expected}  # all covered; the padding repeats the first ones
        assert len(seen) - len(expected) == -len(expected) % size
        assert shares[0][0] == expected[0] and (size < 2 or shares[1][0] == expected[1])


def test_fewer_batches_than_ranks_is_a_config_error():
    with pytest.raises(ConfigError, match=r"started 4 processes.*only 1 batch\(es\).*--nproc_per_node"):
        DistributedBucketSampler([3] * 10 + [4] * 10, 64, rank=0, size=4)


def test_world_from_the_environment():
    assert world_from_environment({}) == SINGLE and not SINGLE.active and SINGLE.main
    w = world_from_environment({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"})
    assert w == World(1, 2, 1) and w.active and not w.main
    for bad in ({"WORLD_SIZE": "2", "RANK": "2"}, {"WORLD_SIZE": "x"}, {"WORLD_SIZE": "0"}):
        with pytest.raises(ConfigError):
            world_from_environment(bad)


def test_each_torchrun_rank_takes_its_share_of_the_cores():
    env = {"LOCAL_WORLD_SIZE": "2", "OMP_NUM_THREADS": "1"}  # torchrun's own default
    assert threads.ranks_here(env) == 2 and threads.ranks_here({}) == 1
    assert threads.decide_threads("auto", environ=env, cores=4) == (4, "auto")  # torchrun's 1 is not a choice
    assert threads.decide_threads("auto", environ={"OMP_NUM_THREADS": "1"}, cores=4) == (1, "OMP_NUM_THREADS")
    assert threads.decide_threads("auto", environ={**env, "NLP_PP_THREADS": "1"}, cores=4) == (
        1,
        "NLP_PP_THREADS",
    )
    settings = threads.apply_threads("auto", environ={"LOCAL_WORLD_SIZE": "2"}, cores=8)
    assert settings.cores == 4 and settings.intra_op == 4
    settings = threads.apply_threads("auto", environ={"LOCAL_WORLD_SIZE": "4"}, cores=2)
    assert settings.cores == 1 and settings.intra_op == 1
    threads.apply_threads(1)


# --------------------------------------------------------------------------- torchrun end to end

ARGS = [
    "--data",
    str(SAMPLE),
    "--max-rows",
    "800",
    "--epochs",
    "2",
    "--fasttext-epochs",
    "1",
    "--emb-dim",
    "16",
]
ARGS += ["--hidden", "16", "--models", "gru", "--inits", "random", "--n-jobs", "1", "--no-ensemble"]


def torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    return subprocess.run(
        [*cmd, str(ROOT / "pipeline.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=600
    )


@pytest.mark.slow
def test_two_gloo_processes_write_one_run_that_scores_like_a_single_process(tmp_path):
    cache = ["--cache-dir", str(tmp_path / "cache")]
    done = torchrun(*ARGS, *cache, "--out", str(tmp_path / "ddp"), "--name", "ddp")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in (tmp_path / "ddp").iterdir()] == ["ddp"]  # one run directory, finished
    m = json.loads((tmp_path / "ddp" / "ddp" / "metrics.json").read_text(encoding="utf-8"))
    assert m["world_size"] == 2 and m["baseline"] is not None
    assert "2 training processes" in (tmp_path / "ddp" / "ddp" / "report.md").read_text(encoding="utf-8")
    ddp = m["runs"][0]["val"]["macro_f1"]
    single = subprocess.run(
        [sys.executable, "pipeline.py", *ARGS, *cache, "--seeds", "0,1,2", "--no-baseline"]
        + ["--out", str(tmp_path / "one"), "--name", "one"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    one = json.loads((tmp_path / "one" / "one" / "metrics.json").read_text(encoding="utf-8"))
    assert one["world_size"] == 1
    f1 = [r["val"]["macro_f1"] for r in one["runs"]]
    # within the seed-to-seed spread of the single process (plus a margin for 2x the global batch)
    assert min(f1) - 0.05 <= ddp <= max(f1) + 0.05, (ddp, f1)


@pytest.mark.slow
def test_more_processes_than_batches_is_one_error_line_and_no_run(tmp_path):
    done = torchrun(*ARGS, "--batch-size", "100000", "--no-cache", "--out", str(tmp_path / "runs"))
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "only 1 batch(es)" in errors[0] and "--nproc_per_node" in errors[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# --------------------------------------------------------------------------- --amp


def test_amp_is_refused_on_the_cpu(capsys):
    import torch

    from nlp_pp import models
    from nlp_pp.config import ExperimentConfig
    from nlp_pp.training.trainer import TrainConfig, Trainer
    from tests.test_errors import fails_with

    net = models.build_model(ExperimentConfig().model_config("gru", 20, 2))
    with pytest.raises(ConfigError, match="--amp needs a CUDA device"):
        Trainer(net, TrainConfig(amp=True), torch.device("cpu"))
    fails_with(["--amp", "--max-rows", "100"], capsys, "--amp needs a CUDA device")


def test_the_mixed_precision_step_trains_with_a_gradient_scaler():
    """The --amp code path on the CPU (bfloat16 autocast, the CPU's GradScaler): what CUDA runs with
    float16. It learns a separable toy task, and a clipped, scaled step leaves finite weights."""
    import torch

    from nlp_pp import models
    from nlp_pp.config import ExperimentConfig
    from nlp_pp.training.trainer import make_adam, run_epoch, set_seed
    from nlp_pp.vectors.batching import make_dataloader

    set_seed(0)
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(2, 10, size=rng.integers(1, 8)) + (10 if i % 2 else 0)) for i in range(256)]
    labels = np.arange(256) % 2
    net = models.build_model(ExperimentConfig(emb_dim=16, hidden=16).model_config("gru", 20, 2))
    opt = make_adam(net.parameters(), 1e-2)
    scaler = torch.amp.GradScaler("cpu")
    loader = make_dataloader(seqs, labels, 32, seed=0)
    cpu = torch.device("cpu")
    first = run_epoch(net, loader, cpu, opt, 1.0, scaler=scaler, amp_dtype=torch.bfloat16)
    for _ in range(4):
        last = run_epoch(net, loader, cpu, opt, 1.0, scaler=scaler, amp_dtype=torch.bfloat16)
    assert last.loss < first.loss and last.acc > 0.9
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_the_epoch_sums_over_ranks_on_the_training_device(monkeypatch):
    """The per-epoch sums go through the process group on the rank's device: NCCL (CUDA) has no CPU
    tensors, so a constant "cpu" there failed at the end of the first epoch on GPUs."""
    import torch

    from nlp_pp import models
    from nlp_pp.config import ExperimentConfig
    from nlp_pp.training import distributed
    from nlp_pp.training.trainer import run_epoch
    from nlp_pp.vectors.batching import make_dataloader

    seen = []

    def fake_sum(values, device, world=None):
        seen.append(device)
        return [2 * v for v in values]  # as if a second rank had the same counts

    monkeypatch.setattr(distributed, "all_reduce_sum", fake_sum)
    net = models.build_model(ExperimentConfig(emb_dim=8, hidden=8).model_config("gru", 12, 2))
    loader = make_dataloader([[2, 3], [4, 5, 6], [7]] * 4, np.arange(12) % 2, 4, seed=0)
    device = torch.device("cpu")
    alone = run_epoch(net, loader, device)
    two = run_epoch(net, loader, device, world=World(rank=0, size=2, backend="gloo"))
    assert len(seen) == 1 and seen[0] is device
    assert (two.loss, two.acc, two.f1) == pytest.approx((alone.loss, alone.acc, alone.f1))
