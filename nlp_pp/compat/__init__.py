"""The design notebook's function names (``from NLP_pp import *``) as thin wrappers over nlp_pp.

A notebook written against ``NLP_pp.py`` runs after one changed line::

    from nlp_pp.compat import *          # was: from NLP_pp import *

Each function keeps the notebook's name, arguments and return shape and calls the library's own
step; none reimplements it. Where the notebook's behaviour was a defect the wrapper keeps the
signature but not the defect, and its docstring has a "Differences from NLP_pp.py" section. The
README section "Coming from NLP_pp.py" maps every name to the nlp_pp call that replaces it.

This module is not imported by ``import nlp_pp``; ``__all__`` holds exactly the notebook's names.
Messages that ``NLP_pp.py`` printed are logged at INFO on ``logging.getLogger("nlp_pp.compat")``
(``logging.basicConfig(level=logging.INFO)`` shows them in a notebook) and, where the notebook
printed numbers, also returned.
"""

from __future__ import annotations

from .encoding import (
    build_my_embed,
    pad_seq_x,
    set_dataloader,
    set_rare_vocab,
    set_sent_pad,
    set_word_to_idx,
    text_to_sequences,
)
from .text import (
    decompose_jamo,
    df_cleaning,
    download_stopword_list,
    remove_stopword,
    tokenize,
)

__all__ = [
    "build_my_embed",
    "decompose_jamo",
    "df_cleaning",
    "download_stopword_list",
    "pad_seq_x",
    "remove_stopword",
    "set_dataloader",
    "set_rare_vocab",
    "set_sent_pad",
    "set_word_to_idx",
    "text_to_sequences",
    "tokenize",
]
