"""Word vectors on disk without pickle: one ``.npz`` file that cannot run code when loaded.

gensim's own ``save``/``load`` is pickle: loading a file someone hands you runs whatever it was
crafted to run, and a truncated file fails with an obscure unpickling error. :func:`save_vectors`
writes a gensim ``KeyedVectors`` -- plain (e.g. read from a ``.vec`` file) or FastText with its
character n-gram buckets, so out-of-vocabulary words still get vectors -- to a single NumPy
``.npz`` archive holding only numeric and unicode arrays; :func:`load_vectors` reads it back with
pickle disabled, validates it and rebuilds an equal gensim object.

File layout (format ``nlp_pp.vectors/1``), one ``<name>.npy`` member per array, all stored
uncompressed (``ZIP_STORED``, like :func:`numpy.savez`) and C-ordered:

==================  ======================  ====================================================
array               dtype, shape            content
==================  ======================  ====================================================
``format``          ``<U``, ``()``          ``"nlp_pp.vectors/1"``
``kind``            ``<U``, ``()``          ``"fasttext"`` or ``"keyed"``
``meta``            ``<U``, ``()``          the caller's ``meta`` dict as a JSON string
``writer``          ``<U``, ``()``          library versions that wrote the file (informative)
``vocab_utf8``      ``uint8``, ``(B,)``     the words in index order, UTF-8, concatenated
``vocab_offsets``   ``int64``, ``(n+1,)``   word ``i`` is ``vocab_utf8[off[i]:off[i+1]]``
``vectors``         float, ``(n, dim)``     the word vectors gensim answers ``wv[word]`` with
``attr_<name>``     number, ``(n,)``        optional per-word attributes (gensim ``count``...)
``vectors_vocab``   float, ``(n, dim)``     FastText only: the trained full-word vectors
``vectors_ngrams``  float, ``(bucket, dim)``  FastText only: one vector per n-gram hash bucket
``ngram_params``    ``int64``, ``(3,)``     FastText only: ``min_n, max_n, bucket``
``array_<name>``    number, ``(m,)``        optional extra arrays of the caller (``arrays=``):
                                            bool, (u)int8-64 or float16-64, native byte order
==================  ======================  ====================================================

Extra arrays (e.g. the hashes of the texts pretrained vectors were trained on: one ``uint64``
per text, millions of them, too many for the JSON ``meta``) are named like per-word attributes
(``[A-Za-z_][A-Za-z0-9_]{0,63}``), one-dimensional, of an allow-listed dtype, and validated on
reading like every other member. A file with extra arrays keeps the format tag
``nlp_pp.vectors/1``; versions of nlp_pp older than this option refuse it with "unexpected member".

The vocabulary is UTF-8 bytes plus offsets (a ``<U`` array costs ``4 x n x longest word`` bytes).

Integrity: each member's CRC-32 is checked; its declared dtype and shape are checked against its
stored size and the other arrays before reading (a crafted header cannot make the loader allocate
more than the file holds). Any failure is a one-line :class:`~nlp_pp.errors.RunError`.

gensim internals relied on (the gensim 4 API; tested with 4.4.0): the ``KeyedVectors`` and
``FastTextKeyedVectors`` constructors and their ``index_to_key``, ``key_to_index``, ``next_index``,
``vectors``, ``norms``, ``expandos``, ``vectors_vocab``, ``vectors_ngrams``, ``min_n``, ``max_n``,
``bucket``, ``*_lockf`` attributes and ``recalc_char_ngram_buckets()``. The composite ``vectors`` are
stored rather than recomputed with ``adjust_vectors()``, so the rebuilt object answers exactly like
the saved one.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.lib.format as npy_format

from ..errors import RunError, first_line
from ..files import atomic_write
from .fasttext import fasttext_vectors_from, keyed_vectors_from

if TYPE_CHECKING:  # pragma: no cover
    from gensim.models import KeyedVectors

logger = logging.getLogger(__name__)

FORMAT = "nlp_pp.vectors/1"
FORMAT_PREFIX = "nlp_pp.vectors/"
KIND_FASTTEXT = "fasttext"
KIND_KEYED = "keyed"

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_ATTR_PREFIX = "attr_"
_ARRAY_PREFIX = "array_"
# dtypes an extra array may have (native byte order): no objects, strings, structures or dates
_ARRAY_DTYPES = frozenset(
    np.dtype(t)
    for t in (
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
    )
)
_ATTR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
_MAX_NGRAM_LEN = 1 << 16  # min_n/max_n beyond this are not a real model
_MAX_BUCKET = 1 << 40


class _Invalid(Exception):
    """Internal: the file is not a valid vectors file; the message completes "... {path}: <msg>"."""


# --------------------------------------------------------------------------------------------- save


def save_vectors(
    wv: KeyedVectors,
    path: str | os.PathLike,
    meta: dict | None = None,
    *,
    arrays: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write word vectors to ``path`` as one ``.npz`` file (no pickle), atomically.

    Parameters
    ----------
    wv : gensim.models.KeyedVectors
        The vectors: a ``FastTextKeyedVectors`` (``model.wv`` of a gensim FastText model, or
        ``load_facebook_vectors``), saved with its n-gram buckets so unknown words keep their
        vectors, or a plain ``KeyedVectors`` (e.g. from a ``.vec`` file). Keys must be strings.
    path : str or os.PathLike
        Destination file, used exactly as given (NumPy's ``.npz`` suffix is *not* appended). Its
        directory must exist. An existing file is replaced only once the new one is complete.
    meta : dict, optional
        JSON-serialisable information stored with the vectors (preprocessing settings, corpus
        statistics...); :func:`load_vectors` returns it.
    arrays : mapping of str to numpy.ndarray, optional
        Extra one-dimensional numeric arrays stored beside the vectors (e.g. ``{"text_hashes":
        uint64 array}``), returned by ``load_vectors(path, arrays=True)``. Names match
        ``[A-Za-z_][A-Za-z0-9_]{0,63}``; dtypes are bool, (u)int8-64 or float16-64 in native byte
        order (anything else is refused, never converted).

    Raises
    ------
    RunError
        The file cannot be written: no space left on device, permission denied, missing directory,
        read-only file system... (one line naming the file). Nothing is left behind at ``path``.
    TypeError
        ``wv`` is not a gensim ``KeyedVectors`` with string keys, ``meta`` is not a
        JSON-serialisable dict, or an extra array is not a NumPy array of an allowed dtype.
    ValueError
        ``wv`` is internally inconsistent (vocabulary and vector rows differ...), or an extra
        array has a bad name or is not one-dimensional.
    """
    extra = _extra_arrays(arrays)
    members = _arrays_of(wv, meta)
    members.update(extra)
    path = Path(path)
    _write_npz(path, members)
    logger.debug(
        "saved %d %s vectors (dim %d) and %d extra arrays to %s",
        len(wv.index_to_key),
        members["kind"].item(),
        members["vectors"].shape[1],
        len(extra),
        path,
    )


