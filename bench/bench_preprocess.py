"""Benchmark nlp_pp's preprocessing chain against plain MeCab on the 200k NSMC reviews.

Run from the project root (takes a few minutes on 2 cores)::

    python bench/bench_preprocess.py                 # all 200k texts, writes BENCHMARKS.md
    python bench/bench_preprocess.py --limit 5000 --no-write   # quick check, prints the section

Every measurement runs in a fresh Python process (``hangul.decompose``'s lru_cache and the
tokenizer's loaded dictionary must not leak from one measurement into the next). A child reads the
texts itself (untimed), then times only the measured call; ``import mecab`` and MeCab's dictionary
load happen inside the timed region of every MeCab measurement. Peak RSS is ``ru_maxrss`` as
returned by ``os.wait4`` for that child, i.e. the largest of the child and the processes it waited
for (its pool workers); the child also reports its own and its workers' peaks separately.

Measurements (each repeated ``--repeat`` times, median reported; rounds are interleaved):

0. ``import mecab; MeCab()`` alone (the dictionary load included in 1-4);
1. ``[MeCab().morphs(t) for t in texts]`` -- the reference;
2. ``nlp_pp.text.tokenize.tokenize(texts, n_jobs=1)``;
3. ``nlp_pp.preprocess(texts, n_jobs=1)`` (clean -> MeCab -> stopwords -> jamo);
4. ``nlp_pp.preprocess(texts, n_jobs=2)``;
5. ``nlp_pp.cache.Cache(root).get("tokens", key)`` of the tokens of every text, put there once
   beforehand (in a temporary directory, removed afterwards).

Outputs of 1 and 2, and of 3, 4 and 5, are hashed after timing; the table shows the digests, so
equal digests show that the compared runs produced the same tokens.

The section printed (``--no-write``) or written into ``BENCHMARKS.md`` holds the command, date,
machine facts and load, the data, the results table and the ratios against the targets (PASS /
MISS); it does not interpret them. Interpretation belongs in ``BENCHMARKS.md`` outside the
section's markers, which a rerun replaces.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

SECTION = "preprocess"
RESULT_PREFIX = "BENCH_RESULT "
CACHE_KIND = "tokens"
CHUNK_SIZE = 2000  # nlp_pp.text.parallel.map_chunks' default: one chunk runs in the calling process

# Targets from the issue.
TARGET_CHAIN_VS_MECAB = 1.3  # preprocess(n_jobs=1) / MeCab.morphs  <=
TARGET_SPEEDUP_2JOBS = 1.6  # preprocess(n_jobs=1) / preprocess(n_jobs=2)  >=
TARGET_PEAK_MB = 2048.0  # peak memory < 2 GB

MEASUREMENTS = {
    "dictload": "0. `import mecab; MeCab()` alone (dictionary load)",
    "mecab": "1. `MeCab().morphs(text)` for every text",
    "tokenize": "2. `nlp_pp.text.tokenize.tokenize(texts, n_jobs=1)`",
    "clean": "3a. `nlp_pp.text.clean.clean_text(text)` for every text (first step of 3)",
    "preprocess1": "3. `nlp_pp.preprocess(texts, n_jobs=1)`",
    "preprocess2": "4. `nlp_pp.preprocess(texts, n_jobs=2)`",
    "cache_get": "5. `Cache.get` of the tokens of all texts (computed once beforehand)",
}


# =========================================================================== data


def load_texts(data_dir: Path, limit: int | None = None) -> list[str]:
    """``document`` of train.csv then test.csv; missing values become ``""``; first ``limit`` only."""
    texts: list[str] = []
    for name in ("train.csv", "test.csv"):
        with open(data_dir / name, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                texts.append(row.get("document") or "")
                if limit is not None and len(texts) >= limit:
                    return texts
    return texts


def texts_digest(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def tokens_digest(docs: list[list[str]]) -> str:
    """Order-sensitive hash of a token list per text (to check that two runs produced the same output)."""
    h = hashlib.sha256()
    for toks in docs:
        h.update("\x1f".join(toks).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def bench_cache_key(texts: list[str]) -> str:
    from nlp_pp.cache import cache_key
    from nlp_pp.text.preprocess import PreprocessConfig

    return cache_key(CACHE_KIND, "bench_preprocess", texts_digest(texts), PreprocessConfig().fingerprint())


# =========================================================================== child side


def _cpu_s() -> float:
    """user + sys CPU seconds of this process and the children it has waited for (pool workers)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def run_child(args: argparse.Namespace) -> None:
    """Load the texts, time one measurement, print one JSON line."""
    code = common.source_digest()
    texts = load_texts(Path(args.data_dir), args.limit)
    rss_after_load = _maxrss_mb(resource.RUSAGE_SELF)
    extra: dict = {}
    out = None
    name = args.child
    if name in ("tokenize", "clean", "preprocess1", "preprocess2", "cache_put", "cache_get"):
        import nlp_pp  # noqa: F401  (does not import mecab: that happens inside the timed call)
        from nlp_pp.cache import Cache
        from nlp_pp.text.clean import clean_text
        from nlp_pp.text.preprocess import preprocess
        from nlp_pp.text.tokenize import tokenize
    if name in ("cache_put", "cache_get"):
        key = bench_cache_key(texts)
    load = os.getloadavg()

    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    if name == "dictload":
        from mecab import MeCab

        MeCab()
    elif name == "mecab":
        from mecab import MeCab

        m = MeCab()
        out = [m.morphs(t) for t in texts]
    elif name == "tokenize":
        out = tokenize(texts, n_jobs=1)
    elif name == "clean":
        cleaned = [clean_text(t) for t in texts]
    elif name == "preprocess1":
        out = preprocess(texts, n_jobs=1)
    elif name == "preprocess2":
        out = preprocess(texts, n_jobs=2)
    elif name == "cache_put":  # setup, not a measurement: compute with 2 jobs, time the put only
        out = preprocess(texts, n_jobs=2)
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        Cache(args.cache_dir).put(CACHE_KIND, key, out)
    elif name == "cache_get":
        out = Cache(args.cache_dir).get(CACHE_KIND, key)
        if out is None:
            raise SystemExit("cache miss: the setup step did not store the tokens")
    else:
        raise SystemExit(f"unknown measurement {name!r}")
    wall = time.perf_counter() - t0
    cpu_timed = _cpu_s() - cpu0
    if name == "clean":
        extra["n_chars"] = sum(map(len, cleaned))
        del cleaned

    self_ru = resource.getrusage(resource.RUSAGE_SELF)
    kids_ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out is not None:
        if len(out) != len(texts):
            raise SystemExit(f"{name}: {len(out)} outputs for {len(texts)} texts")
        extra["digest"] = tokens_digest(out)
        extra["n_tokens"] = sum(len(t) for t in out)
    if name in ("preprocess1",):
        from nlp_pp.text.hangul import decompose

        info = decompose.cache_info()
        extra["decompose_cache"] = {"hits": info.hits, "misses": info.misses}
    if name == "cache_put":
        path = Path(args.cache_dir) / CACHE_KIND / f"{key}.json"
        extra["entry_mb"] = path.stat().st_size / 1024**2 if path.exists() else None
    result = {
        "name": name,
        "n_texts": len(texts),
        "wall_s": wall,
        "cpu_timed_s": cpu_timed,
        "rss_after_load_mb": rss_after_load,
        "maxrss_self_mb": self_ru.ru_maxrss / 1024,
        "maxrss_workers_mb": kids_ru.ru_maxrss / 1024,
        "load_at_start": load,
        "code": code,
        **extra,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# =========================================================================== parent side


def spawn(name: str, args: argparse.Namespace, cache_dir: str | None) -> dict:
    """Run one measurement in a fresh interpreter; add the wait4 rusage of that child (and its workers)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--data-dir", str(args.data_dir)]
    if args.limit is not None:
        cmd += ["--limit", str(args.limit)]
    if cache_dir is not None:
        cmd += ["--cache-dir", cache_dir]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(common.PROJECT_ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        busy0 = _busy_cpu_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=common.PROJECT_ROOT)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        process_s = time.perf_counter() - t0
        busy1 = _busy_cpu_s()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"measurement {name} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if not lines:
        raise SystemExit(f"measurement {name} printed no result:\n{stdout[-2000:]}\n{stderr[-2000:]}")
    res = json.loads(lines[-1][len(RESULT_PREFIX) :])
    res["peak_rss_mb"] = ru.ru_maxrss / 1024  # max over the child and the processes it waited for
    res["cpu_s"] = (
        ru.ru_utime + ru.ru_stime
    )  # whole child process (incl. its workers), not only the timed part
    res["process_s"] = process_s
    if busy0 is not None and busy1 is not None and process_s > 0:
        # cores' worth of CPU that *other* processes used while this child ran (0 = the machine was ours)
        res["others_cores"] = max(0.0, (busy1 - busy0) - res["cpu_s"]) / process_s
    return res


def _busy_cpu_s() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all cores; /proc/stat), or ``None``."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return (total - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(threshold: float, max_wait: float) -> tuple[tuple[float, float, float], float]:
    """Wait (up to ``max_wait`` s) until the 1-min load average is <= ``threshold``; returns (load, waited
    s)."""
    t0 = time.monotonic()
    load = os.getloadavg()
    while load[0] > threshold and time.monotonic() - t0 < max_wait:
        print(
            f"  load average {load[0]:.2f} > {threshold}: waiting "
            f"({time.monotonic() - t0:.0f}/{max_wait:.0f} s)",
            flush=True,
        )
        time.sleep(min(20.0, max(1.0, max_wait - (time.monotonic() - t0))))
        load = os.getloadavg()
    return load, time.monotonic() - t0


def busy_processes(limit: int = 5) -> list[str]:
    """Other processes currently using CPU (from ``ps``), for the notes; best effort."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,etimes,comm", "--sort=-pcpu", "--no-headers"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or int(parts[0]) == os.getpid() or parts[3] == "ps":
            continue
        if float(parts[1]) >= 5.0:
            rows.append(f"{parts[3]} ({parts[1]}% CPU avg over its life)")
        if len(rows) >= limit:
            break
    return rows


def summarize(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    wall = statistics.median(walls)
    n = runs[0]["n_texts"]
    return {
        "name": runs[0]["name"],
        "n_texts": n,
        "wall_s": wall,
        "walls": walls,
        "docs_per_s": n / wall if wall > 0 else float("inf"),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "maxrss_self_mb": max(r["maxrss_self_mb"] for r in runs),
        "maxrss_workers_mb": max(r["maxrss_workers_mb"] for r in runs),
        "rss_after_load_mb": max(r["rss_after_load_mb"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "cpu_timed_s": statistics.median(r["cpu_timed_s"] for r in runs),
        "loads": [r["load_at_start"][0] for r in runs],
        "others": [r.get("others_cores") for r in runs],
        "digests": sorted({r.get("digest") for r in runs if r.get("digest")}),
        "n_tokens": runs[0].get("n_tokens"),
        "decompose_cache": runs[0].get("decompose_cache"),
    }


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**MISS**"


def others_cell(x: dict) -> str:
    """Other processes' CPU (cores' worth) during each run, or the 1-min load average at its start."""
    if x.get("others") and all(v is not None for v in x["others"]):
        return "/".join(f"{v:.2f}" for v in x["others"])
    return "load " + "/".join(f"{v:.2f}" for v in x["loads"])


def results_table(s: dict[str, dict]) -> str:
    """One row per measurement present in ``s`` (an older saved run may lack some)."""
    rows = []
    for key, label in MEASUREMENTS.items():
        if key not in s:
            continue
        x = s[key]
        output = (
            f"{x['n_tokens']:,} tokens, `{'/'.join(d[:8] for d in x['digests'])}`" if x["digests"] else "-"
        )
        rows.append(
            [
                label,
                f"{x['wall_s']:.2f}",
                ", ".join(f"{w:.2f}" for w in x["walls"]),
                f"{x['cpu_timed_s']:.1f}",
                "-" if key == "dictload" else f"{x['docs_per_s']:,.0f}",
                f"{x['peak_rss_mb']:.0f}",
                output,
                others_cell(x),
            ]
        )
    return common.md_table(
        ["measurement", "wall s", "runs s", "CPU s", "docs/s", "peak RSS MB", "output (digest)", "others"],
        rows,
        "lrrrrrll",
    )


def ratios_table(s: dict[str, dict], meta: dict) -> str:
    """The ratios of the issue against their targets, plus the cache speed-up (no target)."""
    mecab, tok, pp1, pp2, get = (
        s[k] for k in ("mecab", "tokenize", "preprocess1", "preprocess2", "cache_get")
    )
    chain = pp1["wall_s"] / mecab["wall_s"]
    speedup = pp1["wall_s"] / pp2["wall_s"]
    # n_jobs=2 counted as main + every worker's peak: an upper bound, forked pages are shared.
    peaks = {k: s[k]["peak_rss_mb"] for k in MEASUREMENTS if k in s and k not in ("dictload", "preprocess2")}
    peaks["preprocess2"] = pp2["maxrss_self_mb"] + meta["n_jobs2_workers"] * pp2["maxrss_workers_mb"]
    worst = max(peaks, key=peaks.get)
    cache = pp1["wall_s"] / get["wall_s"] if get["wall_s"] > 0 else float("inf")
    rows = [
        [
            "chain vs `MeCab.morphs`, (3) / (1)",
            f"{chain:.2f} (CPU {pp1['cpu_timed_s'] / mecab['cpu_timed_s']:.2f})",
            f"<= {TARGET_CHAIN_VS_MECAB}",
            verdict(chain <= TARGET_CHAIN_VS_MECAB),
        ],
        ["chain vs nlp_pp's tokenizer, (3) / (2)", f"{pp1['wall_s'] / tok['wall_s']:.2f}", "-", "-"],
        [
            "n_jobs=2 speed-up, (3) / (4)",
            f"{speedup:.2f}x",
            f">= {TARGET_SPEEDUP_2JOBS}",
            verdict(speedup >= TARGET_SPEEDUP_2JOBS),
        ],
        [
            "peak memory, largest row ((4) as main + each worker)",
            f"{peaks[worst]:.0f} MB (row {MEASUREMENTS[worst].split('.')[0]})",
            f"< {TARGET_PEAK_MB:.0f} MB",
            verdict(peaks[worst] < TARGET_PEAK_MB),
        ],
        ["cache speed-up, (3) / (5)", f"{cache:.0f}x", "-", "-"],
    ]
    return common.md_table(["ratio", "value", "target", "result"], rows, "lrll")


def run_facts(s: dict[str, dict], meta: dict) -> dict[str, str]:
    """Machine facts plus the load around the runs and the code measured."""
    facts = dict(meta["facts"])
    facts["load average at start"] = (
        f"{common.format_load(meta['load_start'])}, after waiting {meta['waited_s']:.0f} s"
    )
    facts["busy processes at start"] = "; ".join(meta["busy"]) or "none"
    others = [v for x in s.values() for v in x.get("others", []) if v is not None]
    facts["other processes during the runs"] = (
        f"up to {max(others):.2f} cores' worth of CPU" if others else "not measured (no /proc/stat)"
    )
    facts["nlp_pp revision"] = meta.get("revision") or "not recorded"
    facts["source digest"] = (
        ", ".join(f"`{c}`" for c in meta["codes"])
        + " (nlp_pp/*.py + stopwords/*.txt as each child saw them; two or more = changed mid-run)"
    )
    return facts


def render(s: dict[str, dict], meta: dict) -> str:
    """The markdown section (without markers): how it was run, the data, the table, the ratios."""
    pp2, dc = s["preprocess2"], s["preprocess1"]["decompose_cache"]
    calls = dc["hits"] + dc["misses"]
    limit = "" if meta["limit"] is None else " (`--limit`: not the full data set)"
    notes = "\n".join(
        f"- {note}"
        for note in [
            f"n_jobs=2: {-(-pp2['n_texts'] // CHUNK_SIZE)} chunk(s) of up to {CHUNK_SIZE:,} texts (a single "
            "chunk runs "
            f"in the calling process); peak RSS main {pp2['maxrss_self_mb']:.0f} MB, largest worker "
            f"{pp2['maxrss_workers_mb']:.0f} MB.",
            f"`hangul.decompose` cache in row 3: {dc['misses']:,} distinct tokens; {dc['hits']:,} of "
            f"{calls:,} calls "
            f"({dc['hits'] / max(calls, 1):.1%}) were hits.",
            f"cache: a checksummed JSON entry of {meta['entry_mb']:.1f} MB, put once in {meta['put_s']:.2f} "
            "s; row 5 reads it from the "
            "warm OS page cache.",
        ]
    )
    return f"""## Preprocessing (nlp_pp.preprocess)

Measured {meta["date"]} with:

```
{meta["command"]}
```

**Data:** {s["mecab"]["n_texts"]:,} NSMC movie reviews{limit}: the `document` column of `train.csv`
then `test.csv` in `{meta["data_dir"]}`, {meta["n_empty"]} of them empty.

**Machine:**

{common.md_facts(run_facts(s, meta))}

**Results:** wall s is the median of {meta["repeat"]} run(s) per row, each in a fresh process, rounds
interleaved; MeCab's dictionary load is included in rows 1-4. CPU s: user + sys time of the timed call,
workers included.
Peak RSS: `ru_maxrss` of the child and its workers from `os.wait4`, maximum over the runs, MB = 2^20
bytes, including the ~{s["mecab"]["rss_after_load_mb"]:.0f} MB of interpreter and texts. Output: token count
and digest.
Others: cores' worth of CPU used by other processes during each run (0 = the machine was ours).

{results_table(s)}

{notes}

**Ratios vs targets:**

{ratios_table(s, meta)}
"""


def run_parent(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir)
    for name in ("train.csv", "test.csv"):
        if not (data_dir / name).is_file():
            raise SystemExit(
                f"{data_dir / name} not found; pass --data-dir DIR with NSMC's train.csv and test.csv"
            )
    texts = load_texts(data_dir, args.limit)
    n, n_empty = len(texts), sum(1 for t in texts if not t)
    del texts
    print(
        f"{n:,} texts from {data_dir}; {args.repeat} run(s) per measurement, each in a fresh process",
        flush=True,
    )

    load_start, waited = wait_for_quiet(args.max_load, args.max_wait)
    busy = busy_processes()
    if args.require_quiet and load_start[0] > args.max_load:
        print(
            f"the load average stayed above {args.max_load} for {waited:.0f} s"
            + (f" ({'; '.join(busy)})" if busy else "")
            + ": not measuring (--require-quiet)",
            file=sys.stderr,
        )
        raise SystemExit(3)
    print(
        f"load average at start: {common.format_load(load_start)}"
        + (f" (waited {waited:.0f} s)" if waited >= 1 else "")
        + (f"; busy: {'; '.join(busy)}" if busy else ""),
        flush=True,
    )

    cache_dir = tempfile.mkdtemp(prefix="nlp_pp_bench_cache_")
    try:
        print("setup: computing the tokens once and putting them into a temporary cache ...", flush=True)
        put = spawn("cache_put", args, cache_dir)
        print(f"  put {put['wall_s']:.2f} s, {put['entry_mb']:.0f} MB", flush=True)
        runs: dict[str, list[dict]] = {k: [] for k in MEASUREMENTS}
        for rnd in range(args.repeat):
            for key in MEASUREMENTS:
                r = spawn(key, args, cache_dir if key == "cache_get" else None)
                runs[key].append(r)
                print(
                    f"  [{rnd + 1}/{args.repeat}] {key:12s} {r['wall_s']:8.2f} s  {n / r['wall_s']:>10,.0f} "
                    "docs/s  "
                    f"peak {r['peak_rss_mb']:6.0f} MB  (load {r['load_at_start'][0]:.2f})",
                    flush=True,
                )
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)

    summary = {k: summarize(v) for k, v in runs.items()}
    if put.get("digest") and summary["preprocess1"]["digests"] != [put["digest"]]:
        print("warning: the cached tokens differ from preprocess(n_jobs=1)'s", file=sys.stderr)
    argv = []
    if Path(args.data_dir).resolve() != common.DEFAULT_DATA_DIR.resolve():
        argv += ["--data-dir", str(args.data_dir)]
    if args.limit is not None:
        argv += ["--limit", str(args.limit)]
    if args.repeat != 2:
        argv += ["--repeat", str(args.repeat)]
    meta = {
        "date": common.today(),
        "command": common.command_line(__file__, argv),
        "data_dir": os.path.relpath(data_dir.resolve(), common.PROJECT_ROOT),
        "n_empty": n_empty,
        "limit": args.limit,
        "repeat": args.repeat,
        "load_start": load_start,
        "waited_s": waited,
        "busy": busy,
        "cores": common.cores_available(),
        "n_jobs2_workers": min(2, -(-n // CHUNK_SIZE)),
        "facts": common.machine_facts(),
        "revision": common.git_revision(),
        "put_s": put["wall_s"],
        "codes": sorted({r["code"] for v in runs.values() for r in v} | {put["code"]}),
        "entry_mb": put.get("entry_mb") or 0.0,
    }
    if args.json:
        Path(args.json).write_text(
            json.dumps({"summary": summary, "meta": meta, "runs": runs}, indent=1, default=str),
            encoding="utf-8",
        )
    emit(render(summary, meta), args)


def emit(section: str, args: argparse.Namespace) -> None:
    if args.no_write:
        print("\n" + section)
    else:
        path = common.write_section(SECTION, section, args.out)
        print(f"\nwrote the '{SECTION}' section of {path}\n\n{section}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data-dir",
        default=str(common.DEFAULT_DATA_DIR),
        help="folder with NSMC's train.csv and test.csv (default: ../shared/data/nsmc from the project root)",
    )
    p.add_argument(
        "--limit", type=int, default=None, metavar="N", help="use only the first N texts (quick run)"
    )
    p.add_argument(
        "--repeat", type=int, default=2, help="runs per measurement; the median is reported (default 2)"
    )
    p.add_argument(
        "--out", default=str(common.BENCHMARKS_MD), help="markdown file to update (default BENCHMARKS.md)"
    )
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    p.add_argument("--json", metavar="PATH", help="also save every raw run as JSON here")
    p.add_argument(
        "--max-load",
        type=float,
        default=0.5,
        help="wait before measuring until the 1-min load average is at most this (default 0.5)",
    )
    p.add_argument(
        "--max-wait", type=float, default=300.0, help="wait at most this many seconds for that (default 300)"
    )
    p.add_argument(
        "--require-quiet",
        action="store_true",
        help="exit (status 3) without measuring if the load average has not dropped after --max-wait",
    )
    p.add_argument(
        "--from-json", metavar="PATH", help="render the section from a run saved with --json (no measuring)"
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be positive")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.child:
        run_child(args)
    elif args.from_json:
        saved = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        emit(render(saved["summary"], saved["meta"]), args)
    else:
        run_parent(args)


if __name__ == "__main__":
    main()
