"""A fake classifier for the serving tests, and a tiny entry point that serves it in a real process.

``python -c "from tests.serve_fake import main; main(PORT)"`` (run from the repository root) serves
:class:`FakeClassifier` on 127.0.0.1:PORT; a bad port prints one ``error: ...`` line and exits with 2,
as ``pipeline.py`` does for every :class:`nlp_pp.errors.NlpPpError`.
"""

from __future__ import annotations

import sys
import threading
import time

LABELS = ["일상대화", "스팸문자"]


class FakeClassifier:
    """Spam if the text contains "광고"; records every ``predict`` call.

    Parameters
    ----------
    max_chars : int
        Texts longer than this are cut by the server.
    delay : float
        Seconds each ``predict`` call sleeps (to let concurrent requests pile up).
    fail_on : str, optional
        ``predict`` raises if any text contains this.
    """

    labels = LABELS

    def __init__(
        self, max_chars: int = 50, delay: float = 0.0, fail_on: str | None = None, can_explain: bool = True
    ):
        self.max_chars = max_chars
        self.can_explain = can_explain
        self.delay = delay
        self.fail_on = fail_on
        self.calls: list[tuple[list[str], bool]] = []
        self._lock = threading.Lock()

    @property
    def batch_sizes(self) -> list[int]:
        return [len(texts) for texts, _ in self.calls]

    def predict(self, texts: list[str], *, explain: bool = False) -> list[dict]:
        with self._lock:
            self.calls.append((list(texts), explain))
        if self.delay:
            time.sleep(self.delay)
        if self.fail_on is not None and any(self.fail_on in t for t in texts):
            raise RuntimeError(f"cannot classify {self.fail_on!r}\nsecond line of the message")
        out = []
        for t in texts:
            spam = "광고" in t
            p = 0.9 if spam else 0.2
            r = {
                "label": LABELS[1] if spam else LABELS[0],
                "prob": p if spam else 1 - p,
                "probs": {LABELS[0]: 1 - p, LABELS[1]: p},
                "decision": {"positive_label": LABELS[1], "threshold": 0.5, "is_positive": spam},
                "text": t,
            }  # an extra key the server passes through: lets tests check the order
            if explain:
                r["explanation"] = [
                    {"token": w, "contribution": 1.0 if w == "광고" else -0.1} for w in t.split()
                ]
            out.append(r)
        return out

    def metadata(self) -> dict:
        return {
            "name": "fake",
            "labels": list(LABELS),
            "threshold": 0.5,
            "temperature": 1.0,
            "max_chars": self.max_chars,
            "versions": {"nlp_pp": "test"},
        }


def main(port: int, delay: float = 0.0, **options) -> None:
    """Serve a :class:`FakeClassifier` on 127.0.0.1:``port`` until terminated (``options``: serve's)."""
    from nlp_pp.deploy.serve import serve
    from nlp_pp.errors import NlpPpError

    try:
        serve(FakeClassifier(delay=delay), port=port, log_level="warning", **options)
    except NlpPpError as e:
        sys.stderr.write(f"error: {e}\n")
        raise SystemExit(e.exit_code) from None
