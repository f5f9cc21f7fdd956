"""Training loop: Adam, cross-entropy, gradient clipping, early stopping, best checkpoint restored."""

from __future__ import annotations

import contextlib
import copy
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..options import Boolean, Interval, ListOf, OneOf, Optional, option, validate
from .threads import adapt

MONITORS = (
    "val_loss",
    "val_acc",
    "val_f1",
)  # validation scores early stopping, lr decay and the restored epoch follow


PREDICT_CHUNK = 100_000  # sequences scored at a time by predict_logits


@dataclass(frozen=True)
class TrainConfig:
    """Trainer options; each field's default, constraint and reason are declared here.

    ``monitor``: what "better" means after each epoch: a lower ``"val_loss"`` or a higher
    ``"val_acc"``. ``lr_decay``: factor the learning rate is multiplied by after each epoch whose
    score is not the best so far (``torch.optim.lr_scheduler.ReduceLROnPlateau`` with patience 0).
    """

    epochs: int = option(10, Interval(int, 1), "maximum epochs (early stopping on the --monitor score)")
    lr: float = option(2e-3, Interval(float, 0, 10, closed="neither"), "Adam learning rate")
    batch_size: int = option(64, Interval(int, 1), "training batch size")
    patience: int = option(2, Interval(int, 1), "epochs without a better validation score before stopping")
    clip: float = option(1.0, Interval(float, 0), "gradient-norm clipping; 0 turns it off")
    weight_decay: float = option(0.0, Interval(float, 0), "Adam weight decay (L2)")
    sparse_embedding: bool = option(
        False,
        Boolean(),
        "update only the embedding rows of each batch's tokens (sparse gradients, SparseAdam): a step's "
        "cost stops growing with the vocabulary, for millions of messages; off by default, it lost 0.1-0.8 "
        "validation points at 1k-5k labels; not with --weight-decay, --amp or torchrun "
        "(BENCHMARKS.md, sparse-embedding)",
    )
    lr_decay: float = option(
        0.5,
        Interval(float, 0, 1, closed="right"),
        "multiply the learning rate by this "
        "after an epoch without a better validation score; 1 keeps it constant (BENCHMARKS.md, accuracy)",
    )
    monitor: str = option(
        "val_loss",
        OneOf(*MONITORS),
        "the validation score for early stopping, --lr-decay "
        "and the restored epoch: loss, accuracy or macro-F1 (BENCHMARKS.md, summary)",
    )
    freeze_epochs: int = option(
        0,
        Interval(int, 0),
        "keep the embedding layer fixed for this many epochs "
        "first, then train it (lets a pretrained embedding settle the layers above)",
    )
    amp: bool = option(
        False,
        Boolean(),
        "mixed precision on CUDA: float16 autocast with a gradient scaler (faster on GPUs with tensor "
        "cores); refused on the CPU (README, data-parallel training)",
    )
    class_weight: tuple[float, ...] | None = option(
        None,
        Optional(ListOf(Interval(float, 0, closed="neither"))),
        "cross-entropy weight of each class (in label order)",
        cli=False,
    )

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` measured: per-epoch history, the best epoch and its validation scores."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = float("inf")
    best_val_acc: float = 0.0
    seconds: float = 0.0


def make_adam(params, lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam, fused into one kernel per step where this torch build supports it for these parameters.

    On the CPU the fused step over a large embedding table is much faster than the default (measured in
    BENCHMARKS.md, "Training throughput"), and the step was most of
    each training batch's time. The update rule is the same; torch < 2.4 falls back to the default.
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def sparse_tables(model: nn.Module) -> list[nn.Embedding]:
    """The trainable embedding tables of ``model`` that can take sparse gradients (no ``max_norm``)."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.Embedding) and m.weight.requires_grad and m.max_norm is None
    ]


class JointOptimizer:
    """Adam for the dense parameters and ``torch.optim.SparseAdam`` for the embedding tables, stepped
    together.

    SparseAdam is Adam applied to the rows a batch touched ("lazy" Adam): the rows of tokens not in
    the batch keep their moments and weights, where dense Adam would move them by their momentum. A
    step then costs the batch's rows, not the vocabulary's: with 100k words the dense step was most
    of a small GRU's batch time.
    """

    def __init__(self, dense: list[nn.Parameter], tables: list[nn.Parameter], lr: float):
        self.optimizers = [make_adam(dense, lr)] if dense else []
        self.optimizers.append(torch.optim.SparseAdam(tables, lr=lr))

    @property
    def param_groups(self) -> list[dict]:
        return [g for o in self.optimizers for g in o.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for o in self.optimizers:
            o.step()


def clip_gradients(parameters, max_norm: float) -> None:
    """``torch.nn.utils.clip_grad_norm_`` that also takes sparse gradients (which it refuses): the norm
    over every gradient, dense and sparse, and each scaled by ``max_norm / norm`` when that is below 1."""
    params = [p for p in parameters if p.grad is not None]
    if not any(p.grad.is_sparse for p in params):
        nn.utils.clip_grad_norm_(params, max_norm)
        return
    squares = []
    for p in params:
        if p.grad.is_sparse:
            p.grad = p.grad.coalesce()  # repeated rows summed, as the optimizer will see them
            squares.append(p.grad._values().float().pow(2).sum())
        else:
            squares.append(p.grad.float().pow(2).sum())
    total = torch.stack(squares).sum().sqrt()
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for p in params:
        p.grad.mul_(coef.to(p.grad.dtype))


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) for reproducible runs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str | None = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; otherwise the named device (checked)."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for but CUDA is not available here; use --device cpu")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(
            f"device {device!r} asked for but Apple MPS is not available here; use --device cpu"
        )
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unsupported device {device!r}; use auto, cpu or cuda")
    return dev


@dataclass(frozen=True)
class EpochScores:
    """One pass over a loader: mean loss (class-weighted when weights are given), accuracy, macro-F1."""

    loss: float
    acc: float
    f1: float


def run_epoch(
    model: nn.Module,
    loader,
    device: torch.device,
    optimizer=None,
    clip: float = 0.0,
    progress=None,
    class_weight: torch.Tensor | None = None,
    world=None,
    scaler=None,
    amp_dtype: torch.dtype | None = None,
) -> EpochScores:
    """One pass over ``loader``; trains when ``optimizer`` is given.

    With an active ``world`` (:mod:`nlp_pp.training.distributed`) each rank passed over its own share of
    the batches: the losses, weights and confusion counts are summed over the ranks before the scores.
    ``amp_dtype`` runs the forward pass under autocast to that type (mixed precision), and ``scaler`` (a
    ``torch.amp.GradScaler``) scales the loss so float16 gradients do not underflow; the loss itself
    is computed in float32.
    """
    train = optimizer is not None
    model.train(train)
    loss_fn = nn.CrossEntropyLoss(weight=class_weight, reduction="sum")
    total_loss, total_weight = 0.0, 0.0
    confusion: torch.Tensor | None = None
    with torch.set_grad_enabled(train):
        for tokens, lengths, labels in loader:
            adapt()  # the thread count follows the CPU other processes take (auto mode)
            tokens, labels = tokens.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            autocast = (
                torch.autocast(device_type=device.type, dtype=amp_dtype)
                if amp_dtype is not None
                else contextlib.nullcontext()
            )
            with autocast:
                logits = model(tokens, lengths)
            logits = logits.float()
            loss = loss_fn(logits, labels)  # soft targets ([B, C] probabilities) too: distillation
            soft = labels.is_floating_point()
            if soft:
                weight = (
                    float((labels @ class_weight).sum()) if class_weight is not None else float(len(labels))
                )
                labels = labels.argmax(1)  # accuracy and F1 against the most probable class
            else:
                weight = float(class_weight[labels].sum()) if class_weight is not None else float(len(labels))
            if train:
                optimizer.zero_grad(set_to_none=True)
                scaled = loss / max(weight, 1e-12)
                if scaler is not None:
                    scaler.scale(scaled).backward()
                    if clip > 0:
                        scaler.unscale_(optimizer)  # clip the true gradients
                        nn.utils.clip_grad_norm_(model.parameters(), clip)
                    scaler.step(optimizer)  # skipped when a gradient overflowed
                    scaler.update()
                else:
                    scaled.backward()
                    if clip > 0:
                        clip_gradients(model.parameters(), clip)
                    optimizer.step()
            total_loss += float(loss.detach())
            total_weight += weight
            k = logits.size(1)
            codes = (labels * k + logits.argmax(1)).cpu()
            counts = torch.bincount(codes, minlength=k * k).reshape(k, k)
            confusion = counts if confusion is None else confusion + counts
            if progress is not None:
                progress.update(1)
    if world is not None and world.active and confusion is not None:  # every rank has >= 1 batch
        from .distributed import all_reduce_sum

        sums = all_reduce_sum([total_loss, total_weight, *confusion.flatten().tolist()], device, world)
        total_loss, total_weight = sums[0], sums[1]
        confusion = torch.tensor(sums[2:], dtype=torch.float64).reshape(confusion.shape)
    if confusion is None:
        return EpochScores(0.0, 0.0, 0.0)
    cm = confusion.double()
    tp, denom = cm.diagonal(), cm.sum(0) + cm.sum(1)
    f1 = torch.where(denom > 0, 2 * tp / denom.clamp(min=1), torch.zeros_like(tp)).mean()
    return EpochScores(total_loss / max(total_weight, 1e-12), float(tp.sum() / cm.sum()), float(f1))


def predict_logits(
    model: nn.Module, sequences, device: str | torch.device = "cpu", batch_size: int = 256
) -> np.ndarray:
    """Logits ``[N, C]`` for index sequences, in input order (:class:`nlp_pp.deploy.inference.TorchRunner`).

    Sequences are grouped by exact length, so no batch is padded; ``device`` is where the model is.
    """
    from ..deploy.inference import TorchRunner

    device = torch.device(device) if not isinstance(device, torch.device) else device
    runner = TorchRunner(model.to(device), max_batch=batch_size)
    if len(sequences) <= PREDICT_CHUNK:
        return runner.logits([list(s) for s in sequences])
    # a large split: PREDICT_CHUNK sequences at a time, so their lists are never all held at once
    parts = [
        runner.logits([list(sequences[i]) for i in range(start, min(start + PREDICT_CHUNK, len(sequences)))])
        for start in range(0, len(sequences), PREDICT_CHUNK)
    ]
    return np.concatenate(parts)


def predict_proba(
    model: nn.Module, sequences, device: str | torch.device = "cpu", batch_size: int = 256
) -> np.ndarray:
    """Class probabilities ``[N, C]`` (softmax of :func:`predict_logits`), in input order."""
    from scipy.special import softmax

    return softmax(predict_logits(model, sequences, device, batch_size), axis=1).astype(np.float32)


class Trainer:
    """Fit a classifier with Adam and early stopping on a validation score (loss, accuracy or macro-F1).

    Examples
    --------
    >>> trainer = Trainer(model, TrainConfig(epochs=5))           # doctest: +SKIP
    >>> result = trainer.fit(train_loader, val_loader)            # doctest: +SKIP
    >>> result.best_epoch, result.history[-1]["val_acc"]          # doctest: +SKIP
    """

    def __init__(
        self, model: nn.Module, config: TrainConfig | None = None, device: str | torch.device = "auto"
    ):
        self.config = config or TrainConfig()
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.model = model.to(self.device)
        from .distributed import current

        self.world = current()
        params = [p for p in self.model.parameters() if p.requires_grad]
        # sparse embedding gradients: not with weight decay (SparseAdam has none), a gradient scaler
        # (it unscales one torch optimizer) or DDP (NCCL reduces dense gradients only)
        sparse = self.config.sparse_embedding and not (
            self.config.weight_decay or self.config.amp or self.world.active
        )
        self._sparse = sparse_tables(self.model) if sparse else []
        if self._sparse:
            ids = {id(m.weight) for m in self._sparse}
            self.optimizer = JointOptimizer(
                [p for p in params if id(p) not in ids], [m.weight for m in self._sparse], self.config.lr
            )
        else:
            self.optimizer = make_adam(params, self.config.lr, self.config.weight_decay)
        optimizers = getattr(self.optimizer, "optimizers", [self.optimizer])
        # one plateau schedule per optimizer: the same scores, so the same decisions
        self.schedulers = (
            [
                torch.optim.lr_scheduler.ReduceLROnPlateau(
                    o, mode="min", factor=self.config.lr_decay, patience=0, threshold=0.0
                )
                for o in optimizers
            ]
            if self.config.lr_decay < 1
            else []
        )
        weight = self.config.class_weight
        self.class_weight = (
            None if weight is None else torch.tensor(weight, dtype=torch.float32, device=self.device)
        )
        # --amp: float16 autocast and a gradient scaler, on CUDA only
        self.amp_dtype, self.scaler = None, None
        if self.config.amp:
            if self.device.type != "cuda":
                raise ConfigError(
                    f"--amp needs a CUDA device (mixed precision pays on GPUs); this run is on {self.device}"
                )
            self.amp_dtype, self.scaler = torch.float16, torch.amp.GradScaler("cuda")
        # under torchrun (nlp_pp.training.distributed): the model wrapped in DistributedDataParallel
        self.train_model = self.model
        if self.world.active:
            from torch.nn.parallel import DistributedDataParallel

            self.train_model = DistributedDataParallel(
                self.model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=self.config.freeze_epochs > 0,  # a frozen embedding has no gradient
            )
        # the token embedding tables that train, to hold still during the first freeze_epochs epochs
        # (a classifier names them; n-gram or character tables are not pretrained and always train)
        tables = getattr(self.model, "embedding_tables", None)
        modules = (
            tables() if callable(tables) else [m for m in self.model.modules() if isinstance(m, nn.Embedding)]
        )
        self._embeddings = [m.weight for m in modules if m.weight.requires_grad]

    def fit(
        self,
        train_loader,
        val_loader,
        *,
        progress: bool = True,
        desc: str = "train",
        on_epoch: Callable[[dict], None] | None = None,
    ) -> FitResult:
        """Train up to ``epochs``; stop after ``patience`` epochs without a better ``monitor`` score.

        After an epoch without a better score the learning rate is multiplied by ``lr_decay``. The
        weights of the best epoch are restored before returning. ``on_epoch`` is called with each
        epoch's history row (its validation scores) as soon as it is measured: a tuner reports them
        and may stop a hopeless trial by raising (the exception propagates; nothing is restored).
        """
        cfg = self.config
        result = FitResult()
        best_state, best_score = None, float("inf")
        start = time.perf_counter()
        steps = cfg.epochs * len(train_loader)
        show = progress and self.world.main
        with (
            tqdm(total=steps, desc=desc, disable=None if show else True, unit="batch", leave=False) as bar,
            self._sparse_gradients(),
        ):
            for epoch in range(1, cfg.epochs + 1):
                t0 = time.perf_counter()
                for w in self._embeddings:  # frozen first, then trained
                    w.requires_grad_(epoch > cfg.freeze_epochs)
                tr = run_epoch(
                    self.train_model,
                    train_loader,
                    self.device,
                    self.optimizer,
                    cfg.clip,
                    bar,
                    self.class_weight,
                    **({"world": self.world} if self.world.active else {}),
                    **({"scaler": self.scaler, "amp_dtype": self.amp_dtype} if self.config.amp else {}),
                )
                va = self._validate(val_loader)
                result.history.append(
                    {
                        "epoch": epoch,
                        "train_loss": tr.loss,
                        "train_acc": tr.acc,
                        "val_loss": va.loss,
                        "val_acc": va.acc,
                        "val_f1": va.f1,
                        "lr": self.optimizer.param_groups[0]["lr"],
                        "seconds": time.perf_counter() - t0,
                    }
                )
                bar.set_postfix(epoch=epoch, val_loss=f"{va.loss:.4f}", val_acc=f"{va.acc:.4f}")
                if on_epoch is not None:
                    on_epoch(result.history[-1])
                # lower is better
                score = {"val_loss": va.loss, "val_acc": -va.acc, "val_f1": -va.f1}[cfg.monitor]
                if score < best_score:
                    best_score, result.best_epoch = score, epoch
                    result.best_val_loss, result.best_val_acc = va.loss, va.acc
                    best_state = copy.deepcopy(self.model.state_dict())
                elif epoch - result.best_epoch >= cfg.patience:
                    break
                for scheduler in self.schedulers:
                    scheduler.step(score)
        for w in self._embeddings:
            w.requires_grad_(True)
        if best_state is not None:
            self.model.load_state_dict(best_state)
        result.seconds = time.perf_counter() - start
        return result

    @contextlib.contextmanager
    def _sparse_gradients(self) -> Iterator[None]:
        """The tables SparseAdam updates give sparse gradients while fitting, and dense ones after (a
        model handed on may be trained by other code)."""
        for m in self._sparse:
            m.sparse = True
        try:
            yield
        finally:
            for m in self._sparse:
                m.sparse = False

    def _validate(self, val_loader) -> EpochScores:
        """Scores on the whole validation split: computed on rank 0 and broadcast under torchrun, so every
        rank decides early stopping, the learning-rate decay and the restored epoch the same way."""
        if not self.world.active:
            return run_epoch(self.model, val_loader, self.device, class_weight=self.class_weight)
        from .distributed import broadcast

        scores = None
        if self.world.main:
            scores = run_epoch(self.model, val_loader, self.device, class_weight=self.class_weight)
        return broadcast(scores, self.world)
