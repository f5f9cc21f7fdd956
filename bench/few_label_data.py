"""Few-label files for NSMC and K-MHaS: labelled subsets, the rest as unlabelled text, pretrained vectors.

Standard library + pandas. Everything is written under ``bench/out/few/<data set>`` and reused when
present (the files are deterministic for a data set, a size and a seed). Data is read from
``../shared/data/<data set>``: NSMC (``document``, ``label`` 0/1, movie reviews) and K-MHaS
(``document``, binary ``label`` 혐오/해당없음, short news comments; its multi-label ``labels`` column is
dropped).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from bench.common import PROJECT_ROOT

DATA_ROOT = PROJECT_ROOT.parent / "shared" / "data"
DATASETS = ("nsmc", "kmhas")
OUT = PROJECT_ROOT / "bench" / "out" / "few"


def data_dir(name: str) -> Path:
    if name not in DATASETS:
        raise SystemExit(f"error: unknown data set {name!r}: use one of {', '.join(DATASETS)}")
    for root in (DATA_ROOT, Path("/work/shared/data")):
        if (root / name / "train.csv").is_file():
            return root / name
    raise SystemExit(f"error: {DATA_ROOT / name}/train.csv not found")


def train_frame(name: str) -> pd.DataFrame:
    """train.csv with whitespace normalised, empty and duplicate texts dropped (``document``, ``label``)."""
    df = pd.read_csv(data_dir(name) / "train.csv", dtype={"document": str, "label": str})
    df = df.dropna(subset=["document", "label"])
    df["document"] = df["document"].str.replace(r"\s+", " ", regex=True).str.strip()
    df = df[df["document"] != ""].drop_duplicates("document").reset_index(drop=True)
    return df[["document", "label"]]


def test_file(name: str) -> Path:
    return data_dir(name) / "test.csv"


def subset(name: str, size: int, seed: int) -> tuple[Path, Path]:
    """``(labelled.csv, rest.csv)``: a stratified sample of ``size`` labelled rows of train.csv, and every
    other row of train.csv (with its label, for simulations that reveal labels later; runs read only
    its ``document`` column as unlabelled text)."""
    from sklearn.model_selection import train_test_split

    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    labelled, rest = out / f"labelled-{size}-seed{seed}.csv", out / f"rest-{size}-seed{seed}.csv"
    if not (labelled.exists() and rest.exists()):
        df = train_frame(name)
        kept, other = train_test_split(df, train_size=size, stratify=df["label"], random_state=seed)
        kept.to_csv(labelled, index=False)
        other.to_csv(rest, index=False)
    return labelled, rest


def unlabelled_rest(name: str, size: int, seed: int) -> Path:
    """The rest of :func:`subset` without labels (one CSV column ``document``)."""
    _, rest = subset(name, size, seed)
    path = rest.with_name(rest.stem + "-text.csv")
    if not path.exists():
        pd.read_csv(rest, dtype=str)[["document"]].to_csv(path, index=False)
    return path


def pretrained(name: str, size: int, seed: int) -> Path:
    """FastText vectors pretrained on the unlabelled rest of this subset (``pipeline.py pretrain``)."""
    if name == "nsmc":  # the same subsets as bench/nsmc_subsets.py (same sampling): share its vectors
        from bench.nsmc_subsets import pretrained as nsmc_pretrained

        return nsmc_pretrained(size, seed)
    rest = unlabelled_rest(name, size, seed)
    out = OUT / name / f"vectors-{size}-seed{seed}.model"
    if not out.exists():
        cmd = [
            sys.executable,
            str(PROJECT_ROOT / "pipeline.py"),
            "pretrain",
            "--unlabeled",
            str(rest),
            "--text-col",
            "document",
            "--out",
            str(out),
            "--split-seed",
            str(seed),
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out
