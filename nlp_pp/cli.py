"""The command line: ``python pipeline.py`` in a checkout, ``python -m nlp_pp`` or ``nlp-pp`` once installed.

    python pipeline.py                                   # the embedded sample (data/spam_sample.csv)
    python pipeline.py --data spam_SNS.csv               # your CSV: columns content, class
    python pipeline.py predict --run runs/NAME "텍스트"    # classify texts with a saved run

Command line only: it parses options, calls nlp_pp, and turns every error in the user's input into
one line on stderr and exit code 2 (130 after Ctrl-C). Every option, its default and its help come
from the config classes (nlp_pp.config).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import os
import sys
import warnings
from pathlib import Path

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


def run_parser() -> argparse.ArgumentParser:
    """The comparison's options, generated from the config classes (defaults and help included)."""
    p = Parser(
        prog="pipeline.py",
        argument_default=argparse.SUPPRESS,
        description="Train RNN/LSTM/GRU classifiers with random and FastText embedding initialisation on a "
        "labelled Korean CSV and write a comparison report. Subcommands (each with --help): predict "
        "(classify texts with a saved run), export (a self-contained model directory), serve (HTTP), "
        "pretrain (FastText on unlabelled text), suggest (which unlabelled messages to label next), tune "
        "(search the options within a budget).",
    )
    groups = {key: p.add_argument_group(title) for key, title in GROUPS.items()}
    _add_options(p, groups=groups)
    r = groups["run"]
    r.add_argument(
        "--config",
        metavar="FILE",
        help="TOML or YAML file with the same keys as these options (command-line options win)",
    )
    r.add_argument("--resume", metavar="DIR", help="continue an interrupted run (its .partial directory)")
    r.add_argument("--debug", action="store_true", default=False, help="show tracebacks of unexpected errors")
    return p


TRUST_HELP = (
    "read a TorchScript export (--format torchscript), a program that runs code when loaded: only "
    "one you made or trust (ONNX exports and run directories never run code)"
)


THREADS_HELP = (
    "inference threads, at most this machine's cores; auto: $NLP_PP_THREADS or $OMP_NUM_THREADS when set, "
    "else one thread for an ONNX export (a second bought nothing: BENCHMARKS.md, inference) and torch "
    "adapting to the cores other processes leave"
)


def predict_parser() -> argparse.ArgumentParser:
    p = Parser(prog="pipeline.py predict", description="Classify texts with the best model of a saved run.")
    p.add_argument("--run", required=True, metavar="DIR", help="a finished run directory (runs/NAME)")
    p.add_argument("texts", nargs="*", help="texts to classify; none: read one text per line from stdin")
    p.add_argument("--csv", metavar="PATH", help="classify the text column of this CSV instead")
    p.add_argument("--text-col", default="content", help="text column of --csv (default: content)")
    p.add_argument(
        "--model",
        help="a saved model such as lstm-fasttext-seed0, tfidf_logreg (the baseline) or "
        "ensemble (default: the best on the validation split)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        help="decision threshold of the positive class of a binary task "
        "(default: the one chosen on the validation split by --threshold-policy)",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="also show the tokens that pushed each text toward its label (neural models)",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    p.add_argument("--threads", default="auto", metavar="N|auto", help=THREADS_HELP + " (default: auto)")
    p.add_argument("--trust-torchscript", action="store_true", help=TRUST_HELP)
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    return p


def export_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="pipeline.py export",
        description="Write one self-contained directory with a run's model, "
        "vocabulary, preprocessing, labels, threshold and temperature, for load_classifier and serve.",
    )
    p.add_argument("--run", required=True, metavar="DIR", help="a finished run directory (runs/NAME)")
    p.add_argument(
        "--out", required=True, metavar="DIR", help="the export directory to create (must not exist)"
    )
    p.add_argument(
        "--model",
        help="a saved model such as gru-fasttext-seed0, tfidf_logreg or ensemble "
        "(default: the best on the validation split)",
    )
    p.add_argument(
        "--format",
        default="onnx",
        choices=("onnx", "torchscript"),
        help="onnx (ONNX Runtime, the [serve] extra) or torchscript (default: onnx)",
    )
    p.add_argument("--quantize", choices=("int8",), help="int8 weights (ONNX only): smaller, faster for LSTM")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    return p


