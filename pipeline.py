#!/usr/bin/env python
"""Compare RNN / LSTM / GRU text classifiers, each with random and FastText-initialised embeddings.

    python pipeline.py                                   # the embedded sample (data/spam_sample.csv)
    python pipeline.py --data spam_SNS.csv               # your CSV: columns content, class
    python pipeline.py predict --run runs/NAME "텍스트"    # classify texts with a saved run

This file is the command line only: it parses options, calls nlp_pp, and turns every error in the
user's input into one line on stderr and exit code 2 (130 after Ctrl-C).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path

# `models` is the package beside this file; make sure it is the one imported, whatever the cwd.
ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))

EXIT_USAGE = 2


def _bool_flag(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    parser.add_argument(f"--{name}", dest=name.replace("-", "_"), action=argparse.BooleanOptionalAction,
                        default=argparse.SUPPRESS, help=help)


def run_parser() -> argparse.ArgumentParser:
    """Options of the comparison (every default lives in nlp_pp.config.ExperimentConfig)."""
    S = argparse.SUPPRESS
    p = argparse.ArgumentParser(
        prog="pipeline.py",
        description="Train RNN/LSTM/GRU classifiers with random and FastText embedding initialisation on a "
                    "labelled Korean CSV and write a comparison report. "
                    "Subcommand: 'pipeline.py predict --run DIR TEXT...' classifies texts with a saved run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter, argument_default=S)
    d = p.add_argument_group("data")
    d.add_argument("--data", metavar="PATH|URL", help="CSV file or http(s) URL (utf-8, utf-8-sig, cp949 or euc-kr); "
                   "default: the embedded synthetic sample data/spam_sample.csv")
    d.add_argument("--test-data", metavar="PATH|URL", help="a fixed test CSV (same columns); then --data is split "
                   "into train/validation only")
    d.add_argument("--text-col", help="text column (default: content)")
    d.add_argument("--label-col", help="label column (default: class)")
    d.add_argument("--encoding", help="force the CSV encoding instead of detecting it")
    d.add_argument("--positive-label", help="positive class for precision/recall/ROC-AUC of a binary task "
                   "(default: 스팸문자 if present, else the second label in sorted order)")
    d.add_argument("--max-rows", type=int, help="use a stratified random sample of this many rows")
    d.add_argument("--val-size", type=float, help="validation share (default: 0.15)")
    d.add_argument("--test-size", type=float, help="test share when there is no --test-data (default: 0.15)")
    d.add_argument("--split-seed", type=int, help="seed of the split, the sample and FastText (default: 0)")
    m = p.add_argument_group("models and training")
    m.add_argument("--models", help="comma-separated: rnn,lstm,gru,cnn,hybrid,avg or 'all' (default: rnn,lstm,gru)")
    m.add_argument("--inits", help="embedding initialisations: random,fasttext (default: both)")
    m.add_argument("--seeds", help="comma-separated training seeds; several give mean ± std (default: 0)")
    m.add_argument("--epochs", type=int, help="maximum epochs (early stopping on the --monitor score; default: 10)")
    m.add_argument("--patience", type=int, help="epochs without a better validation score before stopping (default: 2)")
    m.add_argument("--monitor", metavar="{val_loss,val_acc}",
                   help="the validation score for early stopping, --lr-decay and the restored epoch (default: val_loss)")
    m.add_argument("--batch-size", type=int, help="batch size (default: 64)")
    m.add_argument("--lr", type=float, help="Adam learning rate (default: 0.002)")
    m.add_argument("--lr-decay", type=float, help="multiply the learning rate by this after an epoch without a "
                   "better validation score; 1 keeps it constant (default: 0.5)")
    m.add_argument("--hidden", type=int, help="hidden size of recurrent and dense layers (default: 256)")
    m.add_argument("--emb-dim", type=int, help="embedding and FastText dimension (default: 100)")
    m.add_argument("--layers", type=int, help="stacked recurrent layers (default: 1)")
    _bool_flag(m, "bidirectional", "bidirectional recurrent layers (default: on; --no-bidirectional for one direction)")
    m.add_argument("--dropout", type=float, help="dropout (default: 0.3)")
    m.add_argument("--pooling", choices=("last", "max", "mean"), help="recurrent models: final hidden state "
                   "(last) or max/mean over the outputs at the true positions (default: last)")
    m.add_argument("--kernel-sizes", help="cnn and hybrid: convolution widths (default: 3,4,5)")
    m.add_argument("--filters", type=int, help="cnn and hybrid: feature maps per width (default: 100)")
    _bool_flag(m, "shared-embedding", "hybrid: one embedding layer for the CNN and BiLSTM branches "
               "(default: on; --no-shared-embedding gives each branch its own)")
    _bool_flag(m, "freeze-embedding", "keep the embedding layer fixed during training (default: trainable)")
    m.add_argument("--device", help="auto (CUDA when available), cpu or cuda[:N] (default: auto)")
    v = p.add_argument_group("preprocessing, vocabulary and FastText")
    _bool_flag(v, "placeholders", "replace URLs, phone numbers and money amounts by URL/PHONE/MONEY (default: on)")
    _bool_flag(v, "keep-jamo", "keep runs of bare jamo such as ㅋㅋ and ㅠㅠ (default: kept)")
    _bool_flag(v, "keep-punct", "keep expressive punctuation as tokens: ... ? ! ~ ^^ ;; (default: kept)")
    _bool_flag(v, "jamo", "decompose tokens into jamo before the vocabulary and FastText (default: on)")
    v.add_argument("--stopwords", metavar="default|none|PATH", help="stopword list: 'default' is the project's "
                   "list (default: none -- keeping them scored higher on the NSMC benchmark)")
    v.add_argument("--keep-pos", help="keep only morphs whose MeCab tag starts with one of these, e.g. NN,VV,VA")
    v.add_argument("--drop-pos", help="drop morphs whose MeCab tag starts with one of these, e.g. J,E")
    v.add_argument("--min-count", type=int, help="rare-word threshold for vocabulary and FastText (default: 3)")
    v.add_argument("--length-percentile", type=float, help="context length = this percentile of training "
                   "lengths (default: 95)")
    v.add_argument("--fasttext-epochs", type=int, help="FastText training epochs (default: 10)")
    v.add_argument("--fasttext-workers", type=int, help="FastText threads; 1 is reproducible, 0 = all cores "
                   "(default: 1)")
    v.add_argument("--pretrained-vectors", metavar="PATH", help="use these .vec/.bin vectors instead of training "
                   "FastText (their tokens must match the preprocessing, e.g. with --no-jamo)")
    r = p.add_argument_group("run")
    r.add_argument("--config", metavar="FILE", help="TOML or YAML file with the same keys as these options "
                   "(command-line options win)")
    r.add_argument("--out", help="parent directory of run directories (default: runs)")
    r.add_argument("--name", help="run directory name (default: <data file>-<date>-<time>); never overwritten")
    r.add_argument("--resume", metavar="DIR", help="continue an interrupted run (its .partial directory)")
    _bool_flag(r, "baseline", "also train the TF-IDF + logistic regression baseline (default: on)")
    _bool_flag(r, "cache", "reuse cached tokens and FastText models (default: on)")
    r.add_argument("--cache-dir", help="cache location (default: $NLP_PP_CACHE_DIR or ~/.cache/nlp_pp)")
    r.add_argument("--n-jobs", type=int, help="processes for preprocessing, -1 = all cores (default: -1)")
    r.add_argument("--debug", action="store_true", default=False, help="show tracebacks of unexpected errors")
    return p


def predict_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pipeline.py predict",
                                description="Classify texts with the best model of a saved run.")
    p.add_argument("--run", required=True, metavar="DIR", help="a finished run directory (runs/NAME)")
    p.add_argument("texts", nargs="*", help="texts to classify; none: read one text per line from stdin")
    p.add_argument("--csv", metavar="PATH", help="classify the text column of this CSV instead")
    p.add_argument("--text-col", default="content", help="text column of --csv")
    p.add_argument("--model", help="a saved model such as lstm-fasttext-seed0 (default: best on validation)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    return p


def build_config(args: argparse.Namespace):
    """Merge defaults < --config file < command-line options into an ExperimentConfig."""
    import models
    from nlp_pp.config import ExperimentConfig, read_config_file

    opts = {k: v for k, v in vars(args).items() if k not in ("config", "resume", "debug")}
    values = read_config_file(args.config) if getattr(args, "config", None) else {}
    values = {k.replace("-", "_"): v for k, v in values.items()}
    values.update(opts)
    if isinstance(values.get("models"), str) and values["models"].strip().lower() == "all":
        values["models"] = list(models.MODEL_NAMES)
    elif isinstance(values.get("models"), list) and [str(m).lower() for m in values["models"]] == ["all"]:
        values["models"] = list(models.MODEL_NAMES)
    for key in ("keep_pos", "drop_pos"):
        if isinstance(values.get(key), str):
            values[key] = [t.strip() for t in values[key].split(",") if t.strip()]
    if isinstance(values.get("stopwords"), str) and values["stopwords"].lower() == "none":
        values["stopwords"] = None
    cfg = ExperimentConfig.from_dict(values)
    cfg.validate(tuple(models.MODEL_NAMES))
    return cfg


def cmd_run(argv: list[str]) -> int:
    args = run_parser().parse_args(argv)
    import models
    from nlp_pp.experiment import load_metrics, run_experiment, summary_lines

    from nlp_pp.config import ExperimentConfig
    from nlp_pp.errors import ConfigError

    resume = getattr(args, "resume", None)
    if resume and [k for k in vars(args) if k not in ("resume", "debug")]:
        raise ConfigError("--resume continues a run with its saved options; give no other option")
    # with --resume, run_experiment replaces this config by the one saved in the run directory
    cfg = ExperimentConfig() if resume else build_config(args)
    run_dir = run_experiment(cfg, models, resume=resume, log=lambda s: print(s, file=sys.stderr, flush=True))
    print("\n".join(summary_lines(load_metrics(run_dir))))
    print(f"report: {run_dir / 'report.html'}")
    return 0


def cmd_predict(argv: list[str]) -> int:
    args = predict_parser().parse_args(argv)
    import models
    from nlp_pp.predict import Predictor

    if args.csv:
        from nlp_pp.data import read_csv, require_columns

        df, _, _ = read_csv(args.csv)
        require_columns(df, (args.text_col,), args.csv, "--text-col")
        texts = df[args.text_col].fillna("").astype(str).tolist()
    elif args.texts:
        texts = args.texts
    else:
        texts = [line.rstrip("\n") for line in sys.stdin]
    predictor = Predictor(args.run, models, model=args.model, device=args.device)
    for row in predictor.predict(texts):
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{row['label']}\t{row['prob']:.4f}\t{row['text']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    warnings.filterwarnings("ignore")
    logging.getLogger("gensim").setLevel(logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from nlp_pp.errors import NlpPpError

    try:
        if argv and argv[0] == "predict":
            return cmd_predict(argv[1:])
        return cmd_run(argv)
    except NlpPpError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try --max-rows, a smaller --batch-size or --hidden", file=sys.stderr)
        return 1
    except Exception as e:  # a bug, not bad input: say so in one line unless --debug
        if debug:
            raise
        print(f"internal error ({e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
              "rerun with --debug for the traceback and report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
