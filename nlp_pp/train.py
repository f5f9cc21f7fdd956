"""Training loop: Adam, cross-entropy, gradient clipping, early stopping, best checkpoint restored."""
from __future__ import annotations

import copy
import random
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .errors import ConfigError
from .options import Interval, OneOf, option, validate


MONITORS = ("val_loss", "val_acc")  # validation scores early stopping, lr decay and the restored epoch can follow


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
    lr_decay: float = option(0.5, Interval(float, 0, 1, closed="right"), "multiply the learning rate by this "
                             "after an epoch without a better validation score; 1 keeps it constant (0.5 gave "
                             "the best epochs on NSMC)")
    monitor: str = option("val_loss", OneOf(*MONITORS), "the validation score for early stopping, --lr-decay "
                          "and the restored epoch (val_acc was not better on NSMC)")

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

    On the CPU the fused step over a large embedding table is about 7x faster than the default
    (2.2 vs 16.4 ms for a 40k x 100 table plus a BiLSTM, measured here), and the step was most of
    each training batch's time. The update rule is the same; torch < 2.4 falls back to the default.
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


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
        raise ConfigError(f"device {device!r} asked for but Apple MPS is not available here; use --device cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unsupported device {device!r}; use auto, cpu or cuda")
    return dev


def run_epoch(model: nn.Module, loader, device: torch.device, optimizer=None, clip: float = 0.0,
              progress=None) -> tuple[float, float]:
    """One pass over ``loader``; trains when ``optimizer`` is given. Returns (mean loss, accuracy)."""
    train = optimizer is not None
    model.train(train)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total_loss, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(train):
        for tokens, lengths, labels in loader:
            tokens, labels = tokens.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            logits = model(tokens, lengths)
            loss = loss_fn(logits, labels)
            if train:
                optimizer.zero_grad(set_to_none=True)
                (loss / len(labels)).backward()
                if clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
            total_loss += float(loss.detach())
            correct += int((logits.argmax(1) == labels).sum())
            count += len(labels)
            if progress is not None:
                progress.update(1)
    return total_loss / max(count, 1), correct / max(count, 1)


@torch.no_grad()
def predict_proba(model: nn.Module, sequences, device: str | torch.device = "cpu",
                  batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``[N, C]`` for index sequences, in input order.

    Sequences are batched by length (each batch pads only to its own longest sequence) and the
    rows are put back in the order given.
    """
    from .batching import collate_batch

    model.eval()
    device = torch.device(device) if not isinstance(device, torch.device) else device
    seqs = [torch.as_tensor(s, dtype=torch.long) for s in sequences]
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out: np.ndarray | None = None
    dummy = torch.zeros((), dtype=torch.long)
    for start in range(0, len(seqs), batch_size):
        idx = order[start:start + batch_size]
        tokens, lengths, _ = collate_batch([(seqs[i], dummy) for i in idx])
        probs = torch.softmax(model(tokens.to(device), lengths), dim=1).float().cpu().numpy()
        if out is None:
            out = np.zeros((len(seqs), probs.shape[1]), dtype=np.float32)
        out[idx] = probs
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


class Trainer:
    """Fit a classifier with Adam and early stopping on validation loss or accuracy.

    Examples
    --------
    >>> trainer = Trainer(model, TrainConfig(epochs=5))           # doctest: +SKIP
    >>> result = trainer.fit(train_loader, val_loader)            # doctest: +SKIP
    >>> result.best_epoch, result.history[-1]["val_acc"]          # doctest: +SKIP
    """

    def __init__(self, model: nn.Module, config: TrainConfig | None = None, device: str | torch.device = "auto"):
        self.config = config or TrainConfig()
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.model = model.to(self.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = make_adam(params, self.config.lr, self.config.weight_decay)
        self.scheduler = None
        if self.config.lr_decay < 1:
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="min", factor=self.config.lr_decay, patience=0, threshold=0.0)

    def fit(self, train_loader, val_loader, *, progress: bool = True, desc: str = "train") -> FitResult:
        """Train up to ``epochs``; stop after ``patience`` epochs without a better ``monitor`` score.

        After an epoch without a better score the learning rate is multiplied by ``lr_decay``. The
        weights of the best epoch (lowest validation loss or highest validation accuracy) are
        restored before returning.
        """
        cfg = self.config
        result = FitResult()
        best_state, best_score = None, float("inf")
        start = time.perf_counter()
        steps = cfg.epochs * len(train_loader)
        with tqdm(total=steps, desc=desc, disable=None if progress else True, unit="batch", leave=False) as bar:
            for epoch in range(1, cfg.epochs + 1):
                t0 = time.perf_counter()
                train_loss, train_acc = run_epoch(self.model, train_loader, self.device, self.optimizer,
                                                  cfg.clip, bar)
                val_loss, val_acc = run_epoch(self.model, val_loader, self.device)
                result.history.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                                       "val_loss": val_loss, "val_acc": val_acc,
                                       "lr": self.optimizer.param_groups[0]["lr"],
                                       "seconds": time.perf_counter() - t0})
                bar.set_postfix(epoch=epoch, val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.4f}")
                score = val_loss if cfg.monitor == "val_loss" else -val_acc  # lower is better
                if score < best_score:
                    best_score, result.best_epoch = score, epoch
                    result.best_val_loss, result.best_val_acc = val_loss, val_acc
                    best_state = copy.deepcopy(self.model.state_dict())
                elif epoch - result.best_epoch >= cfg.patience:
                    break
                if self.scheduler is not None:
                    self.scheduler.step(score)
        if best_state is not None:
            self.model.load_state_dict(best_state)
        result.seconds = time.perf_counter() - start
        return result
