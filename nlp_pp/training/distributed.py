"""Data-parallel training under ``torchrun``: one process per rank, DistributedDataParallel, gloo or NCCL.

``torchrun --nproc_per_node=N pipeline.py ...`` (and ``--nnodes``/``--rdzv-endpoint`` on a cluster) starts
``N`` copies of the pipeline with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous in their
environment; :func:`init_world` joins them into one process group (gloo on the CPU, NCCL on CUDA).
Then, for a run (:mod:`nlp_pp.training.experiment`):

* rank 0 preprocesses and trains FastText first, filling the cache; the other ranks wait
  (:func:`main_first`) and read the same cache entries (with ``--no-cache`` each rank computes them);
* only rank 0 writes the run directory, the baseline, the predictions, the decisions and the report;
  the other ranks write into a private temporary directory that is removed;
* every rank trains every configuration with the model wrapped in DistributedDataParallel: each epoch
  all ranks draw the same length-bucketed batches (:class:`DistributedBucketSampler`, the batches of
  :class:`~nlp_pp.vectors.batching.BucketBatchSampler`) and each takes every ``N``-th, the list padded
  by repeating its first batches so that every rank has the same count and no rank waits forever in an
  all-reduce; padded tensors and lengths go through DDP's forward, the model packs inside, and the
  gradients are averaged over the ranks;
* validation runs on the whole validation split on rank 0, whose scores are broadcast, so early
  stopping, the learning-rate decay and the restored epoch are decided identically on every rank.

A single process (no ``torchrun``, or ``--nproc_per_node=1``) is :data:`SINGLE`: nothing here runs.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import ConfigError, RunError, first_line
from ..vectors.batching import BucketBatchSampler

log = logging.getLogger(__name__)

INIT_TIMEOUT_MINUTES = 30  # how long a rank waits for the others (rendezvous, a barrier, an all-reduce)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


SINGLE = World()
_current = SINGLE


def current() -> World:
    """The world of the run in progress (:data:`SINGLE` outside ``torchrun``)."""
    return _current


def _env_int(environ, name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(
            f"${name} must be an integer (got {raw!r}); start the ranks with torchrun"
        ) from None


def world_from_environment(environ=None) -> World:
    """The rank and world size ``torchrun`` put in the environment (:data:`SINGLE` without it)."""
    environ = os.environ if environ is None else environ
    size = _env_int(environ, "WORLD_SIZE", 1)
    rank = _env_int(environ, "RANK", 0)
    local = _env_int(environ, "LOCAL_RANK", 0)
    if size < 1 or not 0 <= rank < size:
        raise ConfigError(f"rank {rank} of a world of {size} processes is impossible; start with torchrun")
    return World(rank, size, local)


def init_world(device) -> World:
    """Join the process group of this ``torchrun`` launch (gloo on the CPU, NCCL on CUDA); :data:`SINGLE`
    for a single process. The device of a CUDA rank is its ``LOCAL_RANK``-th GPU."""
    global _current
    world = world_from_environment()
    if not world.active:
        _current = SINGLE
        return SINGLE
    import torch
    import torch.distributed as dist

    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(world.local_rank)
    if not dist.is_initialized():
        try:
            dist.init_process_group(
                backend,
                timeout=datetime.timedelta(minutes=INIT_TIMEOUT_MINUTES),
                rank=world.rank,
                world_size=world.size,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise RunError(f"cannot join the torchrun process group ({first_line(e)})") from None
    _current = World(world.rank, world.size, world.local_rank, backend)
    log.info("rank %d of %d (%s)", world.rank, world.size, backend)
    return _current


def close_world() -> None:
    """Leave the process group (a no-op for a single process)."""
    global _current
    if _current.active:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    _current = SINGLE


def rank_device(device, world: World):
    """The device of this rank: its own GPU (``cuda:LOCAL_RANK``) under torchrun, else ``device``."""
    import torch

    if world.active and device.type == "cuda":
        return torch.device("cuda", world.local_rank)
    return device


def barrier(world: World | None = None) -> None:
    world = world or _current
    if world.active:
        import torch.distributed as dist

        dist.barrier()


@contextmanager
def main_first(world: World | None = None) -> Iterator[None]:
    """Rank 0 runs the block first (filling the cache); the other ranks wait for it, then run it."""
    world = world or _current
    if world.active and not world.main:
        barrier(world)
    yield
    if world.active and world.main:
        barrier(world)


def broadcast(value, world: World | None = None):
    """Rank 0's ``value`` (any picklable object), on every rank."""
    world = world or _current
    if not world.active:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_sum(values: Sequence[float], device, world: World | None = None) -> list[float]:
    """Element-wise sums of ``values`` over the ranks (float64)."""
    world = world or _current
    if not world.active:
        return list(values)
    import torch
    import torch.distributed as dist

    t = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