def _extra_arrays(arrays: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """The caller's extra arrays as members ``array_<name>``, checked (C-contiguous, no copies if already)."""
    if arrays is None:
        return {}
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a dict of name -> numpy array, not {type(arrays).__name__}")
    out = {}
    for name, a in arrays.items():
        if not isinstance(name, str) or not _ATTR_NAME.match(name):
            raise ValueError(
                f"array name {name!r} is not allowed; use letters, digits and _ (at most 64, "
                "not starting with a digit)"
            )
        if not isinstance(a, np.ndarray):
            raise TypeError(f"array {name!r} must be a numpy array, not {type(a).__name__}")
        if a.dtype not in _ARRAY_DTYPES or not a.dtype.isnative:
            raise TypeError(
                f"array {name!r} has dtype {a.dtype}; allowed are bool, (u)int8-64 and float16-64 "
                "in native byte order"
            )
        if a.ndim != 1:
            raise ValueError(f"array {name!r} must be one-dimensional (got shape {a.shape})")
        out[_ARRAY_PREFIX + name] = np.ascontiguousarray(a)
    return out


def _arrays_of(wv: Any, meta: dict | None) -> dict[str, np.ndarray]:
    """The arrays of the file, in writing order; large arrays are the model's own (no copies)."""
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import FastTextKeyedVectors

    if not isinstance(wv, KeyedVectors):
        raise TypeError(f"save_vectors needs a gensim KeyedVectors (e.g. model.wv), not {type(wv).__name__}")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, not {type(meta).__name__}")
    try:
        meta_json = json.dumps(meta, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise TypeError(f"meta must be JSON-serialisable ({e})") from None

    keys = list(wv.index_to_key)
    n = len(keys)
    vectors = wv.vectors
    if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.shape[0] != n:
        raise ValueError(f"the vectors ({getattr(vectors, 'shape', None)}) do not match the {n} keys")
    _check_float(vectors, "vectors")
    dim = vectors.shape[1]
    encoded = []
    for k in keys:
        if not isinstance(k, str):
            raise TypeError(f"only string keys can be saved (found {type(k).__name__} {k!r})")
        encoded.append(k.encode("utf-8", "surrogatepass"))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=n), out=offsets[1:])
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    del encoded

    import gensim

    fasttext = isinstance(wv, FastTextKeyedVectors)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "kind": np.array(KIND_FASTTEXT if fasttext else KIND_KEYED),
        "meta": np.array(meta_json),
        "writer": np.array(f"gensim {gensim.__version__}, numpy {np.__version__}"),
        "vocab_utf8": blob,
        "vocab_offsets": offsets,
        "vectors": vectors,
    }
    for name, values in sorted(getattr(wv, "expandos", {}).items()):
        values = np.asarray(values)
        if (
            not isinstance(name, str)
            or not _ATTR_NAME.match(name)
            or values.ndim != 1
            or values.shape[0] < n
            or values.dtype.kind not in "biuf"
        ):
            logger.warning(
                "not saving per-word attribute %r (%s %s): only numeric attributes with "
                "simple names are stored",
                name,
                values.dtype,
                values.shape,
            )
            continue
        arrays[_ATTR_PREFIX + name] = values[:n]  # a view; gensim may over-allocate
    if fasttext:
        bucket = int(wv.bucket)
        vocab_vectors = wv.vectors_vocab
        ngram_vectors = wv.vectors_ngrams
        if ngram_vectors is None and bucket == 0:
            ngram_vectors = np.zeros((0, dim), dtype=vectors.dtype)
        for name, a, rows in (("vectors_vocab", vocab_vectors, n), ("vectors_ngrams", ngram_vectors, bucket)):
            if not isinstance(a, np.ndarray) or a.shape != (rows, dim):
                raise ValueError(
                    f"FastText {name} has shape {getattr(a, 'shape', None)}, expected {(rows, dim)}"
                )
            if a.dtype != vectors.dtype:
                raise ValueError(f"FastText {name} is {a.dtype} but vectors are {vectors.dtype}")
        arrays["vectors_vocab"] = vocab_vectors
        arrays["vectors_ngrams"] = ngram_vectors
        arrays["ngram_params"] = np.array([int(wv.min_n), int(wv.max_n), bucket], dtype=np.int64)
    return arrays


