"""NSMC files for the small-data benchmarks: labelled subsets, the rest as unlabelled text, pretrained
vectors.

Standard library + pandas. Everything is written under ``bench/out/nsmc`` and reused when present
(the files are deterministic for a size and a seed). Data is read from ``../shared/data/nsmc``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from bench.common import DEFAULT_DATA_DIR, PROJECT_ROOT

OUT = PROJECT_ROOT / "bench" / "out" / "nsmc"


def _train(data_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(data_dir / "train.csv", dtype={"document": str})
    df = df.dropna(subset=["document"])
    df["document"] = df["document"].str.replace(r"\s+", " ", regex=True).str.strip()
    return df[df["document"] != ""].drop_duplicates("document").reset_index(drop=True)


def subset(size: int, seed: int, data_dir: Path = DEFAULT_DATA_DIR) -> tuple[Path, Path]:
    """``(labelled.csv, rest.txt)``: a stratified sample of ``size`` labelled reviews of train.csv, and every
    other review of train.csv as unlabelled text (one per line, labels dropped)."""
    from sklearn.model_selection import train_test_split

    OUT.mkdir(parents=True, exist_ok=True)
    labelled, rest = OUT / f"labelled-{size}-seed{seed}.csv", OUT / f"rest-{size}-seed{seed}.txt"
    if not (labelled.exists() and rest.exists()):
        df = _train(data_dir)
        kept, other = train_test_split(df, train_size=size, stratify=df["label"], random_state=seed)
        kept[["document", "label"]].to_csv(labelled, index=False)
        rest.write_text("\n".join(other["document"]) + "\n", encoding="utf-8")
    return labelled, rest


def test_file(rows: int | None = None, data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """The NSMC test file, or its first ``rows`` rows (for decisions that never read the test scores)."""
    if rows is None:
        return data_dir / "test.csv"
    path = OUT / f"test-first{rows}.csv"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        pd.read_csv(data_dir / "test.csv").head(rows).to_csv(path, index=False)
    return path


def pretrained(size: int, seed: int, extra: list[str] = (), data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """FastText vectors pretrained on the rest of train.csv for this subset (``pipeline.py pretrain``)."""
    _, rest = subset(size, seed, data_dir)
    tag = "-".join(a.strip("-") for a in extra) or "default"
    out = OUT / f"vectors-{size}-seed{seed}-{tag}.model"
    if not out.exists():
        cmd = [
            sys.executable,
            str(PROJECT_ROOT / "pipeline.py"),
            "pretrain",
            "--unlabeled",
            str(rest),
            "--out",
            str(out),
            "--split-seed",
            str(seed),
            *extra,
        ]
        subprocess.run(cmd, check=True)
    return out
