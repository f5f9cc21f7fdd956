"""What every subcommand's parser shares: option groups generated from the config classes, help texts,
numbers checked once, logging for the command line."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import warnings

GROUPS = {
    "data": "data",
    "models": "models and training",
    "vocabulary": "vocabulary, sequences and FastText",
    "": "preprocessing",
    "run": "run",
}


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error reported like every other error: one line, exit code 2."""

    def error(self, message: str):
        from nlp_pp.errors import ConfigError

        raise ConfigError(f"{message} (see {self.prog} --help)")


def _default_text(f) -> str:
    if f.metadata.get("default_text"):
        return f.metadata["default_text"]
    value = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _add_options(
    parser: argparse.ArgumentParser, names: set[str] | None = None, groups: dict | None = None
) -> None:
    """Add the config's options (all, or those in ``names``) as flags, with defaults and help from their
    declarations."""
    from nlp_pp.config import cli_options
    from nlp_pp.options import Boolean

    for _, f in cli_options():
        if names is not None and f.name not in names:
            continue
        c = f.metadata["constraint"]
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} (default: {_default_text(f)})".replace("%", "%%")
        group = groups[f.metadata.get("group", "")] if groups else parser
        if isinstance(c, Boolean) or isinstance(getattr(c, "inner", None), Boolean):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
        elif f.name in ("unlabeled", "self_training_texts"):  # paths, one flag each (they may hold commas)
            group.add_argument(flag, action="append", metavar="FILE", help=help_text)
        else:
            group.add_argument(flag, metavar=f.metadata.get("metavar") or c.metavar, help=help_text)


TRUST_HELP = (
    "read a TorchScript export (--format torchscript), a program that runs code when loaded: only "
    "one you made or trust (ONNX exports and run directories never run code)"
)


THREADS_HELP = (
    "inference threads, at most this machine's cores; auto: $NLP_PP_THREADS or $OMP_NUM_THREADS when set, "
    "else one thread for an ONNX export (a second bought nothing: BENCHMARKS.md, inference) and torch "
    "adapting to the cores other processes leave"
)


def _number(text: str | None, flag: str, kind: type):
    from nlp_pp.errors import ConfigError

    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(
            f"{flag} must be {'an integer' if kind is int else 'a number'} (got {text!r})"
        ) from None
    return value


def _one_line(text: str) -> str:
    """A text on one table line: tabs and line breaks shown as spaces."""
    return " ".join(text.split()) if any(c in text for c in "\t\r\n\v\f\x85\u2028\u2029") else text


def inference_threads(settings) -> int:
    """ONNX Runtime's threads for ``predict`` and ``serve``: the number asked for, and 1 for ``auto``.

    ``auto`` lets torch follow the CPU other processes take (:mod:`nlp_pp.training.threads`), but an
    ONNX Runtime session keeps the thread count it was made with, and a second thread bought nothing
    for an exported recurrent model on one message batch at a time while costing the baseline a
    quarter of its speed (BENCHMARKS.md, inference).
    """
    return 1 if settings.source == "auto" else settings.intra_op


def _stdin_lines() -> list[str]:
    """One text per line of standard input, its encoding detected like --data's (UTF-8 or CP949)."""
    from nlp_pp.text.source import decode_text

    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # replaced by a text stream (notebooks, tests)
        return [line.rstrip("\n") for line in sys.stdin]
    data = raw.read()
    if not data.strip():
        return []
    text = decode_text(data, "standard input")[0].replace("\r\n", "\n")
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


class _CliFormatter(logging.Formatter):
    """Progress as plain lines; warnings and errors of the library prefixed with their level."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        return msg if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {msg}"


def setup_logging(debug: bool = False) -> None:
    """Show nlp_pp's progress (INFO) and everyone's warnings on stderr; silence known third-party noise."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("nlp_pp").setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger("gensim").setLevel(logging.ERROR)  # per-epoch progress and benign notices
    logging.captureWarnings(True)  # a warning (e.g. a plot that could not be drawn) becomes one stderr line
    # known, harmless notices of dependencies (not of the user's data)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
