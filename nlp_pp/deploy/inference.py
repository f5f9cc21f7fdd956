"""Fast inference: token-id sequences grouped by exact length, one backend interface.

A batch whose sequences all have the same length needs no padding, runs on the models' dense
path (``forward_dense``), and gives the eager packed model's results up to float rounding. Every
caller that turns token ids into logits uses this module: training's evaluation
(:func:`nlp_pp.training.trainer.predict_logits`), :func:`nlp_pp.load_classifier` and the exported models.

Backends share one interface, :class:`LogitsRunner`, and one batcher, :func:`batch_by_length`:

* :class:`TorchRunner` -- an eager ``TextClassifier`` (CPU or CUDA);
* :class:`TorchScriptRunner` -- a file from :func:`nlp_pp.deploy.graphs.export_torchscript`;
* :class:`OnnxRunner` -- a file from :func:`nlp_pp.deploy.graphs.export_onnx` or
  :func:`nlp_pp.deploy.graphs.quantize_onnx_int8`, run by ONNX Runtime (the optional extra
  ``pip install 'nlp_pp[serve]'``).
"""

from __future__ import annotations

import importlib
import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn as nn

from ..errors import ConfigError

METADATA_KEY = "nlp_pp"
"""ONNX ``metadata_props`` key / TorchScript extra-file name (``nlp_pp.json``) of an exported model's
metadata."""
DEFAULT_MAX_BATCH = 256
TS_EXTRA = f"{METADATA_KEY}.json"
SERVE_HINT = "pip install 'nlp_pp[serve]'"


# ------------------------------------------------------------------ optional dependencies


def require(module: str, what: str) -> Any:
    """Import ``module`` or raise ``ConfigError`` naming the ``serve`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{what} needs {module}: {SERVE_HINT}") from None


# ------------------------------------------------------------------ batching


def _flatten(token_ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """All ids in one int64 array, and the length of each sequence."""
    lengths = np.fromiter(map(len, token_ids), dtype=np.int64, count=len(token_ids))
    total = int(lengths.sum())
    flat = np.fromiter(chain.from_iterable(token_ids), dtype=np.int64, count=total)
    return flat, lengths


def check_max_batch(max_batch: int) -> int:
    if isinstance(max_batch, bool) or not isinstance(max_batch, (int, np.integer)) or max_batch < 1:
        raise ConfigError(f"max_batch must be an integer >= 1 (got {max_batch!r})")
    return int(max_batch)


def _batches(
    flat: np.ndarray, lengths: np.ndarray, max_batch: int, pad_idx: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    n = lengths.size
    if n == 0:
        return
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[order]
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(sorted_lengths)) + 1, [n]))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        width = int(sorted_lengths[lo])
        for s in range(lo, hi, max_batch):
            idx = order[s : min(s + max_batch, hi)]
            if width == 0:  # an empty sequence is read as one PAD step, as the eager model does
                yield idx, np.full((idx.size, 1), pad_idx, dtype=np.int64)
            else:
                yield idx, flat[starts[idx, None] + np.arange(width)]


def batch_by_length(
    token_ids: Sequence[Sequence[int]], max_batch: int = DEFAULT_MAX_BATCH, *, pad_idx: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Group sequences by exact length into unpadded batches.

    Parameters
    ----------
    token_ids : sequence of sequences of int
        Token-id sequences (lists, tuples or 1-D integer arrays), any lengths including 0.
    max_batch : int
        Most rows per batch; a length group larger than this is split.
    pad_idx : int
        Id used for an empty sequence, which becomes the one-step sequence ``[pad_idx]``.

    Yields
    ------
    indices : numpy.ndarray of int64, shape (b,)
        Positions of the batch's rows in ``token_ids``.
    tokens : numpy.ndarray of int64, shape (b, T)
        The sequences, all of length ``T >= 1``; no padding.

    Notes
    -----
    Shortest lengths come first; within a length, input order is kept. Every input position
    appears in exactly one batch.
    """
    max_batch = check_max_batch(max_batch)
    flat, lengths = _flatten(token_ids)
    return _batches(flat, lengths, max_batch, pad_idx)


def _run_grouped(
    token_ids: Sequence[Sequence[int]],
    forward: Callable[[np.ndarray], np.ndarray],
    *,
    num_classes: int,
    max_batch: int,
    pad_idx: int,
    vocab_size: int | None,
) -> np.ndarray:
    """Logits ``[N, num_classes]`` float32 in input order, one ``forward`` call per batch."""
    flat, lengths = _flatten(token_ids)
    if flat.size and (flat.min() < 0 or (vocab_size is not None and flat.max() >= vocab_size)):
        bad = int(flat.min()) if flat.min() < 0 else int(flat.max())
        raise ValueError(
            f"token id {bad} is outside the vocabulary [0, {vocab_size or 'vocab_size'}); "
            "encode texts with the vocabulary the model was trained with"
        )
    out = np.empty((lengths.size, num_classes), dtype=np.float32)
    for idx, tokens in _batches(flat, lengths, max_batch, pad_idx):
        out[idx] = forward(tokens)
    return out


# ------------------------------------------------------------------ runners


