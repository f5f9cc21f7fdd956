"""The notebook's data and token steps (``df_cleaning``, ``tokenize``, stopwords, jamo) over nlp_pp."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, DataError
from ..text.hangul import decompose_tokens
from ..text.parallel import map_chunks
from ..text.stopwords import load_stopwords, parse_stopwords, remove_stopwords
from ..text.tokenize import tokenize as _mecab_tokenize

if TYPE_CHECKING:
    import pandas as pd


log = logging.getLogger("nlp_pp.compat")


# --- data ------------------------------------------------------------------------------------------


def df_cleaning(dataframe: pd.DataFrame, column: str, reidx: bool = True) -> pd.DataFrame:
    """Drop rows with a missing value, then rows whose ``column`` repeats an earlier row's.

    Calls :func:`nlp_pp.text.load.drop_missing_and_duplicates`, the step :func:`nlp_pp.load_dataset`
    uses when it reads a CSV.

    Parameters
    ----------
    dataframe : pandas.DataFrame
        The raw data (``pd.read_csv(...)``); not modified.
    column : str
        The text column (``'content'``): duplicates are judged on it alone, the first one is kept.
    reidx : bool, default True
        Reset the index to ``0..n-1`` (as the later ``NLP_pp.py`` did); ``False`` keeps the
        original row labels.

    Returns
    -------
    pandas.DataFrame
        The kept rows, every column. A missing value in *any* column drops the row, as in the
        notebook. The numbers of rows dropped are logged at INFO.

    Raises
    ------
    DataError
        If ``column`` is not a column of ``dataframe``.

    Differences from NLP_pp.py
    --------------------------
    The index is reset by default (the first ``NLP_pp.py`` kept the gaps the dropped rows left).
    ``nlp_pp.load_dataset(path, text_col, label_col)`` does this while reading the file and
    looks at the text and label columns only.
    """
    import pandas as pd

    from ..text.load import drop_missing_and_duplicates, require_columns

    if not isinstance(dataframe, pd.DataFrame):
        raise ConfigError(
            f"df_cleaning needs a pandas DataFrame, e.g. pd.read_csv(path) (got {type(dataframe).__name__})"
        )
    require_columns(dataframe, [column], "the DataFrame", "df_cleaning's column argument")
    kept, missing, duplicates = drop_missing_and_duplicates(dataframe, column)
    log.info(
        "df_cleaning: %d rows read, %d dropped as missing, %d as duplicate %r, %d kept",
        len(dataframe),
        missing,
        duplicates,
        column,
        len(kept),
    )
    return kept.reset_index(drop=True) if reidx else kept


# --- tokens ----------------------------------------------------------------------------------------


def _as_texts(x_data: Iterable[Any]) -> list[str]:
    """Texts as strings; a missing one (None, NaN) is the empty text, as in :func:`nlp_pp.preprocess`."""
    if isinstance(x_data, (str, bytes)) or not isinstance(x_data, Iterable):
        raise ConfigError(
            f"x_data must be a list (or pandas Series) of texts, not one {type(x_data).__name__}; "
            "wrap a single text in a list: [text]"
        )
    return ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in x_data]


def token_lists(data: Any, name: str) -> list[list[str]]:
    """A list of token lists (one per text); one string or one flat token list is refused, since
    iterating it would silently treat each character or each token as a text."""
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise ConfigError(
            f"{name} must be a list of token lists (one per text), not one {type(data).__name__}"
        )
    out = []
    for tokens in data:
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
            raise ConfigError(
                f"{name} must be a list of token lists (one per text), e.g. tokenize's output; it holds "
                f"a {type(tokens).__name__} where a token list belongs (wrap one text's tokens: [tokens])"
            )
        out.append(list(tokens))
    return out


def tokenize(x_data: Iterable[str], word_tokenizer: Any = None, *, progress: bool = True) -> list[list[str]]:
    """MeCab morphs of each text, in order, with a tqdm progress bar.

    Parameters
    ----------
    x_data : iterable of str
        The texts (a list or a pandas Series). A missing text (None, NaN) gives no tokens.
    word_tokenizer : python-mecab-ko ``MeCab()``, object with ``.morphs(text)``, callable, or None
        The notebook's ``MeCab()`` instance (``from mecab import MeCab``) or any object whose
        ``.morphs(text)`` returns a token list -- used as given, so a user dictionary it was
        built with applies. A callable ``text -> tokens`` (e.g. :class:`nlp_pp.MecabTokenizer`)
        is called. ``None`` uses :func:`nlp_pp.tokenize`: the same morphs as ``MeCab().morphs``,
        about 1.85x faster.
    progress : bool, default True
        Show the progress bar (on a terminal or in a notebook).

    Returns
    -------
    list of list of str
        One token list per text.

    Raises
    ------
    ConfigError
        If ``word_tokenizer`` is neither of the above (or is the class ``MeCab``, not an instance).
    """
    texts = _as_texts(x_data)
    if word_tokenizer is None:
        return _mecab_tokenize(texts, progress=progress)
    if isinstance(word_tokenizer, type):
        raise ConfigError(
            f"word_tokenizer is the class {word_tokenizer.__name__}; pass an instance, "
            f"e.g. {word_tokenizer.__name__}()"
        )
    split = getattr(word_tokenizer, "morphs", None) or word_tokenizer
    if not callable(split):
        raise ConfigError(
            f"word_tokenizer must be a MeCab() instance, an object with .morphs(text), a callable "
            f"text -> tokens, or None for nlp_pp's tokenizer (got {type(word_tokenizer).__name__})"
        )
    return map_chunks(
        lambda chunk: [list(split(t)) if t else [] for t in chunk], texts, progress=progress, desc="MeCab"
    )


def download_stopword_list(url: str | None = None) -> list[str]:
    """A stopword list from an http(s) URL, a local file, or the project's own list.

    Parameters
    ----------
    url : str or path, optional
        An ``http(s)://`` URL (downloaded with :func:`nlp_pp.text.source.read_bytes`), the path of a local
        UTF-8 file, or ``None`` for the project's list ``stopwords/korean.txt`` (works offline).
        The text is one word per line; ``#`` starts a comment.

    Returns
    -------
    list of str
        The words, sorted, each once; blank lines and comments are left out.

    Raises
    ------
    DataError
        If the download fails, the file is missing, or the text is not UTF-8.

    Differences from NLP_pp.py
    --------------------------
    A failed download raises instead of printing the status code and returning an empty list
    (after which the notebook went on without removing any stopword). Nothing is written to
    ``kr_stopword_list.txt`` in the working directory.
    """
    from ..text.source import is_url, read_bytes

    if url is None:
        words = load_stopwords()
    elif is_url(str(url)):
        try:
            text = read_bytes(url).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(
                f"the stopword list at {url} is not UTF-8 text; download it and save it as UTF-8"
            ) from None
        words = parse_stopwords(text)
    else:
        words = load_stopwords(url)
    log.info("download_stopword_list: %d stopwords", len(words))
    return sorted(words)


def remove_stopword(tokenized_data: Iterable[Sequence[str]], stopword: Iterable[str]) -> list[list[str]]:
    """Each token list without the tokens in ``stopword`` (:func:`nlp_pp.remove_stopwords`).

    Parameters
    ----------
    tokenized_data : iterable of list of str
        Output of :func:`tokenize`.
    stopword : iterable of str
        The words to remove, e.g. from :func:`download_stopword_list`; turned into a set once,
        so each look-up is constant-time rather than a scan of the list.

    Returns
    -------
    list of list of str

    Raises
    ------
    ConfigError
        If ``stopword`` is one string (a URL or path not yet read).
    """
    if isinstance(stopword, str):
        raise ConfigError(
            "stopword must be a list of words, not one string; read the list first with "
            "download_stopword_list(url_or_path)"
        )
    stop = stopword if isinstance(stopword, frozenset) else frozenset(stopword)
    return [remove_stopwords(tokens, stop) for tokens in token_lists(tokenized_data, "tokenized_data")]


def decompose_jamo(cl_x: Iterable[Sequence[str]]) -> list[list[str]]:
    """Each token decomposed into jamo (:func:`nlp_pp.decompose_tokens`).

    Parameters
    ----------
    cl_x : iterable of list of str
        Token lists, e.g. from :func:`remove_stopword`.

    Returns
    -------
    list of list of str
        The same structure; every Hangul syllable becomes initial + medial + final jamo.

    Differences from NLP_pp.py
    --------------------------
    The jamo are Unicode *conjoining* jamo with ``ᴥ`` for a missing final consonant
    (``대출`` -> ``대ᴥ출``) instead of compatibility jamo with ``_`` (``ㄷㅐ_ㅊㅜㄹ``).
    Hangul syllables inside tokens that also hold digits or Latin letters are decomposed too
    (the notebook left such tokens whole), and :func:`nlp_pp.compose` restores every token
    exactly.
    """
    return [decompose_tokens(tokens) for tokens in token_lists(cl_x, "cl_x")]
