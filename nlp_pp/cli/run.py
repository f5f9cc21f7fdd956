"""``python pipeline.py [options]``: the comparison's parser (from the config classes) and its run."""

from __future__ import annotations

import argparse

from .parsing import (
    GROUPS,
    Parser,
    _add_options,
)


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


def build_config(args: argparse.Namespace):
    """Merge defaults < --config file < command-line options into an ExperimentConfig (one parsing path)."""
    from nlp_pp.config import ExperimentConfig
    from nlp_pp.files import read_config_file

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
