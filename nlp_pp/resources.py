"""What ships with nlp_pp (the stopword list, the synthetic sample data) and what it runs on (package
versions).

In a source checkout they are the top-level ``stopwords/`` and ``data/`` folders; an installed
wheel carries the same files as ``nlp_pp/_stopwords/`` and ``nlp_pp/_data/`` (pyproject.toml).
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from .errors import DataError

_HERE = Path(__file__).resolve().parent


def resource(folder: str, name: str) -> Path:
    """Path of ``folder/name`` in the wheel (``nlp_pp/_folder``) or the checkout (``folder``).

    >>> resource("stopwords", "korean.txt").name
    'korean.txt'
    """
    for candidate in (_HERE / f"_{folder}" / name, _HERE.parent / folder / name):
        if candidate.is_file():
            return candidate
    raise DataError(f"the bundled file {folder}/{name} is missing: reinstall nlp_pp")


def sample_data() -> Path:
    """The synthetic spam sample ``spam_sample.csv`` (4,000 messages; see data/README.md)."""
    return resource("data", "spam_sample.csv")


PACKAGES = (
    "nlp_pp",
    "torch",
    "numpy",
    "pandas",
    "scikit-learn",
    "gensim",
    "python-mecab-ko",
    "jamo",
    "matplotlib",
    "tqdm",
    "onnxruntime",
    "fastapi",
)


def package_versions() -> dict[str, str]:
    """Python and the versions of the packages a run depends on."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
