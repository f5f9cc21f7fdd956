"""Why was this message flagged? Token contributions by occlusion, for one message or a data set.

* :func:`occlusion` — how much each token raises the probability of a class: ``p(class | message)``
  minus ``p(class | message without that token)``, all variants scored in one batched call.
* :func:`top_contributions` — the ``k`` tokens with the largest absolute contribution.
* :func:`aggregate_contributions` — over many messages, the tokens that push messages towards the
  class they are predicted as.

The model is any callable mapping a batch of token-id sequences to an ``(n, k)`` probability array,
so this module does not depend on PyTorch or on the pipeline.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..results import ExplainedMistake, Explanations

logger = logging.getLogger(__name__)

PredictProba = Callable[[list[list[int]]], np.ndarray]


def occlusion(token_ids: Sequence[int], predict_proba: PredictProba, target: int) -> np.ndarray:
    """Contribution of each position to the probability of class ``target``.

    Parameters
    ----------
    token_ids : the message as vocabulary indices.
    predict_proba : maps a list of sequences (of different lengths) to an ``(len(batch), k)`` array of
        class probabilities. It must accept the empty sequence: occluding the only token of a
        one-token message leaves one.
    target : class whose probability is explained (usually the predicted class).

    Returns
    -------
    np.ndarray
        ``(len(token_ids),)`` float64: ``p(target | full) - p(target | full without position i)``.
        Positive values push the message towards ``target``. Empty input gives an empty array
        without calling the model.

    Notes
    -----
    The token is **removed**, not replaced by ``<UNK>`` or ``<PAD>``: ``<UNK>`` has a learned
    embedding of its own (unknown, often obfuscated, words are themselves a spam signal), and a
    ``<PAD>`` in the middle of a sequence is input the model never saw in training. Removal gives a
    shorter but ordinary message. The full sequence and its ``n`` variants go to ``predict_proba``
    in **one** batched call.
    """
    ids = [int(t) for t in token_ids]
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    batch = [ids] + [ids[:i] + ids[i + 1 :] for i in range(n)]
    probs = np.asarray(predict_proba(batch), dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] != n + 1:
        raise DataError(
            f"predict_proba must return one row of class probabilities per sequence "
            f"(expected {n + 1} rows, got shape {probs.shape})"
        )
    if not 0 <= target < probs.shape[1]:
        raise ConfigError(f"target class {target} is out of range for {probs.shape[1]} classes")
    return probs[0, target] - probs[1:, target]


def top_contributions(
    tokens: Sequence[str],
    contributions: Sequence[float] | np.ndarray,
    k: int = 5,
    display: Callable[[str], str] | None = None,
) -> list[tuple[str, float]]:
    """The ``k`` positions with the largest absolute contribution, largest first, values signed.

    Every position is its own entry (a token occurring twice appears twice; nothing is merged); ties
    keep the order of the message. ``display`` turns a token into what is shown (e.g.
    :func:`nlp_pp.text.hangul.compose` for jamo tokens); by default tokens are shown as given.
    """
    if len(tokens) != len(contributions):
        raise DataError(f"{len(tokens)} tokens but {len(contributions)} contributions")
    if not isinstance(k, int) or k < 0:
        raise ConfigError(f"k must be a non-negative integer (got {k!r})")
    values = np.asarray(contributions, dtype=np.float64)
    order = np.argsort(-np.abs(values), kind="stable")[:k]
    show = display or str
    return [(show(tokens[i]), float(values[i])) for i in order]


def aggregate_contributions(
    items: Iterable[tuple[Sequence[str], Sequence[float] | np.ndarray, int]],
    min_count: int = 5,
    top: int | None = 20,
    display: Callable[[str], str] | None = None,
) -> dict[int, list[tuple[str, float, int]]]:
    """Over a data set, the tokens that push messages towards the class they are predicted as.

    Parameters
    ----------
    items : ``(tokens, contributions, predicted_class)`` per message, where ``contributions`` were
        computed towards ``predicted_class`` (``occlusion(..., target=predicted_class)``).
    min_count : a token must occur at least this many times among the messages predicted as a class
        to be listed for it (a mean over one or two occurrences is noise).
    top : keep the ``top`` tokens per class (``None``: all).
    display : applied to the tokens of the output (e.g. :func:`nlp_pp.text.hangul.compose`).

    Returns
    -------
    dict
        ``{class: [(token, mean_contribution, count), ...]}`` for every predicted class seen, sorted
        by mean signed contribution (largest first; ties: more occurrences first, then the token).
        ``count`` counts occurrences (a token twice in one message counts twice) and the mean is
        over those occurrences. Tokens are grouped as given, before ``display``.
    """
    if not isinstance(min_count, int) or min_count < 1:
        raise ConfigError(f"min_count must be a positive integer (got {min_count!r})")
    if top is not None and (not isinstance(top, int) or top < 0):
        raise ConfigError(f"top must be a non-negative integer or None (got {top!r})")
    sums: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for tokens, contributions, cls in items:
        if len(tokens) != len(contributions):
            raise DataError(f"{len(tokens)} tokens but {len(contributions)} contributions")
        cls = int(cls)
        for token, value in zip(tokens, np.asarray(contributions, dtype=np.float64).tolist()):
            sums[cls][token] += value
            counts[cls][token] += 1
    show = display or str
    out: dict[int, list[tuple[str, float, int]]] = {}
    for cls in sorted(counts):
        rows = [(t, sums[cls][t] / c, c) for t, c in counts[cls].items() if c >= min_count]
        rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
        out[cls] = [(show(t), float(m), int(c)) for t, m, c in rows[:top]]
    return out


def explain_test_set(
    classifier,
    texts: Sequence[str],
    y_true: Sequence[int],
    *,
    limit: int = 1000,
    mistakes: int = 15,
    min_count: int = 5,
    seed: int = 0,
) -> Explanations:
    """What the report shows about a neural classifier's reasons on the test split.

    ``per_class``: the tokens that most often push messages to each class (over a seeded sample of
    at most ``limit`` test messages, each explained toward its predicted class); ``misclassified``:
    up to ``mistakes`` wrong predictions, the most confident first, with every token's contribution
    toward the (wrong) predicted label. Tokens are shown composed back from jamo.
    """
    from ..text.hangul import compose

    texts, y_true = list(texts), np.asarray(y_true)
    probs = classifier.predict_proba(texts)
    pred = classifier.decide(probs)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.permutation(len(texts))[:limit])
    explained = classifier.token_contributions([texts[i] for i in sample], pred[sample])
    per_class = aggregate_contributions(
        ((t, c, p) for (t, c), p in zip(explained, pred[sample])),
        min_count=min_count,
        top=15,
        display=compose,
    )
    wrong = np.flatnonzero(pred != y_true)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:mistakes]
    contributions = classifier.token_contributions([texts[i] for i in wrong], pred[wrong])
    labels = classifier.labels
    return Explanations(
        model=classifier.name,
        sample=int(len(sample)),
        min_count=min_count,
        per_class={labels[k]: [(t, float(m), int(n)) for t, m, n in rows] for k, rows in per_class.items()},
        misclassified=[
            ExplainedMistake(
                text=texts[i],
                true=labels[y_true[i]],
                pred=labels[pred[i]],
                prob=float(probs[i, pred[i]]),
                tokens=[(compose(t), float(v)) for t, v in zip(toks, contrib)],
            )
            for i, (toks, contrib) in zip(wrong, contributions)
        ],
    )
