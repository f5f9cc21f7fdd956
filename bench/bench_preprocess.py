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
2. ``nlp_pp.tokenize.tokenize(texts, n_jobs=1)``;
3. ``nlp_pp.preprocess(texts, n_jobs=1)`` (clean -> MeCab -> stopwords -> jamo);
4. ``nlp_pp.preprocess(texts, n_jobs=2)``;
5. ``nlp_pp.cache.Cache(root).get("tokens", key)`` of the tokens of every text, put there once
   beforehand (in a temporary directory, removed afterwards).

Outputs of 1 and 2, and of 3, 4 and 5, are hashed after timing and compared, so the comparison is
between runs that produce the same tokens.
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
import common  # noqa: E402  (bench/common.py, next to this file)

SECTION = "preprocess"
RESULT_PREFIX = "BENCH_RESULT "
CACHE_KIND = "tokens"

# Targets from the issue.
TARGET_CHAIN_VS_MECAB = 1.3  # preprocess(n_jobs=1) / MeCab.morphs  <=
TARGET_SPEEDUP_2JOBS = 1.6  # preprocess(n_jobs=1) / preprocess(n_jobs=2)  >=
TARGET_PEAK_MB = 2048.0  # peak memory < 2 GB

MEASUREMENTS = {
    "dictload": "0. `import mecab; MeCab()` alone (dictionary load)",
    "mecab": "1. `MeCab().morphs(text)` for every text",
    "tokenize": "2. `nlp_pp.tokenize.tokenize(texts, n_jobs=1)`",
    "clean": "3a. `nlp_pp.clean.clean_text(text)` for every text (first step of 3)",
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
    from nlp_pp.preprocess import PreprocessConfig

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
        from nlp_pp.clean import clean_text
        from nlp_pp.cache import Cache
        from nlp_pp.preprocess import preprocess
        from nlp_pp.tokenize import tokenize
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
        from nlp_pp.hangul import decompose

        info = decompose.cache_info()
        extra["decompose_cache"] = {"hits": info.hits, "misses": info.misses}
    if name == "cache_put":
        path = Path(args.cache_dir) / CACHE_KIND / f"{key}.pkl"
        extra["pickle_mb"] = path.stat().st_size / 1024**2 if path.exists() else None
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
    env["PYTHONPATH"] = str(common.PROJECT_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
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
    res = json.loads(lines[-1][len(RESULT_PREFIX):])
    res["peak_rss_mb"] = ru.ru_maxrss / 1024  # max over the child and the processes it waited for
    res["cpu_s"] = ru.ru_utime + ru.ru_stime  # whole child process (incl. its workers), not only the timed part
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
    """Wait (up to ``max_wait`` s) until the 1-min load average is <= ``threshold``; returns (load, waited s)."""
    t0 = time.monotonic()
    load = os.getloadavg()
    while load[0] > threshold and time.monotonic() - t0 < max_wait:
        print(f"  load average {load[0]:.2f} > {threshold}: waiting ({time.monotonic() - t0:.0f}/{max_wait:.0f} s)",
              flush=True)
        time.sleep(min(20.0, max(1.0, max_wait - (time.monotonic() - t0))))
        load = os.getloadavg()
    return load, time.monotonic() - t0


def busy_processes(limit: int = 5) -> list[str]:
    """Other processes currently using CPU (from ``ps``), for the notes; best effort."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,etimes,comm", "--sort=-pcpu", "--no-headers"],
                             capture_output=True, text=True, timeout=10).stdout
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


def render(s: dict[str, dict], meta: dict) -> str:
    """The markdown section (without markers)."""
    n = s["mecab"]["n_texts"]
    mecab, tok, pp1, pp2, get = s["mecab"], s["tokenize"], s["preprocess1"], s["preprocess2"], s["cache_get"]
    r31 = pp1["wall_s"] / mecab["wall_s"]
    r32 = pp1["wall_s"] / tok["wall_s"]
    r34 = pp1["wall_s"] / pp2["wall_s"]
    r35 = pp1["wall_s"] / get["wall_s"] if get["wall_s"] > 0 else float("inf")
    workers = meta["n_jobs2_workers"]
    pp2_total = pp2["maxrss_self_mb"] + workers * pp2["maxrss_workers_mb"]

    def fmt_walls(x: dict) -> str:
        return "runs " + ", ".join(f"{w:.2f}" for w in x["walls"]) + " s"

    def loads(x: dict) -> str:
        if x.get("others") and all(v is not None for v in x["others"]):
            return "others " + "/".join(f"{v:.2f}" for v in x["others"])
        return "load " + "/".join(f"{v:.2f}" for v in x["loads"])

    notes = {
        "dictload": "included in rows 1-4 (each loads the dictionary once per process)",
        "mecab": f"reference; {mecab['n_tokens']:,} morphs",
        "tokenize": f"{tok['n_tokens']:,} morphs; "
                    + ("same tokens as row 1" if mecab["digests"] == tok["digests"] else "**tokens differ from row 1**"),
        "clean": "no MeCab, no stopwords, no jamo",
        "preprocess1": f"{pp1['n_tokens']:,} tokens after stopwords",
        "preprocess2": f"{workers} forked workers; main {pp2['maxrss_self_mb']:.0f} MB + largest worker "
                       f"{pp2['maxrss_workers_mb']:.0f} MB (sum bound {pp2_total:.0f} MB); "
                       + ("same tokens as row 3" if pp2["digests"] == pp1["digests"] else "**tokens differ from row 3**"),
        "cache_get": f"pickle of {meta['pickle_mb']:.1f} MB, warm OS page cache; "
                     + ("same tokens as row 3" if get["digests"] == pp1["digests"] else "**tokens differ from row 3**"),
    }
    dc = pp1.get("decompose_cache")
    if dc:
        total = dc["hits"] + dc["misses"]
        notes["preprocess1"] += (f"; `decompose` cache: {dc['misses']:,} distinct tokens, "
                                 f"{dc['hits'] / total:.1%} of {total:,} calls were hits") if total else ""
    rows = []
    for key, label in MEASUREMENTS.items():
        if key not in s:  # a run saved by an older version of this script
            continue
        x = s[key]
        note = f"{notes[key]}; {fmt_walls(x)}; CPU {x['cpu_timed_s']:.1f} s; {loads(x)}"
        rows.append([label, f"{x['wall_s']:.2f}", f"{x['docs_per_s']:,.0f}" if key != "dictload" else "-",
                     f"{x['peak_rss_mb']:.0f}", note])
    table = common.md_table(["measurement", "wall s", "docs/s", "peak RSS MB", "notes"], rows, "lrrrl")

    mem_rows = {k: s[k]["peak_rss_mb"] for k in ("mecab", "tokenize", "preprocess1", "cache_get")}
    if "clean" in s:
        mem_rows["clean"] = s["clean"]["peak_rss_mb"]
    mem_rows["preprocess2"] = pp2_total
    mem_ok = all(v < TARGET_PEAK_MB for v in mem_rows.values())
    worst_key = max(mem_rows, key=mem_rows.get)
    others = [v for x in s.values() for v in x.get("others", []) if v is not None]
    max_others = max(others) if others else None
    max_load = max(max(x["loads"]) for x in s.values())
    if max_others is not None:
        busy = max_others > 0.25 or meta["load_start"][0] > 1.0
        busy_what = f"other processes used up to {max_others:.2f} cores' worth of CPU during a measurement"
    else:
        busy = max_load > 1.5 or meta["load_start"][0] > 1.0
        busy_what = f"the 1-min load average reached {max_load:.2f} during the runs (this benchmark included)"
    cpu31 = pp1["cpu_timed_s"] / mecab["cpu_timed_s"]
    cpu_bound_speedup = pp1["cpu_timed_s"] / (pp2["cpu_timed_s"] / min(workers, meta["cores"]))
    targets = "\n".join([
        f"- chain vs MeCab, (3) / (1) = {pp1['wall_s']:.2f} s / {mecab['wall_s']:.2f} s = **{r31:.2f}** "
        f"(target <= {TARGET_CHAIN_VS_MECAB}): {verdict(r31 <= TARGET_CHAIN_VS_MECAB)} "
        f"(on CPU time of the timed calls: {pp1['cpu_timed_s']:.1f} s / {mecab['cpu_timed_s']:.1f} s = {cpu31:.2f})",
        f"- chain vs nlp_pp's tokenizer alone, (3) / (2) = **{r32:.2f}** (no target: the cost of cleaning, "
        "stopwords and jamo on top of MeCab)",
        f"- speedup with 2 jobs, (3) / (4) = {pp1['wall_s']:.2f} s / {pp2['wall_s']:.2f} s = **{r34:.2f}x** "
        f"(target >= {TARGET_SPEEDUP_2JOBS}): {verdict(r34 >= TARGET_SPEEDUP_2JOBS)}",
        f"- peak memory (target < 2 GB = {TARGET_PEAK_MB:.0f} MB for each): largest is row "
        f"{MEASUREMENTS[worst_key][0]} at {mem_rows[worst_key]:.0f} MB"
        + (" (n_jobs=2 counted as main + every worker's peak RSS, an overestimate since forked pages are shared)"
           if worst_key == "preprocess2" else "")
        + f": {verdict(mem_ok)}",
        f"- cache: loading the tokens takes {get['wall_s']:.2f} s vs {pp1['wall_s']:.2f} s to compute them "
        f"with n_jobs=1, **{r35:.0f}x** faster (no target; the put after computing took {meta['put_s']:.2f} s "
        "once)",
    ])
    if busy:
        targets = (f"**Caution:** other work was running on this {meta['cores']}-core machine (1-min load average "
                   f"{meta['load_start'][0]:.2f} at the start; {busy_what}), so some wall times are inflated "
                   "and the 2-job speedup in particular may be understated; the CPU-time figures are less "
                   "affected.\n\n" + targets)

    # ------------------------------------------------------------------ interpretation
    parts = []
    save = mecab["wall_s"] - tok["wall_s"]
    overhead = pp1["wall_s"] - tok["wall_s"]
    cl = s.get("clean")
    if r31 < 1.0:
        parts.append(
            f"The whole chain is faster than bare `MeCab.morphs` ({r31:.2f}x its time) although it does more, "
            "because nlp_pp's `MecabTokenizer` reads MeCab's lattice directly and keeps only `node.surface`, "
            "while python-mecab-ko's `morphs` builds a `Morpheme` per morph (parsing the feature string into a "
            f"`Feature` namedtuple, plus a `Span`): with identical tokens, row 2 takes {save:.1f} s less than row 1 "
            f"({mecab['wall_s'] / tok['wall_s']:.2f}x faster), more than the {overhead:.1f} s that cleaning, "
            "stopword removal and jamo add on top of it.")
    else:
        parts.append(
            f"The whole chain takes {r31:.2f}x the time of bare `MeCab.morphs`, although nlp_pp's tokenizer alone "
            f"(row 2, reading MeCab's lattice directly instead of building `Morpheme` objects) is "
            f"{mecab['wall_s'] / tok['wall_s']:.2f}x the speed of `morphs`; cleaning, stopwords and jamo add "
            f"{overhead:.1f} s.")
    clean_part = (f"`clean_text` takes {cl['wall_s']:.1f} s (row 3a: NFKC and several regex passes per text); "
                  f"the remaining ~{max(0.0, overhead - cl['wall_s']):.1f} s is" if cl else "they are `clean_text` plus")
    parts.append(
        f"Of those {overhead:.1f} s ((3)/(2) = {r32:.2f}), {clean_part} the per-token Python work of the "
        "stopword filter and `hangul.decompose` (plus whatever MeCab saves or loses on cleaned rather than raw "
        f"text; {pp1['n_tokens']:,} tokens remain of {tok['n_tokens']:,} raw morphs). Jamo stays cheap because "
        "`decompose` is lru-cached per token"
        + (f" ({dc['misses']:,} distinct tokens decomposed, {dc['hits'] / (dc['hits'] + dc['misses']):.1%} of "
           "calls are cache hits)" if dc and dc["hits"] + dc["misses"] else "")
        + ".")
    eff = r34 / workers
    cpu_extra = pp2["cpu_timed_s"] / pp1["cpu_timed_s"] - 1
    par = (f"Two processes give {r34:.2f}x ({eff:.0%} parallel efficiency on {meta['cores']} cores); they spend "
           f"{pp2['cpu_timed_s']:.1f} s of CPU in total against {pp1['cpu_timed_s']:.1f} s for one job "
           f"({cpu_extra:+.0%}")
    if cpu_extra > 0.05:
        par += (f": forking, a dictionary per worker, a `decompose` cache per worker, pickling {n:,} token "
                "lists back and unpickling them in the parent")
    par += (f"), so even with both cores to itself the speedup is bounded by ~{cpu_bound_speedup:.2f}x "
            "(one-job CPU time / half the two-job CPU time)")
    if busy and r34 < 0.9 * cpu_bound_speedup:
        par += "; the rest of the gap is other work competing for the cores"
    if workers < 2:
        par = (f"With {n:,} texts there is a single 2,000-text chunk, so `n_jobs=2` runs in the calling process "
               f"and no speedup is expected (measured {r34:.2f}x)")
    parts.append(par + ".")
    dict_ms = s["dictload"]["wall_s"] * 1000
    parts.append(
        f"The dictionary load itself is {'small' if dict_ms < 500 else 'noticeable'} ({dict_ms:.0f} ms"
        + ("; mecab-ko-dic is memory-mapped" if dict_ms < 500 else "")
        + "), and is included in every MeCab row. "
        f"Peak memory is {'well below' if mem_ok else 'above'} the 2 GB target: a child holds "
        f"~{s['mecab']['rss_after_load_mb']:.0f} MB after reading the CSVs (interpreter + {n:,} input strings); "
        "the rest is MeCab's mapped dictionary pages and the output."
        + (f" The chain's output ({pp1['peak_rss_mb']:.0f} MB peak) is smaller than the bare morphs' "
           f"({tok['peak_rss_mb']:.0f}-{mecab['peak_rss_mb']:.0f} MB) despite the longer jamo strings: "
           f"`decompose` returns its cached string object, so the {pp1['n_tokens']:,} output tokens share "
           f"{dc['misses']:,} objects, whereas every morph from MeCab is a new `str`."
           if dc and pp1["peak_rss_mb"] < tok["peak_rss_mb"] else "")
        + f" The cache turns {pp1['wall_s']:.1f} s of computing into a {get['wall_s']:.2f} s unpickle; the file "
        f"({meta['pickle_mb']:.1f} MB) was in the OS page cache, a cold disk read would add its read time.")
    interpretation = " ".join(parts)

    facts = dict(meta["facts"]) if meta.get("facts") else common.machine_facts()
    facts["load average at start"] = common.format_load(meta["load_start"]) + (
        f", after waiting {meta['waited_s']:.0f} s for it to drop" if meta["waited_s"] >= 1 else "")
    if meta["busy"]:
        facts["busy processes at start"] = "; ".join(meta["busy"])
    facts["nlp_pp revision"] = meta.get("revision") or "not recorded"
    codes = meta["codes"]
    facts["source digest"] = (f"`{codes[0]}` (sha256 of nlp_pp/*.py + stopwords/*.txt, same in every child)"
                              if len(codes) == 1 else
                              f"**the code changed during the run** ({len(codes)} versions: {', '.join(codes)}); "
                              "rerun on a stable tree")

    others_doc = ("; \"others\" is how many cores' worth of CPU *other* processes used while the child ran "
                  "(machine-wide busy time from /proc/stat minus the child's own, divided by its wall time; 0 = the "
                  "machine was ours)") if others else ""
    order = ", ".join(MEASUREMENTS[k].split(".")[0] for k in MEASUREMENTS if k in s)
    limited = "" if meta["limit"] is None else f" (**--limit {meta['limit']}: not the full data set**)"
    return f"""## Preprocessing (nlp_pp.preprocess)

Measured {meta['date']} with `bench/bench_preprocess.py`.

Reproduce (from the project root):

```
{meta['command']}
```

**Data:** {n:,} NSMC movie reviews{limited}: the `document` column of `train.csv` then `test.csv` in
`{meta['data_dir']}` (missing documents -> `""`; {meta['n_empty']} empty).

**Machine:**

{common.md_facts(facts)}

**Method:** every measurement runs in a fresh Python process, so nothing warm leaks from one to the next
(in particular `hangul.decompose`'s lru_cache and MeCab's loaded dictionary). The child reads the texts
(untimed), then times only the call; `import mecab` and **MeCab's dictionary load are included** in rows 1-4
(row 0 shows what that costs). Each measurement ran {meta['repeat']} time(s), rounds interleaved
({order}, then again); wall s is the median. Peak RSS is `ru_maxrss` of the child from `os.wait4` (the largest of the
child and the pool workers it waited for), maximum over the runs; it includes the ~{s['mecab']['rss_after_load_mb']:.0f} MB
of interpreter + input texts. MB = 2^20 bytes. The "load" in the notes is the 1-min load average when each run
started (it counts this benchmark's own previous child too){others_doc}; "CPU" is the user+sys time of the timed
call (median), workers included for n_jobs=2.

{table}

**Ratios vs targets:**

{targets}

{interpretation}
"""


def run_parent(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir)
    for name in ("train.csv", "test.csv"):
        if not (data_dir / name).is_file():
            raise SystemExit(f"{data_dir / name} not found; pass --data-dir DIR with NSMC's train.csv and test.csv")
    texts = load_texts(data_dir, args.limit)
    n, n_empty = len(texts), sum(1 for t in texts if not t)
    del texts
    print(f"{n:,} texts from {data_dir}; {args.repeat} run(s) per measurement, each in a fresh process", flush=True)

    load_start, waited = wait_for_quiet(args.max_load, args.max_wait)
    busy = busy_processes()
    if args.require_quiet and load_start[0] > args.max_load:
        print(f"the load average stayed above {args.max_load} for {waited:.0f} s"
              + (f" ({'; '.join(busy)})" if busy else "") + ": not measuring (--require-quiet)", file=sys.stderr)
        raise SystemExit(3)
    print(f"load average at start: {common.format_load(load_start)}"
          + (f" (waited {waited:.0f} s)" if waited >= 1 else "")
          + (f"; busy: {'; '.join(busy)}" if busy else ""), flush=True)

    cache_dir = tempfile.mkdtemp(prefix="nlp_pp_bench_cache_")
    try:
        print("setup: computing the tokens once and putting them into a temporary cache ...", flush=True)
        put = spawn("cache_put", args, cache_dir)
        print(f"  put {put['wall_s']:.2f} s, {put['pickle_mb']:.0f} MB", flush=True)
        runs: dict[str, list[dict]] = {k: [] for k in MEASUREMENTS}
        for rnd in range(args.repeat):
            for key in MEASUREMENTS:
                r = spawn(key, args, cache_dir if key == "cache_get" else None)
                runs[key].append(r)
                print(f"  [{rnd + 1}/{args.repeat}] {key:12s} {r['wall_s']:8.2f} s  {n / r['wall_s']:>10,.0f} docs/s  "
                      f"peak {r['peak_rss_mb']:6.0f} MB  (load {r['load_at_start'][0]:.2f})", flush=True)
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
        "n_jobs2_workers": min(2, -(-n // 2000)),  # map_chunks' chunk_size is 2000
        "facts": common.machine_facts(),
        "revision": common.git_revision(),
        "put_s": put["wall_s"],
        "codes": sorted({r["code"] for v in runs.values() for r in v} | {put["code"]}),
        "pickle_mb": put.get("pickle_mb") or 0.0,
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "meta": meta, "runs": runs}, indent=1,
                                              default=str), encoding="utf-8")
    emit(render(summary, meta), args)


def emit(section: str, args: argparse.Namespace) -> None:
    if args.no_write:
        print("\n" + section)
    else:
        path = common.write_section(SECTION, section, args.out)
        print(f"\nwrote the '{SECTION}' section of {path}\n\n{section}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=str(common.DEFAULT_DATA_DIR),
                   help="folder with NSMC's train.csv and test.csv (default: ../shared/data/nsmc from the project root)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N texts (quick run)")
    p.add_argument("--repeat", type=int, default=2, help="runs per measurement; the median is reported (default 2)")
    p.add_argument("--out", default=str(common.BENCHMARKS_MD), help="markdown file to update (default BENCHMARKS.md)")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    p.add_argument("--json", metavar="PATH", help="also save every raw run as JSON here")
    p.add_argument("--max-load", type=float, default=0.5,
                   help="wait before measuring until the 1-min load average is at most this (default 0.5)")
    p.add_argument("--max-wait", type=float, default=300.0, help="wait at most this many seconds for that (default 300)")
    p.add_argument("--require-quiet", action="store_true",
                   help="exit (status 3) without measuring if the load average has not dropped after --max-wait")
    p.add_argument("--from-json", metavar="PATH", help="render the section from a run saved with --json (no measuring)")
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
