"""The command line: ``python pipeline.py`` in a checkout, ``python -m nlp_pp`` or ``nlp-pp`` once installed.

    python pipeline.py                                   # the embedded sample (data/spam_sample.csv)
    python pipeline.py --data spam_SNS.csv               # your CSV: columns content, class
    python pipeline.py predict --run runs/NAME "텍스트"    # classify texts with a saved run

Command line only: it parses options, calls nlp_pp, and turns every error in the user's input into
one line on stderr and exit code 2 (130 after Ctrl-C). Every option, its default and its help come
from the config classes (nlp_pp.config).
"""

from __future__ import annotations

import errno
import logging
import os
import sys

from .data import cmd_pretrain, cmd_suggest, cmd_tune
from .deploy import cmd_export, cmd_predict, cmd_serve
from .parsing import inference_threads, setup_logging
from .run import build_config, cmd_run, run_parser

__all__ = ["build_config", "inference_threads", "main", "run_parser", "setup_logging"]


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
