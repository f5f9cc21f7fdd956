"""Model-level export (TorchScript, ONNX, int8 ONNX) and fast length-grouped inference runners.

Only the classifiers' *equal-length* path is exported: ``forward_dense(tokens [B, T]) -> logits
[B, C]`` (every row fills all ``T`` steps). Packed sequences, which the eager recurrent models use
for padded batches, do not export; instead the runners group sequences by exact length, so no
batch is ever padded, and put the rows back in input order. That reproduces the eager model
(``nlp_pp.train.predict_proba``) for every model family, up to float rounding.

Backends share one interface, :class:`LogitsRunner`, and one batcher, :func:`batch_by_length`:

* :class:`TorchRunner` -- the eager ``TextClassifier`` (no extra dependencies);
* :class:`TorchScriptRunner` -- a file from :func:`export_torchscript`;
* :class:`OnnxRunner` -- a file from :func:`export_onnx` or :func:`quantize_onnx_int8`, run by ONNX
  Runtime (needs the optional extra ``pip install 'nlp_pp[serve]'``).

Exporter choice
---------------
:func:`export_onnx` uses torch's TorchScript-based ("legacy") ONNX exporter, ``dynamo=False``.
With torch 2.13 the default ``torch.export``-based exporter specialises the time axis of
``nn.RNN``, bidirectional ``nn.LSTM``/``nn.GRU`` and pooled recurrent outputs to the example length
("marked as dynamic but your code specialized it to be a constant"), so it cannot give a graph
with a dynamic sequence axis for most of our recurrent models (it does for CNN/avg). The legacy
exporter maps ``nn.RNN``/``nn.LSTM``/``nn.GRU`` to the ONNX ``RNN``/``LSTM``/``GRU`` operators with
dynamic batch and time axes and reproduced every model family to < 3e-7 in logits. It is
deprecated in torch; ``dynamo=True`` is available for when it is removed (CNN/avg/hybrid-only
today). Every export is checked numerically against the eager model on several shapes, including
``T = 1`` and ``T`` below the CNN's largest kernel, before it is returned.

:func:`export_torchscript` traces (``torch.jit.trace``; ``torch.jit.script`` cannot compile these
modules). Tracing is safe because ``forward_dense`` has no data-dependent Python control flow.
"""
from __future__ import annotations

import copy
import importlib
import json
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from itertools import chain
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn as nn

from .errors import ConfigError

logger = logging.getLogger(__name__)

FORMAT = "nlp_pp.logits/1"
"""Format tag written into every exported file's metadata."""
METADATA_KEY = "nlp_pp"
"""ONNX ``metadata_props`` key / TorchScript extra-file name (``nlp_pp.json``) of that metadata."""
INPUT_NAME = "tokens"
OUTPUT_NAME = "logits"
DEFAULT_MAX_BATCH = 256
_TS_EXTRA = f"{METADATA_KEY}.json"
_SERVE_HINT = "pip install 'nlp_pp[serve]'"

__all__ = [
    "DenseLogits",
    "LogitsRunner",
    "OnnxRunner",
    "TorchRunner",
    "TorchScriptRunner",
    "batch_by_length",
    "compare_outputs",
    "export_onnx",
    "export_torchscript",
    "quantize_onnx_int8",
    "softmax",
]


# ------------------------------------------------------------------ optional dependencies


