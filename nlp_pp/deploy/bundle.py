"""An export directory: one self-contained folder that classifies raw text outside this project.

``python pipeline.py export --run DIR --out DIR`` writes::

    manifest.json        format, model, backend, labels, positive label, threshold, temperature,
                         preprocessing, context length, members (ensembles), package versions,
                         the source run and its metrics, and the SHA-256 of every other file
    vocab.json           the vocabulary (neural models)
    models/<name>.onnx   each neural model's dense path (or .pt for TorchScript; int8 with --quantize)
    models/baseline.npz  the TF-IDF baseline as arrays (when it is the model or an ensemble member)

:func:`read_bundle` (through :func:`nlp_pp.load_classifier`) verifies every file's SHA-256 before
reading it. An ONNX export holds JSON, NumPy arrays (read without pickle) and ONNX graphs, which
describe computations and cannot run Python code; a TorchScript export (``--format torchscript``)
holds TorchScript programs and is read only when the caller says it trusts it
(``trust_torchscript=True``, ``--trust-torchscript``).
"""

from __future__ import annotations

import errno
import json
import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from ..errors import ConfigError, RunError
from ..files import atomic_write, read_json
from ..options import ThresholdPolicy
from ..results import ENSEMBLE, Calibration, Metrics, Threshold
from ..text.preprocess import PreprocessConfig
from ..training.rundir import BASELINE_FILE, open_run
from ..vectors.vocab import Vocab
from .classifier import (
    BaselineScorer,
    Classifier,
    EnsembleScorer,
    NeuralScorer,
    RunReader,
    default_model,
)

log = logging.getLogger(__name__)

FORMAT = "nlp_pp.export/1"
FORMATS = ("onnx", "torchscript")
QUANTIZE = ("int8",)


def _sha256(path: Path) -> str:
    from ..cache import file_digest

    return file_digest(path)


def export_bundle(
    run_dir: str | Path,
    out: str | Path,
    *,
    model: str | None = None,
    fmt: str = "onnx",
    quantize: str | None = None,
) -> Path:
    """Write the export directory ``out`` for ``model`` of a run (default: the best on validation).

    ``out`` must not exist yet (nothing is ever overwritten); it appears only once complete.
    """
    from ..resources import package_versions
    from .graphs import export_onnx, export_torchscript, quantize_onnx_int8

    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if quantize is not None and (quantize not in QUANTIZE or fmt != "onnx"):
        raise ConfigError("--quantize int8 is available for --format onnx only")
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise ConfigError(f"--out {out} exists; choose a new directory (an export is never overwritten)")
    run = open_run(run_dir)
    reader = RunReader(run, device=_cpu())
    name = model or default_model(run)
    clf = reader.classifier(name)  # checks every file of the model before anything is written
    members = _members(reader, name)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise ConfigError(f"--out {out}: cannot create it ({e.strerror or e.__class__.__name__})") from None
    try:
        (tmp / "models").mkdir()
        entries = []
        for member in members:
            part = reader.part(member)
            temperature, neural = part.calibration.temperature, part.neural
            if neural is None:
                shutil.copyfile(run / "models" / BASELINE_FILE, tmp / "models" / BASELINE_FILE)
                entries.append(
                    {
                        "name": member,
                        "kind": "baseline",
                        "file": f"models/{BASELINE_FILE}",
                        "temperature": temperature,
                    }
                )
                continue
            net = neural.runner.model
            if fmt == "torchscript":
                file = f"models/{member}.pt"
                export_torchscript(net, tmp / file)
            else:
                file = f"models/{member}.onnx"
                export_onnx(net, tmp / file)
                if quantize:
                    quantized = f"models/{member}.int8.onnx"
                    quantize_onnx_int8(tmp / file, tmp / quantized)
                    (tmp / file).unlink()
                    file = quantized
            entries.append({"name": member, "kind": "neural", "file": file, "temperature": temperature})
        if any(e["kind"] == "neural" for e in entries):
            shutil.copyfile(run / "vocab.json", tmp / "vocab.json")
        metrics = (
            Metrics.from_dict(read_json(run / "metrics.json"), where=str(run / "metrics.json"))
            if (run / "metrics.json").is_file()
            else Metrics()
        )
        manifest = {
            "format": FORMAT,
            "created": datetime.now().isoformat(timespec="seconds"),
            "model": name,
            "backend": fmt,
            "quantize": quantize,
            "labels": clf.labels,
            "positive_label": clf.positive_label,
            "threshold": clf.threshold,
            "temperature": clf.temperature,
            "preprocess": clf.preprocess_config.to_dict(),
            "context_length": reader.info.context_length,
            "truncating": reader.info.truncating,
            "members": entries,
            "weights": _weights(reader, name),
            "versions": package_versions(),
            "source": {"run": str(run.resolve()), "metrics": _model_metrics(metrics, name)},
            "files": {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()},
        }
        with atomic_write(tmp / "manifest.json") as f:
            f.write(json.dumps(manifest, ensure_ascii=False, indent=2, allow_nan=False))
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("exported %s (%s%s) to %s", name, fmt, f", {quantize}" if quantize else "", out)
    return out


def _cpu():
    import torch

    return torch.device("cpu")


def _members(reader: RunReader, name: str) -> list[str]:
    if name == ENSEMBLE:
        return list(reader.result(ENSEMBLE).members)
    return [name]