@runtime_checkable
class LogitsRunner(Protocol):
    """Anything that maps token-id sequences to logits ``[N, C]`` (float32, input order)."""

    num_classes: int

    def logits(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits for each sequence; empty sequences are read as ``[PAD]``."""
        ...


class TorchRunner:
    """Eager PyTorch backend: the model's dense path on length-grouped batches.

    Parameters
    ----------
    model : models.TextClassifier, or any module called as ``model(tokens, lengths)``
        Put in eval mode here (dropout off); its device is used. A ``TextClassifier`` runs
        ``forward_dense``; another module is called with every length equal to the batch width.
    max_batch : int
        Most rows per forward call.

    Notes
    -----
    Torch's intra-op threads are process-wide: set them with ``torch.set_num_threads``.
    """

    def __init__(self, model: nn.Module, *, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.model = model.eval()
        cfg = getattr(model, "config", None)
        self.pad_idx = int(getattr(cfg, "pad_idx", 0))
        self.vocab_size = getattr(cfg, "vocab_size", None)
        self.max_batch = check_max_batch(max_batch)
        try:
            self.device = next(model.parameters()).device
        except StopIteration:
            self.device = torch.device("cpu")
        if cfg is not None:
            self.num_classes = int(cfg.num_classes)
        else:
            with torch.inference_mode():
                self.num_classes = int(self._forward(np.full((1, 1), self.pad_idx, np.int64)).shape[1])

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(tokens).to(self.device)
        if hasattr(self.model, "forward_dense"):
            out = self.model.forward_dense(x)
        else:
            out = self.model(x, torch.full((x.size(0),), x.size(1), dtype=torch.long))
        return out.float().cpu().numpy()

    def logits(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits ``[N, C]`` float32 in input order."""
        with torch.inference_mode():
            return _run_grouped(
                token_ids,
                self._forward,
                num_classes=self.num_classes,
                max_batch=self.max_batch,
                pad_idx=self.pad_idx,
                vocab_size=self.vocab_size,
            )


class TorchScriptRunner:
    """TorchScript backend: a file written by :func:`export_torchscript`, on CPU.

    Parameters
    ----------
    path : str or Path
        The ``.pt`` file.
    max_batch : int
        Most rows per forward call.
    pad_idx : int, optional
        Id for empty sequences; default: the file's metadata (0 if it has none).
    """

    def __init__(
        self, path: str | Path, *, max_batch: int = DEFAULT_MAX_BATCH, pad_idx: int | None = None
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"TorchScript file not found: {path}")
        extra = {TS_EXTRA: ""}
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
            )
            self.module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        self.module.eval()
        self.metadata: dict[str, Any] = json.loads(extra[TS_EXTRA]) if extra[TS_EXTRA] else {}
        self.pad_idx = int(self.metadata.get("pad_idx", 0) if pad_idx is None else pad_idx)
        self.vocab_size = self.metadata.get("vocab_size")
        self.max_batch = check_max_batch(max_batch)
        if "num_classes" in self.metadata:
            self.num_classes = int(self.metadata["num_classes"])
        else:
            with torch.inference_mode():
                self.num_classes = int(self._forward(np.full((1, 1), self.pad_idx, np.int64)).shape[1])

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        return self.module(torch.from_numpy(tokens)).numpy()

    def logits(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits ``[N, C]`` float32 in input order."""
        with torch.inference_mode():
            return _run_grouped(
                token_ids,
                self._forward,
                num_classes=self.num_classes,
                max_batch=self.max_batch,
                pad_idx=self.pad_idx,
                vocab_size=self.vocab_size,
            )


class OnnxRunner:
    """ONNX Runtime backend (CPU) for a file from :func:`export_onnx` or :func:`quantize_onnx_int8`.

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file.
    threads : int
        ``intra_op_num_threads`` of the session (``inter_op_num_threads`` is 1: execution is
        sequential). All graph optimisations are on.
    max_batch : int
        Most rows per ``session.run``.
    pad_idx : int, optional
        Id for empty sequences; default: the file's metadata (0 if it has none).

    Raises
    ------
    ConfigError
        If onnxruntime is not installed or the file does not exist.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int = 1,
        max_batch: int = DEFAULT_MAX_BATCH,
        pad_idx: int | None = None,
    ) -> None:
        ort = require("onnxruntime", "OnnxRunner")
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"ONNX file not found: {path}")
        if threads < 1:
            raise ConfigError(f"threads must be >= 1 (got {threads})")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [self.session.get_outputs()[0].name]
        raw = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        self.metadata: dict[str, Any] = json.loads(raw) if raw else {}
        self.pad_idx = int(self.metadata.get("pad_idx", 0) if pad_idx is None else pad_idx)
        self.vocab_size = self.metadata.get("vocab_size")
        self.max_batch = check_max_batch(max_batch)
        self.threads = threads
        c = self.session.get_outputs()[0].shape[-1]
        if isinstance(c, int):
            self.num_classes = c
        else:
            self.num_classes = int(self._forward(np.full((1, 1), self.pad_idx, np.int64)).shape[1])

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        return self.session.run(self.output_names, {self.input_name: tokens})[0]

    def logits(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits ``[N, C]`` float32 in input order."""
        return _run_grouped(
            token_ids,
            self._forward,
            num_classes=self.num_classes,
            max_batch=self.max_batch,
            pad_idx=self.pad_idx,
            vocab_size=self.vocab_size,
        )
