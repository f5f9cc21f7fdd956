"""Load a classifier from a run directory or an export directory: the one entry point of deployment."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..training.rundir import open_run
from .bundle import read_bundle
from .classifier import Classifier, RunReader, default_model


def load_classifier(
    path: str | Path,
    model: str | None = None,
    device: str = "cpu",
    *,
    threads: int = 1,
    trust_torchscript: bool = False,
) -> Classifier:
    """Load a classifier from a run directory or from an export directory (``pipeline.py export``).

    Parameters
    ----------
    path : a run directory made by ``pipeline.py`` (finished, or interrupted with ``model`` given), or
        an export directory (it holds ``manifest.json``).
    model : in a run directory: ``lstm-fasttext-seed0``-style name, ``tfidf_logreg`` or ``ensemble``;
        default: the best on validation. An export directory holds one model.
    device : ``cpu``, ``cuda`` or ``auto`` (run directories; exports run on the CPU).
    threads : intra-op threads of an ONNX export.
    trust_torchscript : read a TorchScript export (``--format torchscript``), a program that runs code
        when loaded; refused by default. ONNX exports and run directories never run code.

    Raises
    ------
    RunError
        Not a run or export directory, or a file is missing, damaged, or does not match the others.
    """
    from ..training.trainer import resolve_device
    from .inference import check_threads

    threads = check_threads(threads)
    if model is not None and not (isinstance(model, str) and model.strip()):
        raise ConfigError(f"--model must name a saved model (got {model!r}); leave it out for the best one")
    if (Path(path) / "manifest.json").is_file():
        if model is not None:
            raise ConfigError(f"{path} is an export directory with one model; do not pass a model name")
        return read_bundle(path, threads=threads, trust_torchscript=trust_torchscript)
    run = open_run(path)
    loader = RunReader(run, resolve_device(device))
    return loader.classifier(model if model is not None else default_model(run))
