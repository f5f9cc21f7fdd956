"""``python -m nlp_pp``: the same command line as ``python pipeline.py``."""

import sys

from .cli import main

sys.exit(main())
