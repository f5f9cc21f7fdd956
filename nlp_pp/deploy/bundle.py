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

import dataclasses
import logging
import math
import re
import reprlib
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from ..errors import ConfigError, RunError, shorten
from ..files import atomic_directory, read_json, write_json
from ..options import ThresholdPolicy
from ..results import ENSEMBLE, Calibration, Metrics, Threshold
from ..text.preprocess import PreprocessConfig
from ..training.rundir import BASELINE_FILE, open_run, saved_preprocessing
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
    if model is not None and not (isinstance(model, str) and model.strip()):
        raise ConfigError(f"--model must name a saved model (got {model!r}); leave it out for the best one")
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise ConfigError(f"--out {out} exists; choose a new directory (an export is never overwritten)")
    run = open_run(run_dir)
    if run.name.endswith(".partial"):
        log.warning(
            "%s is an unfinished run (.partial): the export holds a model of a run that may be resumed "
            "and change; finish it with --resume first if you can",
            run,
        )
    reader = RunReader(run, device=_cpu())
    name = model if model is not None else default_model(run)
    clf = reader.classifier(name)  # checks every file of the model before anything is written
    members = _members(reader, name)
    if quantize and not any(reader.part(m).neural is not None for m in members):
        raise ConfigError(
            f"--quantize int8 quantises neural networks; {name} has none (export it without --quantize)"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot create it ({e.strerror or e.__class__.__name__})") from None
    with atomic_directory(out, what="the export") as tmp:
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
        preprocess = saved_preprocessing(clf.preprocess_config, tmp)  # the list travels with it, hashed
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
            "decision": None if clf.decision is None else clf.decision.to_dict(),
            "temperature": clf.temperature,
            "preprocess": preprocess,
            "context_length": reader.info.context_length,
            "truncating": reader.info.truncating,
            "members": entries,
            "weights": _weights(reader, name),
            "versions": package_versions(),
            "source": {"run": run.resolve().name, "metrics": _model_metrics(metrics, name)},
            "files": file_digests(tmp),
        }
        write_json(tmp / "manifest.json", manifest)
    log.info("exported %s (%s%s) to %s", name, fmt, f", {quantize}" if quantize else "", out)
    return out


def file_digests(root: Path) -> dict[str, str]:
    """The SHA-256 of every file under ``root`` but ``manifest.json``, by relative POSIX path."""
    return {
        p.relative_to(root).as_posix(): _sha256(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() != "manifest.json"
    }


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


# --------------------------------------------------------------------------- reading

MAX_CONTEXT = 100_000
"""Longest context length an export may declare (tokens; a text is cut to ``max_chars`` characters first)."""
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
KINDS = ("neural", "baseline")


class _Bad(Exception):
    """Internal: what is wrong with a manifest, completing "manifest.json is corrupt: ..."."""


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{what} must be a non-empty string (got {_shown(value)})")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Bad(f"{what} must be a finite number (got {_shown(value)})")
    return float(value)


def _shown(value: Any) -> str:
    return shorten(reprlib.repr(value), 60)


def _relative(rel: Any, what: str) -> str:
    """A plain relative path inside the export (no absolute path, no ``..``, no backslashes)."""
    rel = _str(rel, what)
    parts = PurePosixPath(rel).parts
    if rel.startswith("/") or "\\" in rel or not parts or any(p in ("", ".", "..") for p in parts):
        raise _Bad(f"{what} {rel!r} is not a path inside the export")
    return rel


@dataclass(frozen=True)
class Member:
    """One model of an export: ``kind`` neural (an ONNX or TorchScript file) or baseline (arrays)."""

    name: str
    kind: str
    file: str
    temperature: float


def _decisions(
    temperature: Any, threshold: Any, decision: Any, where: str
) -> tuple[Calibration, Threshold | None]:
    """A saved temperature (finite, > 0) and threshold (in [0, 1] or none) as typed records; ``decision``
    is the full :class:`~nlp_pp.results.Threshold` an export of this version writes beside the value."""
    bad = _Bad(f"the saved temperature or threshold in {where} is out of range: corrupt")
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in (temperature,)) or (
        threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float)))
    ):
        raise bad
    try:
        calibration = Calibration(temperature=float(temperature))
        if threshold is None:
            return calibration, None
        if isinstance(decision, dict):
            full = Threshold.from_dict(decision, where=where)
            if full.value != float(threshold):
                raise bad
            return calibration, full
        return calibration, Threshold(
            ThresholdPolicy("fixed", float(threshold)),
            float(threshold),
            True,
            "the threshold saved in the export",
        )
    except (ConfigError, RunError):
        raise bad from None


