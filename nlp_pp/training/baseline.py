"""The reference baseline: TF-IDF (character 1-4 + word 1-2 n-grams) with logistic regression.

:class:`TfidfBaseline` is saved as arrays (vocabularies, idf weights, coefficients) in NumPy's
``.npz`` format and read back with ``allow_pickle=False``: a saved baseline cannot execute code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ..errors import RunError
from .rundir import atomic_write

FORMAT = "nlp_pp.tfidf/1"
# The two feature sets: (name, TfidfVectorizer options). min_df 2 and sublinear tf as usual for short texts.
FEATURES = (
    ("char", {"analyzer": "char_wb", "ngram_range": (1, 4)}),
    ("word", {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b"}),
)
_COMMON = {"sublinear_tf": True, "min_df": 2}
PREDICT_CHUNK = 50_000  # texts featurised at a time when predicting


def baseline_rows(rows: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """The rows the baseline is fitted on: all of ``rows``, or a seeded sample of ``limit`` of them in
    their order (``--baseline-max-rows``: a linear model's fit stops gaining long before millions).

    >>> baseline_rows(np.arange(5), None, 0).tolist(), len(baseline_rows(np.arange(5), 3, 0))
    ([0, 1, 2, 3, 4], 3)
    """
    rows = np.asarray(rows)
    if limit is None or len(rows) <= limit:
        return rows
    return rows[np.sort(np.random.default_rng(seed).permutation(len(rows))[:limit])]


class TfidfBaseline:
    """Character 1-4 + word 1-2 TF-IDF features and a logistic regression, fitted on the training split.

    Examples
    --------
    >>> m = TfidfBaseline.fit(["무료 쿠폰", "무료 대출", "밥 먹자", "밥 먹었어"] * 3, [1, 1, 0, 0] * 3)
    >>> m.predict_proba(["무료 쿠폰 받으세요"]).argmax(1).tolist()
    [1]
    """

    def __init__(self, vectorizers: list[TfidfVectorizer], classifier: LogisticRegression, num_classes: int):
        self.vectorizers, self.classifier, self.num_classes = vectorizers, classifier, num_classes

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[int],
        *,
        num_classes: int | None = None,
        C: float = 4.0,
        max_features: int | None = 500_000,
        seed: int = 0,
        class_weight: dict[int, float] | str | None = None,
    ) -> TfidfBaseline:
        """Fit on the training texts and integer labels ``0..num_classes-1`` (``class_weight`` as
        scikit-learn's)."""
        from ..errors import DataError

        labels = np.asarray(labels)
        vectorizers = [TfidfVectorizer(**opts, **_COMMON, max_features=max_features) for _, opts in FEATURES]
        blocks = []
        for name, vec in zip((n for n, _ in FEATURES), vectorizers):
            try:
                blocks.append(vec.fit_transform(texts))
            except ValueError:  # "After pruning, no terms remain": no n-gram occurs twice
                raise DataError(
                    f"the TF-IDF baseline found no {name} n-gram that occurs in two training texts "
                    "(are the texts numbers or single words?); check --text-col, or run with "
                    "--no-baseline"
                ) from None
        clf = LogisticRegression(C=C, max_iter=2000, random_state=seed, class_weight=class_weight)
        clf.fit(sparse.hstack(blocks).tocsr(), labels)
        return cls(vectorizers, clf, int(num_classes or labels.max() + 1))

    def predict_proba(self, texts: Sequence[str], clean: Callable[[str], str] | None = None) -> np.ndarray:
        """Class probabilities ``[N, num_classes]``; a class absent from training gets 0.

        Texts are featurised :data:`PREDICT_CHUNK` at a time (each row's probabilities depend on that
        row alone), so the sparse features of a large test split are never held whole; ``clean``, if
        given, is applied to each chunk's texts first (so the cleaned texts are not held whole either).
        """
        out = np.zeros((len(texts), self.num_classes), dtype=np.float64)
        for start in range(0, len(texts), PREDICT_CHUNK):
            chunk = texts[start : start + PREDICT_CHUNK]
            if clean is not None:
                chunk = [clean(t) for t in chunk]
            x = sparse.hstack([v.transform(chunk) for v in self.vectorizers]).tocsr()
            out[start : start + len(chunk), self.classifier.classes_] = self.classifier.predict_proba(x)
        return out

    # -- storage without pickle -------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the fitted model as arrays to one ``.npz`` file (atomically)."""
        arrays: dict[str, np.ndarray] = {}
        for (name, _), vec in zip(FEATURES, self.vectorizers):
            terms = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
            arrays[f"{name}_terms"] = np.array(terms, dtype=str)
            arrays[f"{name}_idf"] = vec.idf_
        clf = self.classifier
        arrays.update(coef=clf.coef_, intercept=clf.intercept_, classes=clf.classes_.astype(np.int64))
        arrays["meta"] = np.array(json.dumps({"format": FORMAT, "num_classes": self.num_classes}))
        with atomic_write(Path(path), "wb") as f:
            np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> TfidfBaseline:
        """Read a model written by :meth:`save` (no code can run); damaged -> :class:`RunError`."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta.get("format") != FORMAT:
                    raise ValueError(f"format {meta.get('format')!r}")
                vectorizers = []
                for name, opts in FEATURES:
                    terms = z[f"{name}_terms"].tolist()
                    vec = TfidfVectorizer(**opts, **_COMMON, vocabulary={t: i for i, t in enumerate(terms)})
                    vec.idf_ = z[f"{name}_idf"]
                    vectorizers.append(vec)
                clf = LogisticRegression()
                clf.coef_, clf.intercept_, clf.classes_ = z["coef"], z["intercept"], z["classes"]
            num_classes = int(meta["num_classes"])
        except (OSError, ValueError, KeyError, TypeError, EOFError, json.JSONDecodeError) as e:
            raise RunError(
                f"cannot read the baseline model {path} ({e.__class__.__name__}): corrupt or incompatible"
            ) from None
        n_features = sum(len(v.vocabulary) for v in vectorizers)
        if clf.coef_.shape[1] != n_features or clf.classes_.max(initial=0) >= num_classes:
            raise RunError(f"the baseline model {path} is inconsistent (coefficients vs vocabulary)")
        return cls(vectorizers, clf, num_classes)
