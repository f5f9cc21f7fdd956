"""What to label next (``pipeline.py suggest``): uncertain messages, spread over the text's clusters.

From an unlabelled file, rank the messages by how much a label would teach the model: the calibrated
best model of a run (or ``--model``) is least sure about them. Taking the top of that list alone
would hand the labeller near-duplicates (a hundred variants of one spam template are uncertain for
the same reason), so the most uncertain candidates are clustered (character n-gram TF-IDF, reduced
by truncated SVD, k-means) and each cluster gives its most uncertain message. Messages already
labelled (any row of the run's ``--data``) or in its test file, and messages the run's preprocessing
turns into the same tokens as one of those, are left out, as are duplicates within the file.

The file holds raw messages (a CSV column or one per line), so it has no preprocessing of its own:
they are preprocessed with the run's saved options (``run.json``), exactly as ``predict`` does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..text.hashing import hash_texts

log = logging.getLogger(__name__)

CANDIDATES_PER_PICK = 10  # the most uncertain n * this many messages are clustered
MIN_CANDIDATES = 2000


@dataclass(frozen=True)
class Suggestion:
    """The chosen messages, most uncertain first, and what was left out."""

    texts: list[str]
    uncertainty: list[float]
    read: int  # messages in the file (blank ones skipped)
    duplicates: int  # repeated within the file
    labelled: int  # already labelled, in the test file, or the same tokens as one of those
    model: str


def _token_keys(tokens: list[list[str]]) -> np.ndarray:
    return hash_texts(["\x1f".join(t) for t in tokens])


def embed(texts: list[str], dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit-length dense vectors of ``texts``: character 1-3-gram TF-IDF, truncated SVD."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.preprocessing import normalize

    counts = HashingVectorizer(
        analyzer="char_wb", ngram_range=(1, 3), n_features=2**18, alternate_sign=False, norm=None
    ).transform(texts)
    x = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    k = min(dim, x.shape[0] - 1, x.shape[1] - 1)
    if k < 2:
        return normalize(x.toarray()[:, :2] if x.shape[1] >= 2 else np.ones((len(texts), 1)))
    return normalize(TruncatedSVD(n_components=k, random_state=seed).fit_transform(x))


def spread_pick(uncertainty: np.ndarray, vectors: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` row indices: k-means with ``n`` clusters, the most uncertain row of each, most uncertain
    first. With ``n`` rows or fewer, all of them."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(uncertainty) <= n:
        return np.argsort(-uncertainty, kind="stable")
    algo = KMeans if len(uncertainty) <= 5000 else MiniBatchKMeans
    labels = algo(n_clusters=n, n_init=1, random_state=seed).fit_predict(vectors)
    picked = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        picked.append(rows[np.argmax(uncertainty[rows])])
    picked = np.array(picked)
    if len(picked) < n:  # k-means may leave clusters empty: fill with the most uncertain others
        rest = np.setdiff1d(np.argsort(-uncertainty, kind="stable"), picked, assume_unique=True)
        picked = np.concatenate([picked, rest[: n - len(picked)]])
    return picked[np.argsort(-uncertainty[picked], kind="stable")]


def read_unlabelled(path, text_col: str) -> tuple[list[str], int]:
    """Distinct texts of ``path`` in file order, and how many repeats were dropped."""
    from ..text.stream import iter_unlabeled_texts

    seen, texts, repeats = set(), [], 0
    for chunk in iter_unlabeled_texts(path, text_col):
        for text, h in zip(chunk, hash_texts(chunk).tolist()):
            if h in seen:
                repeats += 1
            else:
                seen.add(h)
                texts.append(text)
    return texts, repeats


def suggest(classifier, texts: list[str], known: list[str], n: int, *, seed: int = 0, repeats: int = 0):
    """The :class:`Suggestion` of ``n`` of ``texts`` for ``classifier``, leaving out ``known`` texts."""
    from ..text.preprocess import preprocess

    check_n(n)
    read = len(texts) + repeats
    pre = classifier.preprocess_config
    known_raw = set(hash_texts(known).tolist())
    known_tok = set(_token_keys(preprocess(known, pre)).tolist()) if known else set()
    keep = [i for i, h in enumerate(hash_texts(texts).tolist()) if h not in known_raw]
    if keep:
        tok_keys = _token_keys(preprocess([texts[i] for i in keep], pre)).tolist()
        keep = [i for i, h in zip(keep, tok_keys) if h not in known_tok]
    pool = [texts[i] for i in keep]
    left_out = len(texts) - len(pool)
    if not pool:
        raise DataError(
            f"every one of the file's {read:,} messages is already labelled or in the test split (or a "
            "repeat): nothing to suggest"
        )
    if n > len(pool):
        raise DataError(
            f"--n {n:,} is more than the {len(pool):,} messages of the file that are not already labelled, "
            f"in the test split or repeats ({read:,} read); ask for at most {len(pool):,}"
        )
    probs = classifier.predict_proba(pool)
    uncertainty = 1.0 - probs.max(1)
    m = min(len(pool), max(MIN_CANDIDATES, CANDIDATES_PER_PICK * n))
    top = np.argsort(-uncertainty, kind="stable")[:m]
    chosen = top[spread_pick(uncertainty[top], embed([pool[i] for i in top], seed=seed), n, seed=seed)]
    log.info(
        "suggest: %d messages read, %d repeats, %d already labelled or in the test split; %d candidates "
        "clustered, %d chosen",
        read,
        repeats,
        left_out,
        m,
        n,
    )
    return Suggestion(
        texts=[pool[i] for i in chosen],
        uncertainty=[float(uncertainty[i]) for i in chosen],
        read=read,
        duplicates=repeats,
        labelled=left_out,
        model=classifier.name,
    )


@dataclass(frozen=True)
class RunSources:
    """Where a run's labelled texts came from: its files, their columns and encoding."""

    data: str
    test: str | None
    text_col: str
    label_col: str
    columns: list[str]  # the data file's, in order
    encoding: str | None  # the run's --encoding (None: detected)


