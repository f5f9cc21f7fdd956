"""Digest of nlp_pp's MeCab tokens on the 200k NSMC reviews, with the binding, Python and throughput.

Run from the project root with the interpreter (and MeCab binding) to check::

    python bench/bench_mecab_digest.py                          # all 200k texts, prints the result
    python bench/bench_mecab_digest.py --limit 5000              # quick check
    python bench/bench_mecab_digest.py --json out/py311.json     # also save the result as JSON
    python bench/bench_mecab_digest.py --render out/*.json       # BENCHMARKS.md section from saved results

The texts are the ``document`` column of ``train.csv`` then ``test.csv`` (a missing value is the
empty text), read from ``../shared/data/nsmc`` and never copied. The code measured is this
checkout's ``nlp_pp`` (the project root goes first on ``sys.path``), whatever is installed.

Two SHA-256 digests, both over the texts in order:

- ``morphs``: ``nlp_pp.text.tokenize.tokenize(texts)`` -- per text the morphs joined by U+001F, then
  U+001E (the scheme of ``bench_preprocess.py``, whose table shows the first 8 hex digits);
- ``pos``: ``MecabTokenizer().pos(text)`` -- per text ``morph U+001D tag`` pairs joined by U+001F,
  then U+001E.

Equal digests on two interpreters or bindings mean identical tokens and tags on all texts.
Throughput is wall time of one process on one core: ``tokenize(texts, n_jobs=1)`` (the lattice fast
path, ``--repeat`` runs, median), ``pos`` once, and -- unless ``--no-public`` -- the binding's public
API ``MeCab().morphs(text)`` once, whose digest must equal the fast path's (exit 1 otherwise).
Bad arguments or data: one ``error:`` line, exit 2.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

sys.path.insert(0, str(common.PROJECT_ROOT))  # measure this checkout's nlp_pp

SECTION = "mecab-digest"
RESULT_PREFIX = "BENCH_RESULT "
# Distributions that provide the ``mecab`` module (python-mecab-ko and its rebuild for newer Pythons).
BINDINGS = ("python-mecab-ko", "python-mecab-ko-py313")


class BenchError(Exception):
    """A problem with the arguments or the data: reported as one ``error:`` line, exit 2."""


def load_texts(data_dir: Path, limit: int | None = None) -> list[str]:
    """``document`` of train.csv then test.csv; missing values become ``""``; first ``limit`` only."""
    texts: list[str] = []
    for name in ("train.csv", "test.csv"):
        path = data_dir / name
        try:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                if "document" not in (reader.fieldnames or []):
                    raise BenchError(f"{path} has no column 'document' (columns: {reader.fieldnames})")
                for row in reader:
                    texts.append(row["document"] or "")
                    if limit is not None and len(texts) >= limit:
                        return texts
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise BenchError(f"cannot read {path}: {e}") from None
    return texts


def texts_digest(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def morphs_digest(docs: list[list[str]]) -> str:
    h = hashlib.sha256()
    for toks in docs:
        h.update("\x1f".join(toks).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def pos_digest(docs: list[list[tuple[str, str]]]) -> str:
    h = hashlib.sha256()
    for pairs in docs:
        h.update("\x1f".join(f"{m}\x1d{t}" for m, t in pairs).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def binding_facts() -> dict[str, str]:
    """Which distribution provides ``mecab``, its version, libmecab's and the dictionary's."""
    import importlib.metadata as md

    from mecab import MeCab

    owners = md.packages_distributions().get("mecab", [])
    dists = [d for d in BINDINGS if d in owners] or owners or ["unknown"]
    mecab = MeCab()
    words = sum(d.number_of_words for d in mecab.dictionary)
    return {
        "binding": ", ".join(dists),
        "binding_version": ", ".join(common.package_version(d) for d in dists),
        "libmecab": mecab._tagger.version() if hasattr(mecab._tagger, "version") else "unknown",
        "dictionary": f"python-mecab-ko-dic {common.package_version('python-mecab-ko-dic')}",
        "dictionary_words": str(words),
    }


def timed(func, *args):
    start = time.perf_counter()
    out = func(*args)
    return out, time.perf_counter() - start


def measure(texts: list[str], repeat: int, public: bool) -> dict:
    try:
        from nlp_pp.text.tokenize import MecabTokenizer, tokenize
    except ImportError:  # a checkout before the stage subpackages (0.2.0)
        from nlp_pp.tokenize import MecabTokenizer, tokenize

    tok = MecabTokenizer()
    result: dict = {"fast_path": tok._tagger is not None}
    runs = []
    morphs = None
    for _ in range(repeat):
        out, seconds = timed(tokenize, texts)
        morphs = morphs if morphs is not None else out
        runs.append(seconds)
    n_tokens = sum(len(t) for t in morphs)
    result.update(
        n_tokens=n_tokens,
        morphs_sha256=morphs_digest(morphs),
        morphs_runs_s=runs,
        morphs_s=statistics.median(runs),
    )
    pos, seconds = timed(lambda: [tok.pos(t) for t in texts])
    result.update(pos_sha256=pos_digest(pos), pos_s=seconds)
    if public:
        from mecab import MeCab

        api = MeCab()
        out, seconds = timed(lambda: [api.morphs(t) if t else [] for t in texts])
        result.update(public_sha256=morphs_digest(out), public_s=seconds)
    return result


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise BenchError(f"--limit must be a positive number of texts (got {args.limit})")
    if args.repeat < 1:
        raise BenchError(f"--repeat must be at least 1 (got {args.repeat})")
    if not args.data_dir.is_dir():
        raise BenchError(
            f"--data-dir {args.data_dir} is not a folder (it should hold NSMC's train.csv and test.csv)"
        )
    texts = load_texts(args.data_dir, args.limit)
    if not texts:
        raise BenchError(f"no texts in {args.data_dir}/train.csv and test.csv")
    try:
        facts = binding_facts()
    except ImportError as e:
        raise BenchError(f"no MeCab binding importable ({e}); pip install the project first") from None
    load = common.load_average()
    result = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        **facts,
        "n_texts": len(texts),
        "n_empty": sum(1 for t in texts if not t),
        "texts_sha256": texts_digest(texts),
        "data_dir": str(args.data_dir),
        "limit": args.limit,
        "repeat": args.repeat,
        "date": common.today(),
        "load_at_start": load,
        "cpu": common.cpu_model(),
        "cores": common.cores_available(),
        "nlp_pp_revision": common.git_revision(),
    }
    result.update(measure(texts, args.repeat, public=not args.no_public))
    print(
        f"python {result['implementation']} {result['python']} ({result['machine']}); binding "
        f"{result['binding']} "
        f"{result['binding_version']} (libmecab {result['libmecab']}); {result['dictionary']} "
        f"({int(result['dictionary_words']):,} words)"
    )
    print(
        f"texts: {result['n_texts']:,} ({result['n_empty']} empty), sha256 {result['texts_sha256'][:16]}; "
        f"path: {'lattice fast path' if result['fast_path'] else 'public API (fallback)'}"
    )
    print(f"morphs sha256 {result['morphs_sha256']}  ({result['n_tokens']:,} tokens)")
    print(f"pos    sha256 {result['pos_sha256']}")
    rate = result["n_tokens"] / result["morphs_s"]
    print(
        f"throughput: tokenize {result['morphs_s']:.2f} s (median of {args.repeat}: "
        f"{', '.join(f'{s:.2f}' for s in result['morphs_runs_s'])}), {rate:,.0f} tokens/s, "
        f"{result['n_texts'] / result['morphs_s']:,.0f} texts/s; pos {result['pos_s']:.2f} s"
    )
    status = 0
    if "public_s" in result:
        same = result["public_sha256"] == result["morphs_sha256"]
        print(
            f"public API MeCab().morphs: {result['public_s']:.2f} s, "
            f"{result['n_tokens'] / result['public_s']:,.0f} tokens/s, "
            f"fast path x{result['public_s'] / result['morphs_s']:.2f}; "
            f"digest {'equal to' if same else 'DIFFERENT from'} the fast path's"
        )
        status = 0 if same else 1
    line = json.dumps(result, ensure_ascii=False)
    print(RESULT_PREFIX + line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(line + "\n", encoding="utf-8")
    return status


# --------------------------------------------------------------------------- BENCHMARKS.md section


def render(paths: list[Path]) -> str:
    results = []
    for p in paths:
        try:
            results.append(json.loads(p.read_text(encoding="utf-8").strip().splitlines()[-1]))
        except (OSError, ValueError, IndexError) as e:
            raise BenchError(f"cannot read a result from {p}: {e}") from None
    results.sort(key=lambda r: (tuple(int(x) for x in r["python"].split(".")[:2]), r["binding"], r["date"]))
    first = results[0]
    rows = []
    for r in results:
        public = f"{r['n_tokens'] / r['public_s']:,.0f}" if "public_s" in r else "-"
        load = f"{r['load_at_start'][0]:.1f}" if r.get("load_at_start") else "n/a"
        rows.append(
            [
                r["python"],
                f"{r['binding']} {r['binding_version']}",
                r["nlp_pp_revision"],
                r["date"][11:16],
                load,
                "lattice" if r["fast_path"] else "public API",
                f"`{r['morphs_sha256'][:16]}`",
                f"`{r['pos_sha256'][:16]}`",
                f"{r['n_tokens']:,}",
                f"{r['n_tokens'] / r['morphs_s']:,.0f}",
                f"{r['n_texts'] / r['morphs_s']:,.0f}",
                public,
            ]
        )
    morphs = sorted({r["morphs_sha256"] for r in results})
    pos = sorted({r["pos_sha256"] for r in results})
    texts = sorted({r["texts_sha256"] for r in results})
    publics_equal = all(r.get("public_sha256") in (None, r["morphs_sha256"]) for r in results)
    texts_note = "" if len(texts) == 1 else " -- DIFFERENT texts between rows"
    public_note = (
        "equal to the fast path's on every row"
        if publics_equal
        else "DIFFERENT from the fast path's on some row"
    )
    libs = sorted({r["libmecab"] for r in results})
    dicts = sorted({f"{r['dictionary']} ({int(r['dictionary_words']):,} words)" for r in results})
    dates = sorted(r["date"] for r in results)
    verdict = "identical on every row" if len(morphs) == 1 and len(pos) == 1 else "DIFFERENT between rows"
    full = "\n".join([f"- morphs: `{d}`" for d in morphs] + [f"- pos: `{d}`" for d in pos])
    try:
        uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        uname = " ".join(platform.uname())
    return f"""## MeCab tokens across Python versions and bindings (mecab-digest)

