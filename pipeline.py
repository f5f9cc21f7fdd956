#!/usr/bin/env python
"""Compare RNN / LSTM / GRU text classifiers, each with random and FastText-initialised embeddings.

    python pipeline.py                                   # the embedded sample (data/spam_sample.csv)
    python pipeline.py --data spam_SNS.csv               # your CSV: columns content, class
    python pipeline.py predict --run runs/NAME "텍스트"    # classify texts with a saved run

The command line itself lives in nlp_pp.cli (installed, it is also ``python -m nlp_pp``).
"""

import sys
from pathlib import Path

# run from a checkout: import this checkout's nlp_pp, whatever the current directory
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nlp_pp.cli import build_config, main, run_parser  # noqa: F401  (tests and notebooks use these)

if __name__ == "__main__":
    sys.exit(main())
