"""The reference baseline: TF-IDF (character 1-4 + word 1-2 n-grams) with logistic regression."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline


def tfidf_logreg(C: float = 4.0, max_features: int | None = 500_000, seed: int = 0):
    """An unfitted scikit-learn pipeline: char_wb 1-4 + word 1-2 TF-IDF (sublinear tf) -> logistic regression."""
    features = FeatureUnion([
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2,
                                 max_features=max_features)),
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                                 token_pattern=r"(?u)\b\w+\b", max_features=max_features)),
    ])
    return make_pipeline(features, LogisticRegression(C=C, max_iter=2000, random_state=seed))


def fit_predict_baseline(train_texts: Sequence[str], train_labels: Sequence[int], test_texts: Sequence[str],
                         seed: int = 0) -> np.ndarray:
    """Fit :func:`tfidf_logreg` on the training texts; class probabilities for ``test_texts``.

    Columns follow the sorted label indices; a class missing from training gets probability 0.
    """
    model = tfidf_logreg(seed=seed)
    train_labels = np.asarray(train_labels)
    model.fit(list(train_texts), train_labels)
    proba = model.predict_proba(list(test_texts))
    k = int(train_labels.max()) + 1
    out = np.zeros((len(test_texts), k), dtype=np.float64)
    out[:, model.classes_] = proba
    return out