Measured {dates[0][:16]} to {dates[-1][11:]} with, on each interpreter (a venv per row holding the
binding as `pip` installs it there, and numpy, tqdm, jamo):

```
python bench/bench_mecab_digest.py --repeat {first["repeat"]} --json OUT.json
python bench/bench_mecab_digest.py --render OUT*.json
```

**Data:** {first["n_texts"]:,} NSMC movie reviews ({
        first["n_empty"]
    } empty): the `document` column of `train.csv`
then `test.csv` in `../shared/data/nsmc` (texts sha256 `{texts[0][:16]}`{texts_note}).

**Machine:** {first["cpu"]}, {first["cores"]} cores available (nproc), `{uname}`.
One process on one core per run; "load" is the 1-minute load average when the run started.
libmecab {", ".join(libs)} and {"; ".join(dicts)} on every row.

**Results:** digests over all texts (first 16 hex digits; full values below). "code" is the nlp_pp
commit measured. Tokens/s and texts/s: `nlp_pp.text.tokenize.tokenize(texts, n_jobs=1)` (the lattice fast
path), median of {first["repeat"]} run(s); public API: `MeCab().morphs(text)` for every text, once, its digest
{public_note}.

{
        common.md_table(
            [
                "Python",
                "binding",
                "code",
                "time",
                "load",
                "path",
                "morphs sha256",
                "pos sha256",
                "tokens",
                "tokens/s",
                "texts/s",
                "public API tokens/s",
            ],
            rows,
            "lllllllllrrr",
        )
    }

Digests: {verdict}.

{full}
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=common.DEFAULT_DATA_DIR,
        help="folder with NSMC's train.csv and test.csv (default: ../shared/data/nsmc from the project root)",
    )
    p.add_argument("--limit", type=int, default=None, help="first N texts only (a quick check)")
    p.add_argument("--repeat", type=int, default=1, help="timed tokenize runs, median reported (default 1)")
    p.add_argument("--no-public", action="store_true", help="skip the public-API run (MeCab().morphs)")
    p.add_argument("--json", type=Path, default=None, help="also write the result to this file")
    p.add_argument(
        "--render",
        type=Path,
        nargs="+",
        metavar="JSON",
        default=None,
        help="write the BENCHMARKS.md section from saved results instead of measuring",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=common.BENCHMARKS_MD,
        help="with --render: the file (default BENCHMARKS.md)",
    )
    p.add_argument(
        "--no-write", action="store_true", help="with --render: print the section instead of writing it"
    )
    args = p.parse_args(argv)
    try:
        if args.render:
            body = render(args.render)
            if args.no_write:
                print(body)
            else:
                print(f"wrote section {SECTION} of {common.write_section(SECTION, body, args.out)}")
            return 0
        return run(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