class DistributedBucketSampler(BucketBatchSampler):
    """This rank's share of :class:`BucketBatchSampler`'s batches: every ``size``-th batch from ``rank``.

    Every rank builds the same batch list each epoch (the same seed and epoch); the list is padded to a
    multiple of ``size`` by repeating its first batches, so every rank gets ``ceil(batches / size)``
    batches and no rank is left waiting in an all-reduce. Fewer batches than ranks is a
    :class:`ConfigError` (some rank would train only on repeats).
    """

    def __init__(
        self, lengths, batch_size: int, *, rank: int, size: int, shuffle: bool = True, seed: int = 0
    ):
        super().__init__(lengths, batch_size, shuffle=shuffle, seed=seed)
        self.rank, self.size = rank, size
        total = super().__len__()
        if total < size:
            raise ConfigError(
                f"torchrun started {size} processes, but the training split has only {total} batch(es) of "
                f"--batch-size {batch_size}: start fewer processes (--nproc_per_node) or lower --batch-size"
            )

    def __iter__(self) -> Iterator[list[int]]:
        batches = list(super().__iter__())
        short = -len(batches) % self.size
        batches.extend(batches[:short])
        return iter(batches[self.rank :: self.size])

    def __len__(self) -> int:
        return -(-super().__len__() // self.size)


def train_loader(sequences, labels, batch_size: int, *, seed: int, world: World | None = None):
    """The training DataLoader of this rank: its share of the length-bucketed batches (as
    :func:`~nlp_pp.vectors.batching.make_dataloader` makes them for one process)."""
    from torch.utils.data import DataLoader

    from ..vectors.batching import ArrayDataset, EncodedDataset, _whole_batch, collate_batch
    from ..vectors.tokenstore import EncodedArrays

    world = world or _current
    if isinstance(sequences, EncodedArrays):
        ds, collate = ArrayDataset(sequences, labels), _whole_batch
    else:
        ds, collate = EncodedDataset(sequences, labels), collate_batch
    sampler = DistributedBucketSampler(ds.lengths(), batch_size, rank=world.rank, size=world.size, seed=seed)
    return DataLoader(ds, batch_sampler=sampler, collate_fn=collate)


def run_other_rank(cfg, run_in) -> None:
    """A rank > 0's part of a run: ``run_in(run)`` in a private temporary run directory, removed after.

    The rank preprocesses (from rank 0's cache), trains its share of every configuration and stops
    after training; what it writes (its FastText copy, run.json) is thrown away.
    """
    import shutil
    import tempfile
    from pathlib import Path

    from .rundir import RunDir

    tmp = Path(tempfile.mkdtemp(prefix=f"nlp_pp_rank{_current.rank}_"))
    try:
        run_in(RunDir.create(tmp, "rank", cfg.to_dict()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_batches(lengths, batch_size: int, world: World | None = None) -> None:
    """Refuse a world larger than the training split's batch count before any work is done (``lengths``:
    the training sequences' lengths, as encoded)."""
    world = world or _current
    if world.active:
        DistributedBucketSampler([int(n) for n in lengths], batch_size, rank=world.rank, size=world.size)