@dataclass(frozen=True)
class Manifest:
    """``manifest.json`` of an export, every field checked (:meth:`from_dict`)."""

    model: str
    backend: str
    quantize: str | None
    labels: tuple[str, ...]
    positive_label: str | None
    decision: Threshold | None  # the threshold chosen on validation, with what it rests on
    calibration: Calibration
    preprocess: dict[str, Any]
    context_length: int
    truncating: str
    members: tuple[Member, ...]
    weights: tuple[float, ...]
    files: dict[str, str]
    created: str | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Any, where: str | Path) -> Manifest:
        """The manifest of the export ``where``; :class:`RunError` naming the first bad field."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            found = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise RunError(
                f"{where} is not an export this nlp_pp reads (format {_shown(found)}, expected {FORMAT!r})"
            )
        try:
            return cls._parse(d)
        except _Bad as e:
            raise RunError(f"{where}/manifest.json is corrupt: {e}") from None
        except KeyError as e:
            raise RunError(f"{where}/manifest.json is corrupt: it lacks {e}") from None

    @classmethod
    def _parse(cls, d: dict) -> Manifest:
        files = d["files"]
        if not isinstance(files, dict):
            raise _Bad("files must map each file to its SHA-256")
        for rel, digest in files.items():
            _relative(rel, "a file")
            if not isinstance(digest, str) or not _HEX64.match(digest):
                raise _Bad(f"the SHA-256 of {rel} is not 64 hexadecimal digits")
        labels = d["labels"]
        if not isinstance(labels, list) or len(labels) < 2:
            raise _Bad(f"labels must be a list of at least two strings (got {_shown(labels)})")
        labels = tuple(_str(x, "every label") for x in labels)
        if len(set(labels)) != len(labels):
            raise _Bad("labels lists the same label twice")
        positive = d.get("positive_label")
        if positive is not None and (len(labels) != 2 or positive not in labels):
            raise _Bad(f"positive_label {_shown(positive)} is not one of the two labels")
        model = _str(d["model"], "model")
        backend = d.get("backend", "onnx")
        if backend not in FORMATS:
            raise _Bad(f"backend must be one of {', '.join(FORMATS)} (got {_shown(backend)})")
        quantize = d.get("quantize")
        if quantize is not None and quantize not in QUANTIZE:
            raise _Bad(f"quantize must be null or int8 (got {_shown(quantize)})")
        calibration, decision = _decisions(
            d["temperature"], d.get("threshold"), d.get("decision"), "the manifest"
        )
        context = d["context_length"]
        if isinstance(context, bool) or not isinstance(context, int) or not 1 <= context <= MAX_CONTEXT:
            raise _Bad(f"context_length must be an integer in [1, {MAX_CONTEXT}] (got {_shown(context)})")
        truncating = d.get("truncating", "post")
        if truncating not in ("pre", "post"):
            raise _Bad(f"truncating must be pre or post (got {_shown(truncating)})")
        members = cls._members(d["members"], files)
        if model != ENSEMBLE and (len(members) != 1 or members[0].name != model):
            raise _Bad(f"a {model} export has one member, {model}")
        weights = cls._weights(d.get("weights"), model, len(members))
        if any(m.kind == "neural" for m in members) and "vocab.json" not in files:
            raise _Bad("it lists vocab.json without its SHA-256")
        preprocess = cls._preprocess(d["preprocess"], files)
        optional = {k: d.get(k) for k in ("created", "versions", "source")}
        for key, kind in (("created", str), ("versions", dict), ("source", dict)):
            if optional[key] is not None and not isinstance(optional[key], kind):
                raise _Bad(f"{key} must be a {'string' if kind is str else 'JSON object'}")
        return cls(
            model=model,
            backend=backend,
            quantize=quantize,
            labels=labels,
            positive_label=positive,
            decision=decision,
            calibration=calibration,
            preprocess=preprocess,
            context_length=context,
            truncating=truncating,
            members=members,
            weights=weights,
            files=dict(files),
            created=optional["created"],
            versions=optional["versions"] or {},
            source=optional["source"] or {},
        )

    @staticmethod
    def _members(raw: Any, files: dict) -> tuple[Member, ...]:
        if not isinstance(raw, list) or not raw:
            raise _Bad("members must be a non-empty list")
        out = []
        for m in raw:
            if not isinstance(m, dict):
                raise _Bad("every member must be a JSON object")
            name, kind = _str(m["name"], "a member's name"), m["kind"]
            if kind not in KINDS:
                raise _Bad(f"member {name} has kind {_shown(kind)}, not one of {', '.join(KINDS)}")
            rel = _relative(m["file"], f"member {name}'s file")
            if rel not in files:
                raise _Bad(f"it lists {rel} without its SHA-256")
            suffixes = (".onnx", ".pt") if kind == "neural" else (".npz",)
            if not rel.endswith(suffixes):
                raise _Bad(f"member {name} ({kind}) has the file {rel}, not {' or '.join(suffixes)}")
            try:
                temperature = _decisions(m["temperature"], None, None, f"member {name}")[0].temperature
            except RunError as e:
                raise _Bad(str(e)) from None
            out.append(Member(name, kind, rel, temperature))
        if len({m.name for m in out}) != len(out):
            raise _Bad("members lists the same model twice")
        return tuple(out)

    @staticmethod
    def _weights(raw: Any, model: str, n: int) -> tuple[float, ...]:
        if model != ENSEMBLE:
            return (1.0,)
        if not isinstance(raw, list) or len(raw) != n:
            raise _Bad(f"weights must be a list of {n} numbers, one per member")
        weights = tuple(_number(w, "every ensemble weight") for w in raw)
        if not all(w > 0 for w in weights) or not math.isfinite(sum(weights)):
            raise _Bad(f"ensemble weights must be positive and of finite sum (got {_shown(list(raw))})")
        return weights

    @staticmethod
    def _preprocess(raw: Any, files: dict) -> dict[str, Any]:
        """Every preprocessing option, as the export was made with (no default fills a gap: a missing
        option would silently change the tokens the model sees)."""
        if not isinstance(raw, dict):
            raise _Bad("preprocess must be a JSON object of the preprocessing options")
        names = {f.name for f in dataclasses.fields(PreprocessConfig)}
        missing, unknown = sorted(names - set(raw)), sorted(set(raw) - names)
        if missing or unknown:
            what = "lacks " + ", ".join(missing) if missing else "has unknown " + ", ".join(unknown)
            raise _Bad(f"preprocess {what} (an export records every option it was made with)")
        stop = raw["stopwords"]
        if stop not in (None, "default") and (not isinstance(stop, str) or stop not in files):
            raise _Bad(
                f"preprocess.stopwords {_shown(stop)} is not one of the export's files (an export "
                "carries its stopword list)"
            )
        try:
            PreprocessConfig.from_dict({**raw, "stopwords": None})  # every other value checked
        except ConfigError as e:
            raise _Bad(f"preprocess: {e}") from None
        return dict(raw)


def read_manifest(root: str | Path) -> Manifest:
    """The checked manifest of the export ``root`` (its files are not verified here)."""
    root = Path(root)
    return Manifest.from_dict(read_json(root / "manifest.json"), root)


def read_bundle(path: str | Path, *, threads: int = 1, trust_torchscript: bool = False) -> Classifier:
    """The classifier of an export directory, every file checked against the manifest's SHA-256 first.

    A TorchScript member is a program and runs code when loaded: it is refused unless
    ``trust_torchscript`` (the manifest's own digests cannot vouch for a file's origin).
    """
    from .inference import check_threads

    threads = check_threads(threads)
    root = Path(path)
    manifest = read_manifest(root)
    for rel, digest in manifest.files.items():
        p = (root / rel).resolve()
        if root.resolve() not in p.parents:
            raise RunError(f"{root}/manifest.json names a file outside the export: {rel}")
        if not p.is_file() or _sha256(p) != digest:
            raise RunError(f"{root}/{rel} is missing or changed since the export (SHA-256 differs): corrupt")
    stop = manifest.preprocess["stopwords"]
    pre = PreprocessConfig.from_dict(
        {**manifest.preprocess, "stopwords": stop if stop in (None, "default") else str(root / stop)}
    )
    labels = list(manifest.labels)
    vocab = Vocab.load(root / "vocab.json") if any(m.kind == "neural" for m in manifest.members) else None
    scorers = [
        (_member_scorer(root, m, manifest, pre, vocab, threads, trust_torchscript), m.temperature)
        for m in manifest.members
    ]
    if manifest.model == ENSEMBLE:
        scorer, neural = EnsembleScorer(scorers, list(manifest.weights)), None
    else:
        scorer = scorers[0][0]
        neural = scorer if isinstance(scorer, NeuralScorer) else None
    source = {
        "export": root.name,
        "backend": manifest.backend,
        "quantize": manifest.quantize,
        "created": manifest.created,
        "exported_from": _public_source(manifest.source),
        "exported_with": manifest.versions,
    }
    return Classifier(
        manifest.model,
        labels,
        pre,
        scorer,
        calibration=manifest.calibration,
        decision=manifest.decision,
        positive_label=manifest.positive_label,
        neural=neural,
        source=source,
    )


def _public_source(source: dict) -> dict:
    """The export's source facts without file-system paths (a service shows them to any client)."""
    out = dict(source)
    if isinstance(out.get("run"), str):
        out["run"] = PurePath(out["run"]).name
    return out