def tune_parser() -> argparse.ArgumentParser:
    """The run's options (generated, as for a run) plus the search's budget and space."""
    p = Parser(
        prog="pipeline.py tune",
        argument_default=argparse.SUPPRESS,
        description="Search the options of a run with Optuna (TPE, median pruning) within a budget, on the "
        "validation split only; write best.toml and a tuning report, then run the best configuration once "
        "with the test split. Needs the [tune] extra.",
    )
    groups = {key: p.add_argument_group(title) for key, title in GROUPS.items()}
    _add_options(p, groups=groups)
    t = p.add_argument_group("search")
    t.add_argument(
        "--trials", metavar="N", help="finished trials in the study (default: 20 without --timeout)"
    )
    t.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="time budget of the search; a trial running when it ends stops after its epoch",
    )
    t.add_argument(
        "--space",
        metavar="FILE",
        help="TOML or YAML file changing the search space: lr = { low = 0.0005, high = 0.005, log = true }, "
        'hidden = { choices = [128, 256] }, pooling = "max" (fixed)',
    )
    t.add_argument(
        "--final",
        action=argparse.BooleanOptionalAction,
        help="run the best configuration once with the test split at the end (default: on)",
    )
    r = groups["run"]
    r.add_argument(
        "--config", metavar="FILE", help="TOML or YAML file of run options (command-line options win)"
    )
    r.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the search of a tuning directory with its saved options (--trials and --timeout may "
        "be given anew)",
    )
    r.add_argument("--debug", action="store_true", default=False, help="show tracebacks of unexpected errors")
    return p


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


def cmd_tune(argv: list[str]) -> int:
    args = tune_parser().parse_args(argv)
    from nlp_pp.errors import ConfigError
    from nlp_pp.tuning.study import check_budget, require_optuna

    search = {k: vars(args).pop(k, None) for k in ("trials", "timeout", "space", "final", "resume")}
    trials = _number(search["trials"], "--trials", int)
    timeout = _number(search["timeout"], "--timeout", float)
    check_budget(trials, timeout)
    require_optuna()
    space, source = None, "the search space"
    if search["space"] is not None:
        from nlp_pp.config import read_config_file

        space, source = read_config_file(search["space"]), f"--space {search['space']}"
        from nlp_pp.tuning.space import build_space

        build_space(space, source)  # checked before any work starts
    from nlp_pp.tuning import run_tune

    final = True if search["final"] is None else search["final"]
    if search["resume"]:
        if [k for k in vars(args) if k not in ("debug",)] or space is not None:
            raise ConfigError(
                "--resume continues a search with its saved options; give only --trials or --timeout"
            )
        out = run_tune(None, trials=trials, timeout=timeout, resume=search["resume"], final=final)
    else:
        out = run_tune(
            build_config(args), trials=trials, timeout=timeout, space=space, space_source=source, final=final
        )
    print(f"best: {out / 'best.toml'}")
    print(f"report: {out / 'report.html'}")
    return 0


PRETRAIN_OPTIONS = {
    "unlabeled",
    "text_col",
    "emb_dim",
    "min_count",
    "fasttext_epochs",
    "fasttext_window",
    "min_n",
    "max_n",
    "fasttext_workers",
    "n_jobs",
    "cache",
    "cache_dir",
    "split_seed",
}


def pretrain_parser() -> argparse.ArgumentParser:
    from nlp_pp.config import cli_options

    p = Parser(
        prog="pipeline.py pretrain",
        argument_default=argparse.SUPPRESS,
        description="Train FastText once on unlabelled text (streamed, preprocessed like a run) and save "
        "vectors that runs reuse with --pretrained-vectors FILE.",
    )
    preprocessing = {f.name for cls, f in cli_options() if cls.__name__ == "PreprocessConfig"}
    _add_options(p, PRETRAIN_OPTIONS | preprocessing)
    p.add_argument("--out", required=True, metavar="FILE", help="the vectors file to write (must not exist)")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FILE",
        help="leave out the texts of this file (a CSV with --text-col, or one text per line), e.g. your "
        "labelled data, so that no validation or test text shapes the vectors (repeatable)",
    )
    p.add_argument("--debug", action="store_true", default=False, help="show tracebacks of unexpected errors")
    return p