def _check_float(a: np.ndarray, name: str) -> None:
    if a.dtype.kind != "f" or not a.dtype.isnative:
        raise ValueError(f"{name} must be a native float array (got {a.dtype})")


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the ``.npz`` atomically (:func:`nlp_pp.files.atomic_write`): one STORED ``.npy`` member per
    array, as ``numpy.savez`` writes it minus its pickle fallback."""
    with (
        atomic_write(path, "wb", what="word vectors") as f,
        zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
        for name, a in arrays.items():
            if a.dtype.hasobject:  # never reached for arrays built above; a guard for the format
                raise TypeError(f"refusing to store object array {name}")
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                npy_format.write_array(member, a, allow_pickle=False)


# --------------------------------------------------------------------------------------------- load


def load_vectors(
    path: str | os.PathLike, arrays: bool = False
) -> tuple[KeyedVectors, dict] | tuple[KeyedVectors, dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`save_vectors`; nothing in it is ever executed.

    Parameters
    ----------
    path : str or os.PathLike
        The vectors file.
    arrays : bool
        Also return the extra arrays saved with ``save_vectors(..., arrays=...)``. Without it they
        are still read and validated (a damaged one is an error either way) but not returned.

    Returns
    -------
    wv : gensim.models.KeyedVectors
        A ``gensim.models.fasttext.FastTextKeyedVectors`` if FastText vectors were saved (unknown
        words get their vectors from the character n-grams, exactly as before saving), else a
        plain ``KeyedVectors``. Vectors, vocabulary order, ``most_similar`` and the per-word
        ``count`` attribute are those of the saved object.
    meta : dict
        The ``meta`` given to :func:`save_vectors` (``{}`` if none).
    extra : dict of str to numpy.ndarray
        Only with ``arrays=True``: the extra arrays by name (``{}`` if none were saved).

    Raises
    ------
    RunError
        The file is missing, unreadable, empty, truncated, damaged, of another format (a pickle
        included: it is refused, not unpickled) or from an incompatible version; the message is
        one line naming the file.
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise RunError(f"word vectors file not found: {path}") from None
    except IsADirectoryError:
        raise RunError(f"word vectors path {path} is a directory, not a file") from None
    except PermissionError:
        raise RunError(f"permission denied reading word vectors {path}") from None
    except OSError as e:
        raise RunError(f"cannot open word vectors {path}: {first_line(e.strerror or str(e))}") from None
    try:
        with f:
            wv, meta, extra = _read(f, path)
    except RunError:
        raise
    except _Invalid as e:
        raise RunError(f"cannot load word vectors {path}: {e}") from None
    except zipfile.BadZipFile as e:
        text = str(e)
        if "CRC" in text:
            raise RunError(
                f"word vectors file {path} is damaged (checksum mismatch: {first_line(text)}); re-create it"
            ) from None
        if "not a zip file" in text:
            text = "the archive directory at its end is missing"
        raise RunError(
            f"word vectors file {path} is damaged or truncated ({first_line(text)}); re-create it"
        ) from None
    except OSError as e:
        raise RunError(f"cannot read word vectors {path}: {first_line(e.strerror or str(e))}") from None
    except MemoryError:
        raise RunError(f"not enough memory to load word vectors {path}") from None
    except Exception as e:  # numpy/zipfile/json raise many types for a damaged or crafted file
        raise RunError(
            f"word vectors file {path} is damaged or not an nlp_pp vectors file "
            f"({e.__class__.__name__}: {first_line(e)}); re-create it"
        ) from None
    logger.debug(
        "loaded %d %s vectors (dim %d) and %d extra arrays from %s",
        len(wv.index_to_key),
        type(wv).__name__,
        wv.vector_size,
        len(extra),
        path,
    )
    return (wv, meta, extra) if arrays else (wv, meta)


def _read(f, path: Path):
    size = os.fstat(f.fileno()).st_size
    head = f.read(8)
    if not head:
        raise _Invalid("the file is empty (0 bytes); it was not written completely, re-create it")
    if not head.startswith(_ZIP_MAGIC):
        if head[:1] == b"\x80":
            raise _Invalid(
                "it is a pickle file (e.g. a gensim .save()), not an nlp_pp vectors file; refusing "
                "to unpickle it since that can run code -- re-create the vectors with save_vectors"
            )
        if head.startswith(_NPY_MAGIC):
            raise _Invalid("it is a single .npy array, not an nlp_pp vectors archive")
        raise _Invalid("not an nlp_pp vectors file (no .npz archive signature)")
    f.seek(0)
    with zipfile.ZipFile(f) as zf:
        members = {}
        for info in zf.infolist():
            name = info.filename
            if not name.endswith(".npy") or name[:-4] in members:
                raise _Invalid(f"unexpected or duplicate member {name[:80]!r}")
            members[name[:-4]] = info
        reader = _MemberReader(zf, members, size)

        tag = reader.text("format")
        if tag != FORMAT:
            if tag.startswith(FORMAT_PREFIX):
                raise _Invalid(
                    f"format {tag!r} is not supported by this version (it reads {FORMAT!r}); "
                    "re-create the vectors or upgrade nlp_pp"
                )
            raise _Invalid(f"unknown format tag {tag[:60]!r} (expected {FORMAT!r})")
        kind = reader.text("kind")
        logger.debug("%s: %s vectors written by %s", path, kind, reader.text("writer")[:200])
        if kind not in (KIND_FASTTEXT, KIND_KEYED):
            raise _Invalid(f"unknown vectors kind {kind[:40]!r}")
        meta = json.loads(reader.text("meta"))
        if not isinstance(meta, dict):
            raise _Invalid("meta is not a JSON object")

        offsets = reader.array("vocab_offsets", kinds="i", ndim=1)
        n = offsets.shape[0] - 1
        if n < 0:
            raise _Invalid("vocab_offsets is empty")
        blob = reader.array("vocab_utf8", kinds="u", ndim=1, itemsize=1)
        words = _decode_vocab(blob, offsets)
        del blob, offsets

        vectors = reader.array("vectors", kinds="f", ndim=2, rows=n)
        dim = vectors.shape[1]
        if dim < 1:
            raise _Invalid("vectors have no dimension")
        _check_finite(vectors, "vectors")
        attrs = {}
        for key in sorted(members):
            if key.startswith(_ATTR_PREFIX):
                if not _ATTR_NAME.match(key[len(_ATTR_PREFIX) :]):
                    raise _Invalid(f"unexpected member {key[:80]!r}.npy")
                attrs[key[len(_ATTR_PREFIX) :]] = reader.array(key, kinds="biuf", ndim=1, rows=n)
        extra = {}
        for key in sorted(members):
            if key.startswith(_ARRAY_PREFIX):
                if not _ATTR_NAME.match(key[len(_ARRAY_PREFIX) :]):
                    raise _Invalid(f"unexpected member {key[:80]!r}.npy")
                extra[key[len(_ARRAY_PREFIX) :]] = reader.array(
                    key, kinds="biuf", ndim=1, dtypes=_ARRAY_DTYPES
                )

        if kind == KIND_FASTTEXT:
            params = reader.array("ngram_params", kinds="i", ndim=1, rows=3)
            min_n, max_n, bucket = (int(x) for x in params)
            if not (
                0 <= min_n <= _MAX_NGRAM_LEN and 0 <= max_n <= _MAX_NGRAM_LEN and 0 <= bucket <= _MAX_BUCKET
            ):
                raise _Invalid(f"implausible n-gram settings min_n={min_n}, max_n={max_n}, bucket={bucket}")
            vocab_vectors = reader.array("vectors_vocab", kinds="f", ndim=2, rows=n, like=vectors)
            ngram_vectors = reader.array("vectors_ngrams", kinds="f", ndim=2, rows=bucket, like=vectors)
            _check_finite(vocab_vectors, "vectors_vocab")
            _check_finite(ngram_vectors, "vectors_ngrams")
        unread = set(members) - reader.read
        if unread:  # every member is read, so the CRC and the name of each are checked
            raise _Invalid(f"unexpected member {sorted(unread)[0][:80]!r}.npy")

        if kind == KIND_FASTTEXT:
            wv = fasttext_vectors_from(words, vectors, vocab_vectors, ngram_vectors, min_n, max_n, bucket)
        else:
            wv = keyed_vectors_from(words, vectors)
        for name, values in attrs.items():
            wv.expandos[name] = values
    return wv, meta, extra


def _check_finite(a: np.ndarray, name: str) -> None:
    """Refuse NaN or infinite values (they would make every embedding and so every score NaN)."""
    finite = np.isfinite(a)
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise _Invalid(f"{name} holds NaN or infinite values (first in row {row}); re-create the vectors")


class _MemberReader:
    """Reads ``.npy`` members of an open archive after checking their headers against their sizes."""

    def __init__(self, zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], file_size: int):
        self.zf, self.members, self.file_size = zf, members, file_size
        self.read: set[str] = set()

    def _open(self, name: str):
        info = self.members.get(name)
        if info is None:
            raise _Invalid(f"array {name!r} is missing")
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise _Invalid(f"array {name!r} is compressed; nlp_pp writes uncompressed arrays")
        if info.file_size > self.file_size:
            raise _Invalid(f"array {name!r} claims {info.file_size} bytes, more than the file holds")
        return info, self.zf.open(info)

    def array(
        self,
        name: str,
        kinds: str,
        ndim: int,
        rows: int | None = None,
        itemsize: int | None = None,
        like: np.ndarray | None = None,
        dtypes: frozenset | None = None,
    ) -> np.ndarray:
        """The array ``name``, whose dtype kind is in ``kinds`` and whose shape is as given."""
        info, member = self._open(name)
        with member:
            version = npy_format.read_magic(member)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran, dtype = npy_format.read_array_header_2_0(member)
            else:
                raise _Invalid(f"array {name!r} has unsupported .npy version {version}")
            header_len = member.tell()
            if (
                dtype.hasobject
                or dtype.kind not in kinds
                or not dtype.isnative
                or dtype.fields is not None
                or dtype.subdtype is not None
                or (itemsize is not None and dtype.itemsize != itemsize)
                or (dtypes is not None and dtype not in dtypes)
            ):
                raise _Invalid(f"array {name!r} has unexpected dtype {dtype}")
            if like is not None and dtype != like.dtype:
                raise _Invalid(f"array {name!r} is {dtype} but vectors are {like.dtype}")
            if fortran:
                raise _Invalid(f"array {name!r} is Fortran-ordered; nlp_pp writes C order")
            if len(shape) != ndim or (rows is not None and shape[0] != rows):
                expected = f"{rows} rows" if rows is not None else f"{ndim} dimension(s)"
                raise _Invalid(f"array {name!r} has shape {shape}, expected {ndim}-d with {expected}")
            if like is not None and shape[1:] != like.shape[1:]:
                raise _Invalid(f"array {name!r} has shape {shape}, inconsistent with vectors {like.shape}")
            nbytes = math.prod(int(d) for d in shape) * dtype.itemsize  # Python ints: no overflow
            if header_len + nbytes != info.file_size:
                raise _Invalid(f"array {name!r} size does not match its header (truncated or altered)")
            member.seek(0)
            a = npy_format.read_array(member, allow_pickle=False)
            if member.read(1):  # also makes zipfile verify the CRC-32 if the read stopped short of it
                raise _Invalid(f"array {name!r} has trailing data")
        self.read.add(name)
        return a

    def text(self, name: str) -> str:
        a = self.array(name, kinds="U", ndim=0)
        return str(a.item())


def _decode_vocab(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    if offsets[0] != 0 or offsets[-1] != blob.shape[0] or np.any(np.diff(offsets) < 0):
        raise _Invalid("vocabulary offsets are inconsistent")
    raw = blob.tobytes()
    bounds = offsets.tolist()
    try:
        words = [raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(bounds, bounds[1:])]
    except UnicodeDecodeError:
        raise _Invalid("vocabulary is not valid UTF-8") from None
    if len(set(words)) != len(words):
        raise _Invalid("vocabulary has duplicate words")
    return words