def _require(module: str, what: str) -> Any:
    """Import ``module`` or raise ``ConfigError`` naming the ``serve`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{what} needs {module}: {_SERVE_HINT}") from None


# ------------------------------------------------------------------ batching


def _flatten(token_ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """All ids in one int64 array, and the length of each sequence."""
    lengths = np.fromiter(map(len, token_ids), dtype=np.int64, count=len(token_ids))
    total = int(lengths.sum())
    flat = np.fromiter(chain.from_iterable(token_ids), dtype=np.int64, count=total)
    return flat, lengths


def _check_max_batch(max_batch: int) -> int:
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
            idx = order[s:min(s + max_batch, hi)]
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
    max_batch = _check_max_batch(max_batch)
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
    """Eager PyTorch backend: ``model.forward_dense`` on length-grouped batches.

    Parameters
    ----------
    model : models.TextClassifier
        Put in eval mode here (dropout off); its device is used.
    max_batch : int
        Most rows per forward call.

    Notes
    -----
    Torch's intra-op threads are process-wide: set them with ``torch.set_num_threads``.
    """

    def __init__(self, model: nn.Module, *, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.model = model.eval()
        cfg = model.config
        self.num_classes = int(cfg.num_classes)
        self.pad_idx = int(cfg.pad_idx)
        self.vocab_size = int(cfg.vocab_size)
        self.max_batch = _check_max_batch(max_batch)
        try:
            self.device = next(model.parameters()).device
        except StopIteration:
            self.device = torch.device("cpu")

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        return self.model.forward_dense(torch.from_numpy(tokens).to(self.device)).float().cpu().numpy()

    def logits(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits ``[N, C]`` float32 in input order."""
        with torch.inference_mode():
            return _run_grouped(token_ids, self._forward, num_classes=self.num_classes,
                                max_batch=self.max_batch, pad_idx=self.pad_idx,
                                vocab_size=self.vocab_size)


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

    def __init__(self, path: str | Path, *, max_batch: int = DEFAULT_MAX_BATCH,
                 pad_idx: int | None = None) -> None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"TorchScript file not found: {path}")
        extra = {_TS_EXTRA: ""}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated",
                                    category=DeprecationWarning)
            self.module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        self.module.eval()
        self.metadata: dict[str, Any] = json.loads(extra[_TS_EXTRA]) if extra[_TS_EXTRA] else {}
        self.pad_idx = int(self.metadata.get("pad_idx", 0) if pad_idx is None else pad_idx)
        self.vocab_size = self.metadata.get("vocab_size")
        self.max_batch = _check_max_batch(max_batch)
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
            return _run_grouped(token_ids, self._forward, num_classes=self.num_classes,
                                max_batch=self.max_batch, pad_idx=self.pad_idx,
                                vocab_size=self.vocab_size)


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

    def __init__(self, path: str | Path, *, threads: int = 1, max_batch: int = DEFAULT_MAX_BATCH,
                 pad_idx: int | None = None) -> None:
        ort = _require("onnxruntime", "OnnxRunner")
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
        self.session = ort.InferenceSession(str(path), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [self.session.get_outputs()[0].name]
        raw = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        self.metadata: dict[str, Any] = json.loads(raw) if raw else {}
        self.pad_idx = int(self.metadata.get("pad_idx", 0) if pad_idx is None else pad_idx)
        self.vocab_size = self.metadata.get("vocab_size")
        self.max_batch = _check_max_batch(max_batch)
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
        return _run_grouped(token_ids, self._forward, num_classes=self.num_classes,
                            max_batch=self.max_batch, pad_idx=self.pad_idx,
                            vocab_size=self.vocab_size)


# ------------------------------------------------------------------ comparison


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (numerically stable)."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def compare_outputs(a_logits: np.ndarray, b_logits: np.ndarray) -> dict[str, float]:
    """How closely two backends agree on the same inputs.

    Parameters
    ----------
    a_logits, b_logits : numpy.ndarray, shape (N, C)
        Logits for the same rows in the same order.

    Returns
    -------
    dict
        ``n`` (rows), ``label_agreement`` (share of rows with the same argmax; 1.0 for N = 0),
        ``max_abs_prob_diff`` (largest absolute difference of softmax probabilities) and
        ``max_abs_logit_diff``.
    """
    a, b = np.asarray(a_logits), np.asarray(b_logits)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two [N, C] arrays of the same shape, got {a.shape} and {b.shape}")
    if a.shape[0] == 0:
        return {"n": 0, "label_agreement": 1.0, "max_abs_prob_diff": 0.0, "max_abs_logit_diff": 0.0}
    return {
        "n": int(a.shape[0]),
        "label_agreement": float(np.mean(a.argmax(axis=1) == b.argmax(axis=1))),
        "max_abs_prob_diff": float(np.abs(softmax(a) - softmax(b)).max()),
        "max_abs_logit_diff": float(np.abs(a.astype(np.float64) - b).max()),
    }


# ------------------------------------------------------------------ export


class DenseLogits(nn.Module):
    """Export wrapper: ``forward(tokens [B, T]) -> logits [B, C]`` via ``model.forward_dense``.

    Every row must fill all ``T >= 1`` steps (no padding); see :func:`batch_by_length`.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.forward_dense(tokens)


def _prepare(model: nn.Module) -> tuple[DenseLogits, dict[str, Any]]:
    """A CPU eval-mode copy wrapped for export (the caller's model is not touched) and metadata."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(model, "forward_dense"):
        raise TypeError(f"expected a models.TextClassifier, got {type(model).__name__}")
    clone = copy.deepcopy(model).cpu().eval()
    for p in clone.parameters():
        p.requires_grad_(False)
    meta = {
        "format": FORMAT,
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
        "model": config.name,
        "num_classes": int(config.num_classes),
        "vocab_size": int(config.vocab_size),
        "pad_idx": int(config.pad_idx),
        "config": asdict(config),
        "torch": torch.__version__,
    }
    return DenseLogits(clone).eval(), meta


def _example(meta: dict[str, Any], batch: int, width: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, meta["vocab_size"], (batch, width), generator=g)


# (batch, time) shapes every export must reproduce: one step, short (below the CNN kernels), long
_CHECK_SHAPES: tuple[tuple[int, int], ...] = ((1, 1), (4, 2), (2, 3), (5, 17), (1, 40))


def _verify(wrapper: DenseLogits, run: Callable[[np.ndarray], np.ndarray],
            meta: dict[str, Any], what: str, atol: float = 1e-4) -> None:
    worst = 0.0
    with torch.inference_mode():
        for i, (b, t) in enumerate(_CHECK_SHAPES):
            x = _example(meta, b, t, seed=i + 1)
            expected = wrapper(x).numpy()
            got = run(x.numpy())
            if got.shape != expected.shape:
                raise RuntimeError(f"{what} returned shape {got.shape} for input [{b}, {t}], "
                                   f"expected {expected.shape}")
            worst = max(worst, float(np.abs(got - expected).max()))
    if worst > atol:
        raise RuntimeError(f"{what} does not reproduce the model: max |logit diff| {worst:.2e} > {atol}")
    logger.debug("%s verified on %d shapes (max |logit diff| %.2e)", what, len(_CHECK_SHAPES), worst)


@contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the known, harmless warnings of tracing RNNs and of the legacy ONNX exporter.

    Torch's own modules check shapes in Python (``TracerWarning``; the trace is verified on other
    shapes instead), TorchScript and the legacy exporter are deprecated, and the exporter warns
    about RNN batch sizes (covered by the verification) and unfoldable slices.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"torch\.nn\.")
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX export",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        warnings.filterwarnings("ignore", message=r"Exporting a model to ONNX with a batch_size other than 1")
        warnings.filterwarnings("ignore", message=r"Constant folding - Only steps=1")
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                                category=FutureWarning)
        yield