def run_sources(run: Path) -> RunSources:
    """The run's data file, test file, text and label columns, the data file's columns and the encoding."""
    from ..config import ExperimentConfig
    from ..errors import RunError
    from ..files import read_json
    from ..resources import sample_data
    from ..text.load import read_csv
    from ..text.source import is_url

    saved = read_json(run / "config.json")
    if not isinstance(saved, dict) or not isinstance(saved.get("experiment"), dict):
        raise RunError(f"{run}/config.json is corrupt or from an incompatible version")
    cfg = ExperimentConfig.from_dict(saved["experiment"], saved=True)
    data = str(cfg.data) if cfg.data is not None else str(sample_data())
    for flag, source in (("--data", data), ("--test-data", cfg.test_data)):
        if source is not None and (is_url(str(source)) or not Path(source).is_file()):
            raise DataError(
                f"the run's {flag} {source} is not a local file any more: suggest reads it to leave out the "
                "messages that are already labelled or in the test split"
            )
    df, _, _ = read_csv(data, cfg.encoding)
    return RunSources(data, cfg.test_data, cfg.text_col, cfg.label_col, list(df.columns), cfg.encoding)


def known_texts(data: str, test: str | None, text_col: str, encoding: str | None = None) -> list[str]:
    from ..text.load import read_csv, require_columns

    out = []
    for source in (data, test):
        if source is None:
            continue
        df, _, _ = read_csv(source, encoding)
        require_columns(df, (text_col,), source, "the run's --text-col")
        out += df[text_col].dropna().astype(str).tolist()
    return out


def write_suggestions(path: Path, s: Suggestion, columns: list[str], text_col: str, label_col: str) -> None:
    """A CSV in the training file's columns: the text, an empty label, other columns empty."""
    import pandas as pd

    from ..files import atomic_write

    cols = columns if text_col in columns and label_col in columns else [text_col, label_col]
    df = pd.DataFrame({c: (s.texts if c == text_col else [""] * len(s.texts)) for c in cols})
    with atomic_write(path, "w", what="the suggestions") as f:
        df.to_csv(f, index=False, lineterminator="\n")


def check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"--n must be a positive number of messages (got {n!r})")
    return n