def _weights(reader: RunReader, name: str) -> list[float] | None:
    return list(reader.result(ENSEMBLE).weights) if name == ENSEMBLE else None


def _model_metrics(metrics: Metrics, name: str) -> dict:
    """The validation and test scores of ``name`` in the run's metrics.json (empty if unfinished)."""
    result = metrics.result(name)
    if result is None:
        return {}
    d = result.to_dict()
    return {k: d[k] for k in ("val", "test", "test_at_threshold", "calibration", "threshold") if k in d}


def _decisions(manifest: dict, root: Path) -> tuple[Calibration, Threshold | None]:
    """The manifest's temperature (finite, > 0) and threshold (in [0, 1] or none), typed."""
    temperature, threshold = manifest["temperature"], manifest.get("threshold")
    try:
        if isinstance(temperature, bool) or isinstance(threshold, bool):
            raise ConfigError("booleans are not numbers")
        calibration = Calibration(temperature=float(temperature))
        decision = None
        if threshold is not None:
            value = float(threshold)
            decision = Threshold(
                ThresholdPolicy("fixed", value), value, True, "the threshold saved in the export"
            )
    except (ConfigError, TypeError, ValueError):
        raise RunError(f"the saved temperature or threshold in {root} is out of range: corrupt") from None
    return calibration, decision


# --------------------------------------------------------------------------- reading


def read_bundle(path: str | Path, *, threads: int = 1, trust_torchscript: bool = False) -> Classifier:
    """The classifier of an export directory, every file checked against the manifest's SHA-256 first.

    A TorchScript member is a program and runs code when loaded: it is refused unless
    ``trust_torchscript`` (the manifest's own digests cannot vouch for a file's origin).
    """
    root = Path(path)
    manifest = read_json(root / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise RunError(f"{root} is not an export this nlp_pp reads (format {found!r}, expected {FORMAT!r})")
    try:
        files = dict(manifest["files"])
        for rel, digest in files.items():
            p = (root / rel).resolve()
            if root.resolve() not in p.parents:
                raise RunError(f"{root}/manifest.json names a file outside the export: {rel}")
            if not p.is_file() or _sha256(p) != digest:
                raise RunError(
                    f"{root}/{rel} is missing or changed since the export (SHA-256 differs): corrupt"
                )
        labels = [str(x) for x in manifest["labels"]]
        pre = PreprocessConfig.from_saved(manifest["preprocess"])
        members = list(manifest["members"])
        name = str(manifest["model"])
        weights = [float(w) for w in manifest["weights"]] if name == ENSEMBLE else [1.0]
        if not members or len(weights) != len(members):
            raise ValueError("members and weights disagree")
        calibration, decision = _decisions(manifest, root)
        scorers = [
            (
                _member_scorer(root, m, manifest, pre, labels, threads, files, trust_torchscript),
                float(m["temperature"]),
            )
            for m in members
        ]
    except RunError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise RunError(f"{root}/manifest.json is corrupt ({e.__class__.__name__}: {e})") from None
    if name == ENSEMBLE:
        scorer, neural = EnsembleScorer(scorers, weights), None
    else:
        scorer = scorers[0][0]
        neural = scorer if isinstance(scorer, NeuralScorer) else None
    source = {
        "export": str(root),
        "backend": manifest.get("backend"),
        "quantize": manifest.get("quantize"),
        "created": manifest.get("created"),
        "exported_from": manifest.get("source"),
        "exported_with": manifest.get("versions"),
    }
    return Classifier(
        name,
        labels,
        pre,
        scorer,
        calibration=calibration,
        decision=decision,
        positive_label=manifest.get("positive_label"),
        neural=neural,
        source=source,
    )


def _member_scorer(
    root: Path,
    member: dict,
    manifest: dict,
    pre: PreprocessConfig,
    labels: list[str],
    threads: int,
    files: dict,
    trust_torchscript: bool,
):
    from .inference import OnnxRunner, TorchScriptRunner

    rel = str(member["file"])
    for needed in (rel, *(() if member["kind"] == "baseline" else ("vocab.json",))):
        if needed not in files:
            raise RunError(f"{root}/manifest.json lists {needed} without its SHA-256: corrupt")
    if member["kind"] == "baseline":
        from ..training.baseline import TfidfBaseline

        return BaselineScorer(TfidfBaseline.load(root / rel), pre)
    onnx = rel.endswith(".onnx")
    if not onnx and not trust_torchscript:
        raise RunError(
            f"{root}/{rel} is a TorchScript program, which runs code when loaded: load it only if you "
            "trust its source (trust_torchscript=True; CLI: --trust-torchscript)"
        )
    vocab = Vocab.load(root / "vocab.json")
    try:
        runner = OnnxRunner(root / rel, threads=threads) if onnx else TorchScriptRunner(root / rel)
    except Exception as e:  # onnxruntime and torch.jit raise their own types for a damaged graph
        raise RunError(
            f"{root}/{rel} cannot be loaded as a model ({e.__class__.__name__}): corrupt"
        ) from None
    if runner.num_classes != len(labels) or (
        runner.vocab_size is not None and runner.vocab_size != len(vocab)
    ):
        raise RunError(f"{root}/{rel} does not match the export's labels or vocabulary")
    return NeuralScorer(runner, vocab, int(manifest["context_length"]), str(manifest["truncating"]), pre)
