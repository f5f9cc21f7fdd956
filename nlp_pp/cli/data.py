"""``pretrain``, ``suggest`` and ``tune``: vectors from unlabelled text, what to label next, a search."""

from __future__ import annotations

import argparse
from pathlib import Path

from .parsing import (
    GROUPS,
    Parser,
    _add_options,
    _number,
)
from .run import build_config


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
        from nlp_pp.files import read_config_file

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
    src = run_sources(run)
    clf = load_classifier(run, model=args.model, device=args.device)
    texts, repeats = read_unlabelled(args.unlabeled, args.text_col or src.text_col)
    known = known_texts(src.data, src.test, src.text_col, src.encoding)  # read as the run read them
    s = suggest(clf, texts, known, n, seed=args.seed, repeats=repeats)
    write_suggestions(out, s, src.columns, src.text_col, src.label_col)
    print(
        f"suggested: {out} ({len(s.texts)} messages to label, chosen by {s.model}; {s.read} read, "
        f"{s.duplicates} repeats and {s.labelled} already labelled or in the test split left out)"
    )
    return 0