def suggest_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="pipeline.py suggest",
        description="Rank unlabelled messages by how much a label would teach the run's best model "
        "(uncertain, spread across clusters, none already labelled or in the test split) and write them "
        "as a CSV in the training file's columns with an empty label column: label, append, rerun.",
    )
    p.add_argument("--run", required=True, metavar="DIR", help="a finished run directory (runs/NAME)")
    p.add_argument(
        "--unlabeled",
        required=True,
        metavar="FILE",
        help="unlabelled messages: a CSV/TSV with --text-col, or one message per line",
    )
    p.add_argument("--n", required=True, type=int, metavar="N", help="how many messages to suggest")
    p.add_argument("--out", required=True, metavar="FILE", help="the CSV to write (must not exist)")
    p.add_argument(
        "--text-col",
        metavar="COLUMN",
        help="text column of a CSV --unlabeled (default: the run's --text-col)",
    )
    p.add_argument("--model", help="the model whose uncertainty counts (default: the best on validation)")
    p.add_argument("--seed", type=int, default=0, help="seed of the clustering (default: 0)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    return p


def serve_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="pipeline.py serve",
        description="Serve a classifier over HTTP (FastAPI + uvicorn, the "
        "[serve] extra): POST /predict, GET /health, GET /metadata, docs at /docs.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="DIR", help="a finished run directory (its best model, or --model)")
    src.add_argument("--model-dir", metavar="DIR", help="an export directory from 'pipeline.py export'")
    p.add_argument("--model", help="with --run: a saved model name (default: the best on validation)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--threads", default="1", metavar="N|auto", help=THREADS_HELP + " (default: 1)")
    p.add_argument("--max-texts", type=int, default=256, help="most texts per request (default: 256)")
    p.add_argument(
        "--max-body-bytes",
        type=int,
        help="largest request body, more is HTTP 413 (default: what --max-texts texts of the model's "
        "max_chars characters can need, 12 bytes per character)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        help="seconds a client may take to send a request's headers; then the connection is closed "
        "(default: 10)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        help="seconds a request's body may take to arrive; slower is HTTP 408 (default: 30)",
    )
    p.add_argument(
        "--batch-timeout",
        type=float,
        default=30.0,
        help="seconds the model may take for one batch; then its requests get 503 and /health reports "
        "the server stuck (default: 30)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=256,
        help="most connections and requests at once; more get 503 at once (default: 256)",
    )
    p.add_argument("--trust-torchscript", action="store_true", help=TRUST_HELP)
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    return p


def build_config(args: argparse.Namespace):
    """Merge defaults < --config file < command-line options into an ExperimentConfig (one parsing path)."""
    from nlp_pp.config import ExperimentConfig, read_config_file

    values = read_config_file(args.config) if getattr(args, "config", None) else {}
    values = {str(k).replace("-", "_"): v for k, v in values.items()}
    values.update({k: v for k, v in vars(args).items() if k not in ("config", "resume", "debug")})
    return ExperimentConfig.from_dict(values)


def cmd_run(argv: list[str]) -> int:
    args = run_parser().parse_args(argv)
    from nlp_pp.errors import ConfigError
    from nlp_pp.training.experiment import load_metrics, run_experiment, summary_lines

    resume = getattr(args, "resume", None)
    if resume:
        if [k for k in vars(args) if k not in ("resume", "debug")]:
            raise ConfigError("--resume continues a run with its saved options; give no other option")
        run_dir = run_experiment(None, resume=resume)
    else:
        run_dir = run_experiment(build_config(args))
    if run_dir is None:  # a rank > 0 under torchrun: rank 0 writes and prints the run
        return 0
    print("\n".join(summary_lines(load_metrics(run_dir))))
    print(f"report: {run_dir / 'report.html'}")
    return 0


def _one_line(text: str) -> str:
    """A text on one table line: tabs and line breaks shown as spaces."""
    return " ".join(text.split()) if any(c in text for c in "\t\r\n\v\f\x85\u2028\u2029") else text


def cmd_predict(argv: list[str]) -> int:
    args = predict_parser().parse_args(argv)
    from nlp_pp.deploy.load import load_classifier
    from nlp_pp.training.threads import apply_threads

    if args.csv:
        from nlp_pp.text.load import read_csv, require_columns

        df, _, _ = read_csv(args.csv)
        require_columns(df, (args.text_col,), args.csv, "--text-col")
        texts = df[args.text_col].fillna("").astype(str).tolist()
    elif args.texts:
        texts = args.texts
    else:
        texts = _stdin_lines()
    threads = apply_threads(args.threads)
    clf = load_classifier(
        args.run,
        model=args.model,
        device=args.device,
        threads=inference_threads(threads),
        trust_torchscript=args.trust_torchscript,
    )
    lines = []
    for row in clf.predict(texts, threshold=args.threshold, explain=args.explain):
        if args.json:
            lines.append(json.dumps(row, ensure_ascii=False, allow_nan=False))
            continue
        line = f"{row['label']}\t{row['prob']:.4f}\t{_one_line(row['text'])}"
        if args.explain:
            line += "\t" + " ".join(f"{e['token']}({e['contribution']:+.3f})" for e in row["explanation"])
        lines.append(line)
    if lines:  # one write, not one per text
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


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
    from nlp_pp.text.load import decode_text

    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # replaced by a text stream (notebooks, tests)
        return [line.rstrip("\n") for line in sys.stdin]
    data = raw.read()
    if not data.strip():
        return []
    text = decode_text(data, "standard input")[0].replace("\r\n", "\n")
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def cmd_export(argv: list[str]) -> int:
    args = export_parser().parse_args(argv)
    from nlp_pp.deploy.bundle import export_bundle

    out = export_bundle(args.run, args.out, model=args.model, fmt=args.format, quantize=args.quantize)
    print(f"exported: {out}")
    return 0


def cmd_pretrain(argv: list[str]) -> int:
    args = pretrain_parser().parse_args(argv)
    from nlp_pp.cache import Cache, default_cache_dir
    from nlp_pp.config import ExperimentConfig
    from nlp_pp.errors import ConfigError
    from nlp_pp.text.hashing import hash_texts
    from nlp_pp.text.stream import iter_unlabeled_texts
    from nlp_pp.training.experiment import check_input_files
    from nlp_pp.vectors.pretrain import pretrain

    values = {k: v for k, v in vars(args).items() if k not in ("out", "debug", "exclude")}
    cfg = ExperimentConfig.from_dict(values)
    if not cfg.unlabeled:
        raise ConfigError("pretrain needs at least one --unlabeled FILE")
    out = Path(args.out)
    if out.exists() or out.is_symlink():
        raise ConfigError(f"--out {out} exists; choose a new file (pretrained vectors are never overwritten)")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: the directory {out.parent} does not exist")
    check_input_files(cfg)
    exclude = set()
    for path in args.exclude:
        for chunk in iter_unlabeled_texts(path, cfg.text_col):
            exclude.update(hash_texts(chunk).tolist())
    cache = Cache((cfg.cache_dir or default_cache_dir()) if cfg.cache else None)
    stats = pretrain(
        list(cfg.unlabeled),
        out,
        text_col=cfg.text_col,
        preprocess=cfg.preprocess,
        fasttext=cfg.fasttext_config(),
        cache=cache,
        n_jobs=cfg.n_jobs,
        exclude=exclude,
    )
    print(
        f"pretrained: {out} ({stats['texts_trained']} texts, {stats['tokens']} tokens, vocabulary "
        f"{stats['vocabulary']})"
    )
    return 0


def cmd_suggest(argv: list[str]) -> int:
    from nlp_pp.config import cli_options
    from nlp_pp.errors import ConfigError

    # a CSV or text file holds raw messages and records no preprocessing of its own: suggest applies the
    # run's (run.json), as predict does. A preprocessing option here would make the tokens differ from
    # what the model was trained on, so it is refused by name rather than as an unknown flag.
    preprocessing = {
        flag
        for cls, f in cli_options()
        if cls.__name__ == "PreprocessConfig"
        for flag in ("--" + f.name.replace("_", "-"), "--no-" + f.name.replace("_", "-"))
    }
    given = [a.split("=", 1)[0] for a in argv if a.split("=", 1)[0] in preprocessing]
    if given:
        raise ConfigError(
            f"suggest preprocesses the messages exactly as the run did (its run.json); {given[0]} would give "
            "the model other tokens than it was trained on: leave it out, or train a run with it"
        )
    args = suggest_parser().parse_args(argv)
    from nlp_pp.decisions.suggest import (
        check_n,
        known_texts,
        read_unlabelled,
        run_sources,
        suggest,
        write_suggestions,
    )
    from nlp_pp.deploy.load import load_classifier
    from nlp_pp.training.rundir import open_run

    n = check_n(args.n)
    out = Path(args.out)
    if out.exists() or out.is_symlink():
        raise ConfigError(f"--out {out} exists; choose a new file (suggestions never overwrite a file)")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: the directory {out.parent} does not exist")
    run = open_run(args.run)
    data, test, text_col, label_col, columns = run_sources(run)
    clf = load_classifier(run, model=args.model, device=args.device)
    texts, repeats = read_unlabelled(args.unlabeled, args.text_col or text_col)
    known = known_texts(data, test, text_col)
    s = suggest(clf, texts, known, n, seed=args.seed, repeats=repeats)
    write_suggestions(out, s, columns, text_col, label_col)
    print(
        f"suggested: {out} ({len(s.texts)} messages to label, chosen by {s.model}; {s.read} read, "
        f"{s.duplicates} repeats and {s.labelled} already labelled or in the test split left out)"
    )
    return 0


def cmd_serve(argv: list[str]) -> int:
    args = serve_parser().parse_args(argv)
    from nlp_pp.deploy.load import load_classifier
    from nlp_pp.deploy.serve import serve
    from nlp_pp.errors import ConfigError
    from nlp_pp.training.threads import apply_threads, parse_threads

    parse_threads(args.threads, "--threads")  # checked before anything is loaded
    if args.model is not None and not args.run:
        raise ConfigError("--model names a model of a run directory; use it with --run")
    if args.model_dir is not None:
        where = Path(args.model_dir)
        if not where.is_dir():
            raise ConfigError(
                f"--model-dir {where}: export directory not found; give a directory made by "
                "'pipeline.py export' (or a run directory with --run)"
            )
        if not (where / "manifest.json").is_file():
            raise ConfigError(
                f"--model-dir {where} is not an export directory (manifest.json is missing); "
                "a run directory goes with --run"
            )
    threads = apply_threads(args.threads)
    clf = load_classifier(
        args.model_dir or args.run,
        model=args.model,
        threads=inference_threads(threads),
        trust_torchscript=args.trust_torchscript,
    )
    limits = {"max_body_bytes": args.max_body_bytes} if args.max_body_bytes is not None else {}
    serve(
        clf,
        host=args.host,
        port=args.port,
        max_texts=args.max_texts,
        header_timeout=args.header_timeout,
        max_connections=args.max_connections,
        body_timeout=args.body_timeout,
        batch_timeout=args.batch_timeout,
        **limits,
    )
    return 0


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


RANK_ERROR_GRACE = 5.0  # seconds a rank > 0 waits before exiting on bad input, so rank 0 reports it first


def _torchrun_rank() -> int:
    """This process's rank under torchrun (``$RANK``), 0 otherwise."""
    try:
        return int(os.environ.get("RANK", "0") or 0)
    except ValueError:
        return 0


def main(argv: list[str] | None = None) -> int:
    from nlp_pp.training.threads import prepare_environment

    prepare_environment()  # OpenMP reads OMP_WAIT_POLICY when torch loads it: before any torch import
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    setup_logging(debug)
    if _torchrun_rank() > 0 and not debug:  # under torchrun rank 0 tells the progress; the others warn only
        logging.getLogger("nlp_pp").setLevel(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from nlp_pp.errors import ConfigError, DataError, NlpPpError, first_line

    try:
        commands = {
            "predict": cmd_predict,
            "export": cmd_export,
            "serve": cmd_serve,
            "pretrain": cmd_pretrain,
            "suggest": cmd_suggest,
            "tune": cmd_tune,
        }
        if argv and argv[0] in commands:
            return commands[argv[0]](argv[1:])
        return cmd_run(argv)
    except NlpPpError as e:
        rank = _torchrun_rank()
        if rank == 0:
            print(f"error: {e}", file=sys.stderr)
        elif not isinstance(e, (ConfigError, DataError)):
            print(f"error: rank {rank}: {e}", file=sys.stderr)
        else:  # bad input is the same on every rank: rank 0 says it (torchrun stops the rest when one exits)
            import time

            time.sleep(RANK_ERROR_GRACE)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try --max-rows, a smaller --batch-size or --hidden", file=sys.stderr)
        return 1
    except Exception as e:  # a bug, not bad input: say so in one line unless --debug
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            print(
                f"error: no space left on the device while writing {e.filename or 'a file'}; free some "
                "space and run again",
                file=sys.stderr,
            )
            return 2
        if debug:
            raise
        print(
            f"internal error ({first_line(e, with_type=True)}); "
            "rerun with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return 1
