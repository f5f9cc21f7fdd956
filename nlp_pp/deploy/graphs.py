"""Model-level export: TorchScript, ONNX and int8 ONNX files of a classifier's dense path.

Only the classifiers' *equal-length* path is exported: ``forward_dense(tokens [B, T]) -> logits
[B, C]`` (every row fills all ``T`` steps). Packed sequences, which the eager recurrent models use
for padded batches, do not export; the runners of :mod:`nlp_pp.deploy.inference` group sequences by
exact length instead, so no batch is ever padded, which reproduces the eager model for every
model family up to float rounding.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from scipy.special import softmax

from ..errors import ConfigError
from .inference import METADATA_KEY, TS_EXTRA, require

logger = logging.getLogger(__name__)

FORMAT = "nlp_pp.logits/1"
"""Format tag written into every exported file's metadata."""
INPUT_NAME = "tokens"
OUTPUT_NAME = "logits"

__all__ = ["DenseLogits", "compare_outputs", "export_onnx", "export_torchscript", "quantize_onnx_int8"]


# ------------------------------------------------------------------ comparison


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
        "max_abs_prob_diff": float(
            np.abs(softmax(a.astype(np.float64), axis=1) - softmax(b.astype(np.float64), axis=1)).max()
        ),
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


def _verify(
    wrapper: DenseLogits,
    run: Callable[[np.ndarray], np.ndarray],
    meta: dict[str, Any],
    what: str,
    atol: float = 1e-4,
) -> None:
    worst = 0.0
    with torch.inference_mode():
        for i, (b, t) in enumerate(_CHECK_SHAPES):
            x = _example(meta, b, t, seed=i + 1)
            expected = wrapper(x).numpy()
            got = run(x.numpy())
            if got.shape != expected.shape:
                raise RuntimeError(
                    f"{what} returned shape {got.shape} for input [{b}, {t}], expected {expected.shape}"
                )
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
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings(
            "ignore", message=r".*legacy TorchScript-based ONNX export", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        warnings.filterwarnings("ignore", message=r"Exporting a model to ONNX with a batch_size other than 1")
        warnings.filterwarnings("ignore", message=r"Constant folding - Only steps=1")
        warnings.filterwarnings(
            "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
        )
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
        torch.jit.save(traced, str(path), _extra_files={TS_EXTRA: json.dumps(meta)})
    logger.debug("exported %s to TorchScript %s", meta["model"], path)
    return path


def export_onnx(
    model: nn.Module, path: str | Path, *, opset: int | None = None, dynamo: bool = False, verify: bool = True
) -> Path:
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
    onnx = require("onnx", "ONNX export")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper, meta = _prepare(model)
    example = _example(meta, 3, 7)
    with _quiet_export():
        if dynamo:
            require("onnxscript", "ONNX export with dynamo=True")
            dim = torch.export.Dim.DYNAMIC
            torch.onnx.export(
                wrapper,
                (example,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=opset,
                dynamo=True,
                external_data=False,
                dynamic_shapes={"tokens": {0: dim, 1: dim}},
            )
        else:
            torch.onnx.export(
                wrapper,
                (example,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                opset_version=opset,
                dynamo=False,
                do_constant_folding=True,
                dynamic_axes={INPUT_NAME: {0: "batch", 1: "time"}, OUTPUT_NAME: {0: "batch"}},
            )
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
    logger.debug(
        "exported %s to ONNX %s (opset %d, %s exporter)", meta["model"], path, meta["opset"], meta["exporter"]
    )
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
    return not (
        msg.startswith("Please consider to run pre-processing before quantization")
        or msg.startswith("Inference failed or unsupported type to quantize")
    )


def quantize_onnx_int8(
    src: str | Path, dst: str | Path, *, per_channel: bool = False, quantize_conv: bool = False
) -> Path:
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
        If onnxruntime or onnx is missing, ``src`` does not exist, or ``quantize_conv`` is asked for
        with an onnxruntime that has no CPU kernel for the resulting ``ConvInteger`` (1.23.2, the
        newest release for Python 3.10, has none for int8 weights); ``dst`` is not left behind then.
    """
    ort = require("onnxruntime", "int8 quantisation")
    onnx = require("onnx", "int8 quantisation")
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
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            op_types_to_quantize=op_types,
        )
    finally:
        root.removeFilter(_quantizer_noise)
    if quantize_conv:
        try:
            ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
        except Exception as e:
            if "ConvInteger" not in str(e):
                raise
            dst.unlink(missing_ok=True)
            raise ConfigError(
                f"onnxruntime {ort.__version__} cannot run the int8 Conv (ConvInteger) of this model: "
                f"quantise without quantize_conv, or use a newer onnxruntime"
            ) from None
    proto = onnx.load(str(dst))
    meta["quantization"] = "dynamic-int8" + ("-per-channel" if per_channel else "")
    meta["quantized_ops"] = op_types
    _set_metadata(proto, meta)
    onnx.save(proto, str(dst))
    logger.info(  # file names only: an export quantises inside its temporary directory
        "quantised %s to int8 %s (%.0f -> %.0f KiB)",
        src.name,
        dst.name,
        src.stat().st_size / 1024,
        dst.stat().st_size / 1024,
    )
    return dst
