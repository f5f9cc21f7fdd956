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
# The distributions that install the ``mecab`` module: python-mecab-ko (CPython <= 3.12) and its rebuild
# python-mecab-ko-py313 (3.13 and newer); ``package_versions`` names the one installed, and the dictionary.
MECAB_BINDINGS = ("python-mecab-ko", "python-mecab-ko-py313")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str]:
    """Python and the versions of the packages a run depends on ("not installed" when absent)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        if name == "python-mecab-ko":
            found = {b: v for b in MECAB_BINDINGS if (v := _version(b))}
            out.update(found or {name: "not installed"})
            out["python-mecab-ko-dic"] = _version("python-mecab-ko-dic") or "not installed"
        else:
            out[name] = _version(name) or "not installed"
    return out
