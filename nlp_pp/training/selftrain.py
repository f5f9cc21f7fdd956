"""Self-training: the unlabelled text used a second time, as pseudo-labels (``--self-training-rounds``).

After the comparison's runs, the best model on validation (a neural run or the baseline) labels the
unlabelled texts; its calibrated, confident predictions, balanced per class, are added to the
training split and the best neural configuration is trained again (every seed). A round is kept only
when the new runs' mean validation macro-F1 beats the configuration it grew from; the kept runs then
label the next round. The kept runs are a configuration of their own (``gru + fasttext_self2``: two
rounds), ranked, reported and ensembled like any other; the runs of a round that was not kept are
deleted. Nothing here reads the test split: texts of any labelled split are left out of the pool.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ..decisions.selection import BASELINE_INIT, best_run, rank_configurations
from ..results import BASELINE, BaselineResult, RunResult, SelfTraining, SelfTrainingRound
from ..text.preprocess import preprocess
from ..text.stream import iter_new_texts
from ..vectors.batching import encode_corpus

log = logging.getLogger(__name__)


def unlabelled_pool(files, text_col: str, exclude: list[str], limit: int, seed: int) -> list[str]:
    """Distinct texts of ``files`` that are not in ``exclude`` (the labelled splits), at most ``limit``
    of them (a seeded random sample when there are more)."""
    pool = [text for chunk in iter_new_texts(files, text_col, exclude) for text in chunk]
    if len(pool) > limit:
        rng = np.random.default_rng(seed)
        pool = [pool[i] for i in sorted(rng.choice(len(pool), limit, replace=False))]
    return pool


def with_tokens(texts: list[str], tokens: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """The texts that keep at least one token, and their tokens: an empty one reads as padding alone, and
    a teacher may well be sure of it, so pseudo-labels would add copies of one empty row.

    >>> with_tokens(["광고 문자", "🙂🙂", "밥"], [["광고", "문자"], [], ["밥"]])
    (['광고 문자', '밥'], [['광고', '문자'], ['밥']])
    """
    kept = [i for i, t in enumerate(tokens) if len(t)]
    return [texts[i] for i in kept], [tokens[i] for i in kept]


def pick_pseudo_labels(probs: np.ndarray, quota: int, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows and labels of the most confident predictions, the same number for every class.

    Per class, the rows predicted as that class with a calibrated probability of at least
    ``confidence``, most confident first; each class gets ``min(quota, fewest such rows of any
    class)``, so the pseudo-labels never shift the class balance.
    """
    pred, conf = probs.argmax(1), probs.max(1)
    per_class = []
    for k in range(probs.shape[1]):
        rows = np.flatnonzero((pred == k) & (conf >= confidence))
        per_class.append(rows[np.argsort(-conf[rows], kind="stable")])
    n = min([quota, *(len(r) for r in per_class)])
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = np.concatenate([r[:n] for r in per_class])
    return rows, pred[rows]


def self_train(c, runs: list[RunResult], baseline: BaselineResult | None, train_one, load_classifier):
    """Rounds of self-training for the comparison ``c``; returns the kept runs and the record."""
    cfg, prep = c.cfg, c.prep
    neural = rank_configurations(runs)
    if not neural:
        return [], None
    model, init = neural[0].model, neural[0].init
    current = neural[0].val_macro_f1
    top = rank_configurations(runs, baseline)[0]
    teacher = (
        BASELINE
        if top.init == BASELINE_INIT
        else best_run([r for r in runs if r.configuration == (top.model, top.init)]).key
    )
    labelled = [t for s in ("train", "val", "test") for t in prep.texts[s]]
    files = list(cfg.self_training_texts or cfg.unlabeled)
    pool = unlabelled_pool(files, cfg.text_col, labelled, cfg.self_training_max_texts, cfg.split_seed)
    tokens = preprocess(pool, cfg.preprocess, n_jobs=cfg.n_jobs)  # as the training split was
    pool, tokens = with_tokens(pool, tokens)
    pool_ids = encode_corpus(tokens, c.vocab, prep.context_length, cfg.truncating)
    n_train, k = len(prep.y["train"]), len(prep.labels)
    quota = math.ceil(n_train / (2 * k))
    log.info(
        "self-training: %d unlabelled texts, teacher %s, configuration %s + %s (validation macro-F1 %.4f)",
        len(pool),
        teacher,
        model,
        init,
        current,
    )
    rounds, kept_runs = [], []
    for r in range(1, cfg.self_training_rounds + 1):
        probs = load_classifier(c.run.work, model=teacher, device=str(c.device)).predict_proba(pool)
        rows, labels = pick_pseudo_labels(probs, r * quota, cfg.self_training_confidence)
        if len(rows) == 0:
            rounds.append(SelfTrainingRound(round=r, teacher=teacher, pseudo_labels=0, kept=False))
            log.info("self-training round %d: no confident prediction of every class; stopping", r)
            break
        extra = ([pool_ids[i] for i in rows], labels)
        students = [train_one(c, model, init, seed, extra=extra, tag=f"_self{r}") for seed in cfg.seeds]
        score = float(np.mean([s.val.macro_f1 for s in students]))
        kept = score > current
        rounds.append(
            SelfTrainingRound(
                round=r,
                teacher=teacher,
                pseudo_labels=int(len(rows)),
                val_macro_f1=score,
                previous_val_macro_f1=current,
                kept=kept,
            )
        )
        log.info(
            "self-training round %d: %d pseudo-labels from %s, validation macro-F1 %.4f vs %.4f: %s",
            r,
            len(rows),
            teacher,
            score,
            current,
            "kept" if kept else "not kept; stopping",
        )
        if not kept:
            for s in students:
                c.run.discard_model(s.key)
            break
        for s in kept_runs:
            c.run.discard_model(s.key)
        kept_runs, current = students, score
        teacher = best_run(students).key
    record = SelfTraining(
        configuration=f"{model} + {init}",
        texts=len(pool),
        confidence=cfg.self_training_confidence,
        rounds=rounds,
        rounds_kept=sum(x.kept for x in rounds),
        kept=f"{kept_runs[0].model} + {kept_runs[0].init}" if kept_runs else None,
    )
    return kept_runs, record