def _member_scorer(
    root: Path,
    member: Member,
    manifest: Manifest,
    pre: PreprocessConfig,
    vocab: Vocab | None,
    threads: int,
    trust_torchscript: bool,
):
    from .inference import OnnxRunner, TorchScriptRunner

    rel = member.file
    if member.kind == "baseline":
        from ..training.baseline import TfidfBaseline

        base = TfidfBaseline.load(root / rel)
        if base.num_classes != len(manifest.labels):
            raise RunError(f"{root}/{rel} does not match the export's labels")
        return BaselineScorer(base, pre)
    onnx = rel.endswith(".onnx")
    if not onnx and not trust_torchscript:
        raise RunError(
            f"{root}/{rel} is a TorchScript program, which runs code when loaded: load it only if you "
            "trust its source (trust_torchscript=True; CLI: --trust-torchscript)"
        )
    assert vocab is not None
    try:
        if onnx:
            runner = OnnxRunner(root / rel, threads=threads, max_length=manifest.context_length)
        else:
            runner = TorchScriptRunner(root / rel)
    except (RunError, ConfigError):
        raise
    except Exception as e:  # torch.jit raises its own types for a damaged program
        raise RunError(
            f"{root}/{rel} cannot be loaded as a model ({e.__class__.__name__}): corrupt"
        ) from None
    if runner.num_classes != len(manifest.labels) or runner.vocab_size != len(vocab):
        raise RunError(f"{root}/{rel} does not match the export's labels or vocabulary")
    return NeuralScorer(runner, vocab, manifest.context_length, manifest.truncating, pre)