def export_torchscript(model: nn.Module, path: str | Path) -> Path:
    """Trace ``model.forward_dense`` to a TorchScript file with dynamic batch and time axes.

    Parameters
    ----------
    model : models.TextClassifier
        Exported from a CPU eval-mode copy; the model itself is not changed.
    path : str or Path
        Output file (conventionally ``.pt``); parent directories are created.

    Returns
    -------
    Path
        ``path``. The file holds ``forward(tokens [B, T] int64) -> logits [B, C] float32`` and,
        as the extra file ``nlp_pp.json``, the metadata read by :class:`TorchScriptRunner`.

    Raises
    ------
    RuntimeError
        If the traced module does not reproduce the model on the check shapes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper, meta = _prepare(model)
    with _quiet_export():
        with torch.no_grad():
            traced = torch.jit.trace(wrapper, (_example(meta, 3, 7),), check_trace=False)
        _verify(wrapper, lambda x: traced(torch.from_numpy(x)).numpy(), meta, "TorchScript trace")
        torch.jit.save(traced, str(path), _extra_files={_TS_EXTRA: json.dumps(meta)})
    logger.info("exported %s to TorchScript %s", meta["model"], path)
    return path


def export_onnx(model: nn.Module, path: str | Path, *, opset: int | None = None,
                dynamo: bool = False, verify: bool = True) -> Path:
    """Export ``model.forward_dense`` to ONNX with dynamic batch and time axes.

    Parameters
    ----------
    model : models.TextClassifier
        Exported from a CPU eval-mode copy; the model itself is not changed.
    path : str or Path
        Output file (conventionally ``.onnx``); parent directories are created.
    opset : int, optional
        ONNX opset; default: the exporter's default (20 with torch 2.13).
    dynamo : bool
        Use the ``torch.export``-based exporter instead of the TorchScript-based one. With torch
        2.13 it fails for RNN, bidirectional and pooled recurrent models and for the hybrid with
        several layers (see the module docstring); kept for the day the legacy one is removed.
    verify : bool
        Run the file with ONNX Runtime on several shapes and compare with the eager model
        (skipped, with a debug message, if onnxruntime is not installed).

    Returns
    -------
    Path
        ``path``: input ``tokens [batch, time]`` int64, output ``logits [batch, C]`` float32,
        metadata (JSON under the ``nlp_pp`` key of ``metadata_props``) read by :class:`OnnxRunner`.

    Raises
    ------
    ConfigError
        If the ``onnx`` package (or ``onnxscript`` with ``dynamo=True``) is missing.
    RuntimeError
        If the exported graph does not reproduce the model.
    """
    onnx = _require("onnx", "ONNX export")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper, meta = _prepare(model)
    example = _example(meta, 3, 7)
    with _quiet_export():
        if dynamo:
            _require("onnxscript", "ONNX export with dynamo=True")
            dim = torch.export.Dim.DYNAMIC
            torch.onnx.export(wrapper, (example,), str(path), input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAME], opset_version=opset, dynamo=True,
                              external_data=False, dynamic_shapes={"tokens": {0: dim, 1: dim}})
        else:
            torch.onnx.export(wrapper, (example,), str(path), input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAME], opset_version=opset, dynamo=False,
                              do_constant_folding=True,
                              dynamic_axes={INPUT_NAME: {0: "batch", 1: "time"},
                                            OUTPUT_NAME: {0: "batch"}})
    proto = onnx.load(str(path))
    meta["opset"] = int(next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")))
    meta["exporter"] = "dynamo" if dynamo else "torchscript"
    _set_metadata(proto, meta)
    onnx.save(proto, str(path))
    if verify:
        try:
            ort = importlib.import_module("onnxruntime")
        except ImportError:
            logger.debug("onnxruntime not installed; %s not verified", path)
        else:
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            _verify(wrapper, lambda x: sess.run(None, {INPUT_NAME: x})[0], meta, f"ONNX export {path.name}")
    logger.info("exported %s to ONNX %s (opset %d, %s exporter)", meta["model"], path,
                meta["opset"], meta["exporter"])
    return path


def _set_metadata(proto: Any, meta: dict[str, Any]) -> None:
    for prop in list(proto.metadata_props):
        if prop.key == METADATA_KEY:
            proto.metadata_props.remove(prop)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)


def _quantizer_noise(record: logging.LogRecord) -> bool:
    """Drop two known root-logger warnings of ``quantize_dynamic``.

    It always suggests ``quant_pre_process`` (whose symbolic shape inference fails on the CNN
    graph, and which brings no accuracy gain here) and reports the CNN's integer ``Slice`` of
    shape values as "unsupported type to quantize" (correct: it must stay int64).
    """
    msg = record.getMessage()
    return not (msg.startswith("Please consider to run pre-processing before quantization")
                or msg.startswith("Inference failed or unsupported type to quantize"))


def quantize_onnx_int8(src: str | Path, dst: str | Path, *, per_channel: bool = False,
                       quantize_conv: bool = False) -> Path:
    """Dynamic int8 quantisation of an exported model (``onnxruntime.quantization.quantize_dynamic``).

    Weights are stored as int8 (``QuantType.QInt8``); activations are quantised to uint8 at run
    time, per tensor. With ONNX Runtime 1.32 this covers:

    * ``Gemm``/``MatMul`` (every ``nn.Linear``) -> ``MatMulInteger``;
    * ``Gather`` (``nn.Embedding``) -> int8 table + ``DequantizeLinear`` (4x smaller table, which
      is most of the file);
    * ``LSTM`` (LSTM models, the hybrid's LSTM branch) -> ``DynamicQuantizeLSTM``;
    * ``GRU`` and ``RNN`` are *not* quantised (ONNX Runtime has no integer kernels for them):
      those cells stay float32, only the embedding and the head are int8;
    * ``Conv`` (CNN, the hybrid's CNN branch) stays float32 unless ``quantize_conv``: its
      ``ConvInteger`` kernel made a CNN 2.4x *slower* than float32 in a single-thread check, for
      about 15 % smaller files and no accuracy gain.

    Parameters
    ----------
    src, dst : str or Path
        An ONNX file from :func:`export_onnx`, and the output file.
    per_channel : bool
        Per-output-channel weight scales (slightly more accurate, slightly larger).
    quantize_conv : bool
        Also quantise ``Conv`` (to ``ConvInteger``).

    Returns
    -------
    Path
        ``dst``, with ``src``'s metadata plus ``"quantization"`` (e.g. ``"dynamic-int8"``) and
        ``"quantized_ops"``.

    Raises
    ------
    ConfigError
        If onnxruntime or onnx is missing, or ``src`` does not exist.
    """
    _require("onnxruntime", "int8 quantisation")
    onnx = _require("onnx", "int8 quantisation")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise ConfigError(f"ONNX file not found: {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    source = onnx.load(str(src), load_external_data=False)
    raw = next((p.value for p in source.metadata_props if p.key == METADATA_KEY), None)
    meta = json.loads(raw) if raw else {}
    op_types = ["Gather", "MatMul", "Gemm", "LSTM"] + (["Conv"] if quantize_conv else [])
    root = logging.getLogger()
    root.addFilter(_quantizer_noise)
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                         op_types_to_quantize=op_types)
    finally:
        root.removeFilter(_quantizer_noise)
    proto = onnx.load(str(dst))
    meta["quantization"] = "dynamic-int8" + ("-per-channel" if per_channel else "")
    meta["quantized_ops"] = op_types
    _set_metadata(proto, meta)
    onnx.save(proto, str(dst))
    logger.info("quantised %s to int8 %s (%.0f -> %.0f KiB)", src, dst,
                src.stat().st_size / 1024, dst.stat().st_size / 1024)
    return dst
