"""``predict``, ``export`` and ``serve``: using a saved run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .parsing import (
    THREADS_HELP,
    TRUST_HELP,
    Parser,
    _one_line,
    _stdin_lines,
    inference_threads,
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


def cmd_export(argv: list[str]) -> int:
    args = export_parser().parse_args(argv)
    from nlp_pp.deploy.bundle import export_bundle

    out = export_bundle(args.run, args.out, model=args.model, fmt=args.format, quantize=args.quantize)
    print(f"exported: {out}")
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
