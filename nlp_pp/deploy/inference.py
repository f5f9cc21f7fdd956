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

import contextlib
import importlib
import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..errors import ConfigError, first_line
from ..training.threads import MAX_THREADS, adapt  # one bound for every thread count

METADATA_KEY = "nlp_pp"
"""ONNX ``metadata_props`` key / TorchScript extra-file name (``nlp_pp.json``) of an exported model's
metadata."""
DEFAULT_MAX_BATCH = 256
ONNX_MAX_BATCH = 64
"""Rows per ONNX Runtime call: a recurrent graph's per-step working set (rows x hidden, and every step's
input projection) stays in the CPU's caches; larger calls were slower per message on one thread
(BENCHMARKS.md, inference: "predict")."""
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
        adapt()  # the thread count follows the CPU other processes take (auto mode)
        out[idx] = forward(tokens)
    return out


# ------------------------------------------------------------------ runners


class LogitsRunner:
    """Base of the backends: token-id sequences -> logits ``[N, C]`` (float32, input order).

    A backend sets ``num_classes``, ``pad_idx``, ``vocab_size`` and ``max_batch`` and implements
    :meth:`_forward` on one dense batch ``[B, T]`` of int64 ids; :meth:`logits` groups the sequences
    by exact length (no padding work) and runs them, inside :meth:`_context` (torch's inference mode
    for the torch backends). Empty sequences are read as ``[PAD]``.
    """

    num_classes: int
    pad_idx: int = 0
    vocab_size: int | None = None
    max_batch: int = DEFAULT_MAX_BATCH

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _context(self):
        return contextlib.nullcontext()

    def _probe_classes(self) -> int:
        """The number of classes, from one forward pass on a single ``[PAD]`` (when nothing says it)."""
        with self._context():
            return int(self._forward(np.full((1, 1), self.pad_idx, np.int64)).shape[1])

    def logits(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits ``[N, C]`` float32 in input order."""
        with self._context():
            return _run_grouped(
                token_ids,
                self._forward,
                num_classes=self.num_classes,
                max_batch=self.max_batch,
                pad_idx=self.pad_idx,
                vocab_size=self.vocab_size,
            )


class TorchRunner(LogitsRunner):
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
        self.num_classes = int(cfg.num_classes) if cfg is not None else self._probe_classes()

    def _context(self):
        return torch.inference_mode()

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(tokens).to(self.device)
        if hasattr(self.model, "forward_dense"):
            out = self.model.forward_dense(x)
        else:
            out = self.model(x, torch.full((x.size(0),), x.size(1), dtype=torch.long))
        return out.float().cpu().numpy()


class TorchScriptRunner(LogitsRunner):
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
            self.num_classes = self._probe_classes()

    def _context(self):
        return torch.inference_mode()

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        return self.module(torch.from_numpy(tokens)).numpy()


# Operators the exporter writes (torch's ONNX exporter for every model family, and
# quantize_onnx_int8's dynamic int8 graphs), plus a few elementwise and shape operators of the same
# kind (Mod: wide_gru hashes token bigrams inside the graph). Nothing else is run: no control flow
# (Loop, If, Scan run subgraphs for as long as a crafted graph says), no custom or contrib operators
# beyond the int8 LSTM, no local functions.
ONNX_OPS: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "Add", "Cast", "Concat", "Constant", "ConstantOfShape", "Conv", "ConvInteger", "DequantizeLinear",
            "Div", "DynamicQuantizeLinear", "Equal", "Flatten", "GRU", "Gather", "Gemm", "Identity", "LSTM",
            "LessOrEqual", "MatMul", "MatMulInteger", "Max", "MaxPool", "Mod", "Mul", "Not", "Or", "Pad",
            "RNN", "Range", "ReduceMax", "ReduceMean", "ReduceSum", "Relu", "Reshape", "Shape", "Sigmoid",
            "Slice", "Softmax", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze", "Where",
        }
    ),
    "com.microsoft": frozenset({"DynamicQuantizeLSTM"}),
}  # fmt: skip
ONNX_DOMAINS = {"ai.onnx": ""}


def check_threads(threads: Any, what: str = "threads") -> int:
    """``threads`` as an int in [1, :data:`MAX_THREADS`], or a ConfigError."""
    if (
        isinstance(threads, bool)
        or not isinstance(threads, (int, np.integer))
        or not 1 <= threads <= MAX_THREADS
    ):
        raise ConfigError(
            f"{what} must be an integer from 1 to {MAX_THREADS} (this machine's cores; got {threads!r})"
        )
    return int(threads)


def _graph_tensors(graph: Any) -> Iterator[tuple[str, Any]]:
    """Every tensor a graph holds, with where it is: initializers, sparse initializers and tensors in
    node attributes, in this graph and every subgraph."""
    for t in graph.initializer:
        yield f"initializer {t.name!r}", t
    for st in graph.sparse_initializer:
        yield f"sparse initializer {st.values.name!r}", st.values
        yield f"sparse initializer {st.values.name!r}", st.indices
    for node in graph.node:
        for a in node.attribute:
            where = f"attribute {a.name!r} of node {node.name or node.op_type!r}"
            if a.HasField("t"):
                yield where, a.t
            for t in a.tensors:
                yield where, t
            for st in (*([a.sparse_tensor] if a.HasField("sparse_tensor") else []), *a.sparse_tensors):
                yield where, st.values
                yield where, st.indices
            for g in (*([a.g] if a.HasField("g") else []), *a.graphs):
                yield from _graph_tensors(g)


def _graph_nodes(graph: Any) -> Iterator[Any]:
    for node in graph.node:
        yield node
        for a in node.attribute:
            for g in (*([a.g] if a.HasField("g") else []), *a.graphs):
                yield from _graph_nodes(g)


def check_onnx_model(proto: Any, where: str) -> None:
    """Refuse an ONNX model that is not what :func:`~nlp_pp.deploy.graphs.export_onnx` writes.

    * no tensor may keep its data outside the file (``data_location=EXTERNAL``): ONNX Runtime would
      read any file the ``location`` names -- ``/etc/passwd``, ``../x``, a symbolic link -- into the
      model's weights;
    * every operator is one the exporter writes (:data:`ONNX_OPS`): no control flow (``Loop``,
      ``If``, ``Scan``), no unknown domains, no model-local functions.

    Raises
    ------
    RunError
        One line naming ``where`` and the first problem.
    """
    from ..errors import RunError

    for what, t in _graph_tensors(proto.graph):
        if t.data_location == 1 or len(t.external_data):  # TensorProto.EXTERNAL
            raise RunError(
                f"{where}: the {what} keeps its data in an external file; an nlp_pp export holds all its "
                "weights inside the .onnx file (refused: it could read any file on this machine)"
            )
    if len(proto.functions):
        raise RunError(f"{where} defines its own ONNX functions, which an nlp_pp export never has: refused")
    for node in _graph_nodes(proto.graph):
        domain = ONNX_DOMAINS.get(node.domain, node.domain)
        if node.op_type not in ONNX_OPS.get(domain, ()):
            name = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
            raise RunError(
                f"{where} uses the operator {name}, which the nlp_pp exporter never writes: refused"
            )


class OnnxRunner(LogitsRunner):
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
    max_length : int
        The longest sequence it will be given (the classifier's context length): the graph is run
        once on ``max_batch`` rows of it when loaded.

    Raises
    ------
    ConfigError
        If onnxruntime is not installed, the file does not exist or ``threads`` is out of range.
    RunError
        If the graph is not one :func:`export_onnx` writes: a tensor with external data, an operator
        the exporter never writes (:func:`check_onnx_model`), other inputs or outputs than int64
        ids -> float32 logits, or it fails or gives non-finite logits on the probe batches.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int = 1,
        max_batch: int = ONNX_MAX_BATCH,
        pad_idx: int | None = None,
        max_length: int = 64,
    ) -> None:
        from ..errors import RunError

        ort = require("onnxruntime", "OnnxRunner")
        onnx = require("onnx", "OnnxRunner")
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"ONNX file not found: {path}")
        threads = check_threads(threads)
        self.max_batch = check_max_batch(max_batch)
        # The bytes that are checked are the bytes that run: the session is made from them, not from
        # the path, so it has no directory to resolve external data against either.
        blob = path.read_bytes()
        try:
            proto = onnx.load_model_from_string(blob)
        except Exception as e:  # protobuf's DecodeError and friends
            raise RunError(
                f"{path} cannot be loaded as a model (not ONNX: {e.__class__.__name__}): corrupt"
            ) from None
        check_onnx_model(proto, str(path))
        del proto
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # every length group is a new input shape: a memory plan per shape is work that is never reused
        opts.enable_mem_pattern = False
        try:
            self.session = ort.InferenceSession(blob, sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for a damaged graph
            raise RunError(f"{path} cannot be loaded as a model ({e.__class__.__name__}): corrupt") from None
        self.threads = threads
        self.metadata, self.pad_idx, self.vocab_size = self._check_io(path, pad_idx)
        self.num_classes = self._probe(path, max_length)

    def _check_io(self, path: Path, pad_idx: int | None) -> tuple[dict[str, Any], int, int | None]:
        """The graph's one input (int64 token ids [batch, time]), its logits output and its metadata."""
        from ..errors import RunError

        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(int64)" or len(inputs[0].shape) != 2:
            got = ", ".join(f"{i.name} {i.type} {i.shape}" for i in inputs) or "none"
            raise RunError(
                f"{path} must take one input of int64 token ids [batch, time] (it takes {got}): "
                "not an nlp_pp graph"
            )
        if not outputs or outputs[0].type != "tensor(float)" or len(outputs[0].shape) != 2:
            got = f"{outputs[0].type} {outputs[0].shape}" if outputs else "nothing"
            raise RunError(f"{path} must return float32 logits [batch, classes] (it returns {got})")
        self.input_name = inputs[0].name
        self.output_names = [outputs[0].name]
        raw = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        try:
            meta = json.loads(raw) if raw else {}
        except (ValueError, RecursionError):
            meta = None
        if not isinstance(meta, dict):
            raise RunError(f"{path} has unreadable nlp_pp metadata: corrupt")
        vocab_size = meta.get("vocab_size")
        if vocab_size is not None and not _count(vocab_size, low=2):
            raise RunError(f"{path}: its metadata's vocab_size {vocab_size!r} is not a vocabulary size")
        pad = meta.get("pad_idx", 0) if pad_idx is None else pad_idx
        if not _count(pad) or (vocab_size is not None and pad >= vocab_size):
            raise RunError(f"{path}: its pad_idx {pad!r} is not a token id of its vocabulary")
        return meta, int(pad), None if vocab_size is None else int(vocab_size)

    def _probe(self, path: Path, max_length: int) -> int:
        """Run the graph once on a small and once on the largest batch it will get (``max_batch`` rows
        of ``max_length`` tokens): its class count, and a damaged or hostile graph (wrong shapes,
        non-finite logits, impossible allocations) refused now rather than on every request."""
        from ..errors import RunError

        classes = None
        length = max(1, int(max_length))
        for b, t in ((1, 1), (2, min(3, length)), (self.max_batch, length)):
            try:
                out = self._forward(np.full((b, t), self.pad_idx, dtype=np.int64))
            except Exception as e:  # onnxruntime's own error types
                raise RunError(
                    f"{path} fails on a [{b}, {t}] batch ({first_line(e, with_type=True, limit=120)}): "
                    "corrupt"
                ) from None
            if (
                not isinstance(out, np.ndarray)
                or out.dtype != np.float32
                or out.ndim != 2
                or out.shape[0] != b
                or out.shape[1] < 2
                or (classes is not None and out.shape[1] != classes)
                or not np.isfinite(out).all()
            ):
                got = getattr(out, "shape", type(out).__name__)
                raise RunError(
                    f"{path} returns {got} for a [{b}, {t}] batch, not finite logits [{b}, classes]"
                )
            classes = out.shape[1]
        return int(classes)

    def _forward(self, tokens: np.ndarray) -> np.ndarray:
        return self.session.run(self.output_names, {self.input_name: tokens})[0]


def _count(value: Any, low: int = 0) -> bool:
    """An int (not a bool, not a float) >= ``low``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low
