"""Training beside another CPU-bound process: idle vs contended wall time, old vs new thread settings.

    python bench/bench_contention.py                          # GRU and LSTM, writes BENCHMARKS.md
    python bench/bench_contention.py --models gru --json out/contention.json --no-write   # one model
    python bench/bench_contention.py --from-json out/contention.json      # the section from saved runs

Each measurement is one real ``python pipeline.py`` run on a fixed workload: the first 6,700 rows of
``../shared/data/kmhas/train.csv`` (columns ``document``, ``label``; written to a temporary
directory, never into the project), one model with random initialisation, ``--epochs 3
--patience 3``, no baseline, no ensemble; the tokens come from a cache filled by an untimed warm-up
run, so every measured run trains the same model on the same batches. Reported: the trainer's own
time (``train_seconds`` in ``metrics.json``) and the whole process's wall time, its CPU time and
its context switches (``os.wait4``).

Settings compared:

- ``old``: the code before ``nlp_pp/training/threads.py`` (extracted with ``git archive`` from the parent of
  the commit that added it; ``--old-rev`` overrides) with the environment it always had: torch's
  default, as many intra-op threads as cores, and libgomp's default waiting (spin, then sleep);
- ``new``: this checkout's defaults (``--threads auto``: the thread count follows the CPU other
  processes take, re-decided about once a second; ``GOMP_SPINCOUNT=10000`` set by the command line
  before torch is imported).

Conditions:

- ``idle``: nothing else running (the load average and the CPU other processes used are recorded);
- ``torch-default``: beside a ``python -c`` loop of BiGRU training steps (batch 64, 30 steps, hidden
  128) with torch's default settings -- a notebook or another small torch job;
- ``nlp_pp-new``: beside another ``pipeline.py`` training run with the new settings (same data, the
  same model, many epochs), started first and stopped after the measurement.

Every competitor runs in its own process group and is stopped by its id when the measurement ends.
The section holds facts only (command, date, machine, load, the table, PASS/MISS against
"contended <= 2.5x idle"); the interpretation lives in BENCHMARKS.md outside its markers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

SECTION = "contention"
DEFAULT_DATA = common.PROJECT_ROOT.parent / "shared" / "data" / "kmhas" / "train.csv"
ROWS = 6700
EPOCHS = 3
TARGET = 2.5  # contended / idle <=
SETTINGS = ("old", "new")
CONDITIONS = ("idle", "torch-default", "nlp_pp-new")

COMPETITOR_TORCH = """
import torch
from torch import nn
torch.manual_seed(0)
emb = nn.Embedding(3000, 100)
gru = nn.GRU(100, 128, batch_first=True, bidirectional=True)
head = nn.Linear(256, 2)
params = [*emb.parameters(), *gru.parameters(), *head.parameters()]
opt = torch.optim.Adam(params)
x, y = torch.randint(0, 3000, (64, 30)), torch.randint(0, 2, (64,))
print("ready", flush=True)
while True:
    out, _ = gru(emb(x))
    loss = nn.functional.cross_entropy(head(out[:, -1]), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


# =========================================================================== workload


def write_workload(source: Path, directory: Path, rows: int) -> tuple[Path, int]:
    """The first ``rows`` records of ``source`` (document, label), as a CSV in ``directory``."""
    out = directory / f"kmhas-first{rows}.csv"
    n = 0
    with open(source, newline="", encoding="utf-8") as f, open(out, "w", newline="", encoding="utf-8") as g:
        reader = csv.DictReader(f)
        writer = csv.writer(g)
        writer.writerow(["document", "label"])
        for row in reader:
            writer.writerow([row["document"], row["label"]])
            n += 1
            if n >= rows:
                break
    return out, n


def old_revision(explicit: str | None) -> str:
    """The commit before nlp_pp/training/threads.py was added (or ``explicit``)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "--no-optional-locks", "-C", str(common.PROJECT_ROOT), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()

    if explicit:
        return git("rev-parse", "--short", explicit)
    added = git("log", "--diff-filter=A", "--format=%H", "--", "nlp_pp/training/threads.py").splitlines()
    if not added:
        raise SystemExit(
            "nlp_pp/training/threads.py is not committed yet: pass --old-rev REV (the code to compare with)"
        )
    return git("rev-parse", "--short", added[-1] + "^")


def extract(rev: str, directory: Path) -> Path:
    """``git archive REV`` unpacked into ``directory`` (the old code, run as it was)."""
    tar = directory / "old.tar"
    with open(tar, "wb") as f:
        subprocess.run(
            ["git", "--no-optional-locks", "-C", str(common.PROJECT_ROOT), "archive", rev],
            stdout=f,
            check=True,
            timeout=120,
        )
    root = directory / "old"
    with tarfile.open(tar) as t:
        t.extractall(root, filter="tar")
    tar.unlink()
    return root


# =========================================================================== running


def base_env() -> dict[str, str]:
    """This environment without the variables that choose threads (each setting sets its own)."""
    drop = (
        "OMP_WAIT_POLICY",
        "GOMP_SPINCOUNT",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NLP_PP_THREADS",
        "OMP_DISPLAY_ENV",
        "PYTHONPATH",
    )
    return {k: v for k, v in os.environ.items() if k not in drop}


def pipeline_cmd(code: Path, data: Path, model: str, out: Path, cache: Path, epochs: int) -> list[str]:
    return [
        sys.executable,
        str(code / "pipeline.py"),
        "--data",
        str(data),
        "--text-col",
        "document",
        "--label-col",
        "label",
        "--models",
        model,
        "--inits",
        "random",
        "--epochs",
        str(epochs),
        "--patience",
        str(epochs),
        "--no-baseline",
        "--no-ensemble",
        "--n-jobs",
        "1",
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
    ]


def busy_cpu_s() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat), or ``None``."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """CPU seconds of process ``pid`` and its waited-for children so far (/proc/PID/stat), 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


AUTOGROUP_NICE: int | None = None  # --autogroup-nice
RUN_TIMEOUT = 900.0  # --run-timeout


def _own_session() -> None:
    """In a child, after setsid: give its new autogroup the nice value of --autogroup-nice."""
    if AUTOGROUP_NICE is not None:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(AUTOGROUP_NICE))


def spawn(cmd: list[str], **kwargs) -> subprocess.Popen:
    """Start ``cmd`` in a session (and so a scheduler autogroup) of its own, like a program in another
    terminal."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_own_session, **kwargs)


def start_competitor(
    kind: str, code: dict[str, Path], data: Path, model: str, tmp: Path, cache: Path
) -> subprocess.Popen:
    """Start a competitor in its own session; return once it is computing."""
    log = open(tmp / f"competitor-{kind}.log", "w+")
    if kind == "torch-default":
        proc = spawn(
            [sys.executable, "-c", COMPETITOR_TORCH], stdout=log, stderr=subprocess.STDOUT, env=base_env()
        )
        ready = "ready"
    elif kind == "nlp_pp-new":
        out = tmp / "competitor-runs"
        out.mkdir(exist_ok=True)
        proc = spawn(
            pipeline_cmd(code["new"], data, model, out, cache, 1000),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=base_env(),
        )
        ready = "data: "  # logged just before the first model trains
    else:
        raise SystemExit(f"unknown competitor {kind!r}")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        log.seek(0)
        if ready in log.read():
            break
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"competitor {kind} exited ({proc.returncode}):\n{log.read()[-2000:]}")
        time.sleep(0.2)
    else:
        stop(proc)
        raise SystemExit(f"competitor {kind} did not start computing within 120 s")
    time.sleep(2.0)  # well into its loop
    return proc


def stop(proc: subprocess.Popen) -> None:
    """Stop a competitor's process group (by its id) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def measure(
    setting: str,
    condition: str,
    model: str,
    code: dict[str, Path],
    data: Path,
    tmp: Path,
    cache: Path,
    epochs: int,
) -> dict:
    """One timed pipeline run of ``setting`` under ``condition``; returns its numbers."""
    competitor = None
    if condition != "idle":
        competitor = start_competitor(condition, code, data, model, tmp, cache)
    out = Path(tempfile.mkdtemp(prefix=f"{setting}-{condition}-", dir=tmp))
    env = base_env()
    load = os.getloadavg()
    stopped = False
    try:
        comp0 = process_cpu_s(competitor.pid) if competitor else 0.0
        busy0 = busy_cpu_s()
        t0 = time.perf_counter()
        with open(out / "stderr.txt", "w") as err:
            proc = spawn(
                pipeline_cmd(code[setting], data, model, out, cache, epochs),
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                cwd=code[setting],
            )
            deadline = t0 + RUN_TIMEOUT
            while True:
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:  # stop it: the cell reads "> RUN_TIMEOUT s"
                    os.killpg(proc.pid, signal.SIGKILL)
                    _, status, ru = os.wait4(proc.pid, 0)
                    stopped = True
                    break
                time.sleep(0.1)
        wall = time.perf_counter() - t0
        busy1 = busy_cpu_s()
        comp1 = process_cpu_s(competitor.pid) if competitor else 0.0
    finally:
        if competitor is not None:
            stop(competitor)
    cpu = ru.ru_utime + ru.ru_stime
    others = None
    if busy0 is not None and busy1 is not None:
        others = max(0.0, (busy1 - busy0) - cpu - (comp1 - comp0)) / wall  # third parties, cores' worth
    facts = {
        "setting": setting,
        "condition": condition,
        "model": model,
        "wall_s": wall,
        "cpu_s": cpu,
        "voluntary_cs": ru.ru_nvcsw,
        "involuntary_cs": ru.ru_nivcsw,
        "load_at_start": list(load),
        "competitor_cores": (comp1 - comp0) / wall if competitor else None,
        "others_cores": others,
    }
    if stopped:
        return {**facts, "stopped": True, "train_s": None, "threads": None, "threads_log": None}
    code_ = os.waitstatus_to_exitcode(status)
    if code_ != 0:
        raise SystemExit(
            f"{setting}/{condition}/{model} failed ({code_}):\n{(out / 'stderr.txt').read_text()[-3000:]}"
        )
    metrics = json.loads(next(out.glob("*/metrics.json")).read_text(encoding="utf-8"))
    run = metrics["runs"][0]
    threads_line = next(
        (ln for ln in (out / "stderr.txt").read_text().splitlines() if ln.startswith("threads: ")), None
    )
    return {
        **facts,
        "stopped": False,
        "train_s": run["train_seconds"],
        "epochs_run": run["epochs_run"],
        "threads": metrics.get("threads"),
        "threads_log": threads_line,
        "val_macro_f1": run["val"]["macro_f1"],
    }


def wait_for_quiet(threshold: float, max_wait: float) -> tuple[tuple[float, float, float], float]:
    t0 = time.monotonic()
    load = os.getloadavg()
    while load[0] > threshold and time.monotonic() - t0 < max_wait:
        print(f"  load average {load[0]:.2f} > {threshold}: waiting", flush=True)
        time.sleep(15)
        load = os.getloadavg()
    return load, time.monotonic() - t0


# =========================================================================== report


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**MISS**"


def median_of(runs: list[dict], setting: str, condition: str, model: str, key: str) -> float | None:
    xs = [r[key] for r in runs if (r["setting"], r["condition"], r["model"]) == (setting, condition, model)]
    return statistics.median(xs) if xs else None


def render(data: dict) -> str:
    runs, meta = data["runs"], data["meta"]
    models = [m for m in ("gru", "lstm", "rnn") if any(r["model"] == m for r in runs)]
    rows = []
    for model in models:
        for setting in SETTINGS:
            for condition in CONDITIONS:
                sel = [
                    r
                    for r in runs
                    if (r["setting"], r["condition"], r["model"]) == (setting, condition, model)
                ]
                if not sel:
                    continue
                idle_t = median_of(runs, setting, "idle", model, "train_s")
                idle_w = median_of(runs, setting, "idle", model, "wall_s")
                done = [r for r in sel if not r.get("stopped")]
                stopped = len(done) < len(sel)  # a run stopped at --run-timeout: its times are lower bounds
                w = statistics.median(r["wall_s"] for r in sel)
                t = statistics.median(r["train_s"] for r in done) if done and not stopped else None
                ratio_t = t / idle_t if (t and idle_t) else None
                ratio_w = w / idle_w if idle_w else None
                if condition == "idle" or ratio_w is None:
                    result = "-"
                elif stopped:
                    result = verdict(False) if ratio_w > TARGET else "unknown (stopped)"
                else:
                    result = verdict(ratio_t is not None and ratio_t <= TARGET and ratio_w <= TARGET)
                th = next(
                    (r["threads"] for r in runs if r["setting"] == setting and r.get("threads") is not None),
                    None,
                )  # a stopped run wrote no metrics.json: another run of the same code tells
                threads = (
                    f"{th['intra_op']}{' adaptive' if th.get('adaptive') else ''} ({th['source']}), "
                    f"{th['omp_wait_policy'] or 'unset'}"
                    if isinstance(th, dict)
                    else f"{th} (torch default), unset"
                    if th is not None
                    else ("cores adaptive (auto)" if setting == "new" else "cores (torch default), unset")
                )
                more = "> " if stopped else ""
                rows.append(
                    [
                        model.upper(),
                        setting,
                        threads,
                        condition,
                        ", ".join("stopped" if r.get("stopped") else f"{r['train_s']:.1f}" for r in sel),
                        f"{ratio_t:.2f}x" if ratio_t else ("-" if not stopped else "?"),
                        ", ".join(f"{'> ' if r.get('stopped') else ''}{r['wall_s']:.1f}" for r in sel),
                        f"{more}{ratio_w:.2f}x" if ratio_w else "-",
                        f"{statistics.median(r['cpu_s'] / r['wall_s'] for r in sel):.2f}",
                        f"{statistics.median(r['voluntary_cs'] for r in sel):,.0f} / "
                        f"{statistics.median(r['involuntary_cs'] for r in sel):,.0f}",
                        " / ".join(f"{r['load_at_start'][0]:.2f}" for r in sel),
                        " / ".join(
                            "-" if r["competitor_cores"] is None else f"{r['competitor_cores']:.2f}"
                            for r in sel
                        ),
                        " / ".join(
                            "-" if r["others_cores"] is None else f"{r['others_cores']:.2f}" for r in sel
                        ),
                        result,
                    ]
                )
    table = common.md_table(
        [
            "model",
            "code",
            "intra-op threads (at the start), OpenMP wait",
            "beside",
            "train s (runs)",
            "train vs idle",
            "process s (runs)",
            "process vs idle",
            "CPU / wall",
            "context switches vol / invol",
            "load at start",
            "competitor cores",
            "third-party cores",
            "contended <= 2.5x idle",
        ],
        rows,
        "lllllrlrrrllll",
    )
    idle_rows = []
    for model in models:
        old, new = (median_of(runs, s, "idle", model, "train_s") for s in SETTINGS)
        oldw, neww = (median_of(runs, s, "idle", model, "wall_s") for s in SETTINGS)
        if old and new:
            idle_rows.append(
                [
                    model.upper(),
                    f"{old:.1f}",
                    f"{new:.1f}",
                    f"{new / old:.2f}x",
                    f"{oldw:.1f}",
                    f"{neww:.1f}",
                    f"{neww / oldw:.2f}x",
                ]
            )
    idle_table = common.md_table(
        ["model", "old train s", "new train s", "new / old", "old process s", "new process s", "new / old"],
        idle_rows,
        "lrrrrrr",
    )
    facts = dict(meta["facts"])
    facts["nlp_pp revision"] = meta["revision"]
    facts["old code"] = (
        f"`{meta['old_rev']}` (`git archive`, the parent of the commit that added nlp_pp/training/threads.py)"
    )
    if meta.get("autogroup_nice") is not None:
        facts["scheduling"] = (
            f"each measured run and each competitor in a session of its own with autogroup nice "
            f"{meta['autogroup_nice']} (`--autogroup-nice`): other sessions kept the machine busy, "
            "this gave them little CPU; see the third-party column"
        )
    else:
        facts["scheduling"] = (
            "each measured run and each competitor in a session (autogroup) of its own, nice 0"
        )
    stretches = [*meta.get("earlier", []), meta]
    commands = "\n".join(m["command"] for m in stretches)
    when = "; ".join(f"{m['date']} (load {common.format_load(m['load_start'])})" for m in stretches)
    return f"""## Training beside another process: thread settings (contention)

Measured {when} with:

```
{commands}
```

**Workload:** each row is `python pipeline.py --data <first {meta["rows"]:,} rows of {meta["data"]}>
--text-col document --label-col label --models MODEL --inits random --epochs {meta["epochs"]} --patience
{meta["epochs"]} --no-baseline --no-ensemble --n-jobs 1` with a warm token cache ({meta["train_rows"]:,}
training texts, BiGRU/BiLSTM hidden 256, batch 64); `old` is that command on the old code with its
environment (torch's default: as many intra-op threads as cores, libgomp's default spin-then-sleep wait),
`new` on this checkout with its defaults (`--threads auto`: adaptive; `GOMP_SPINCOUNT=10000` set by the
command line). Competitors: `torch-default` = a `python -c` loop of BiGRU-128 training steps with torch's
default settings; `nlp_pp-new` = another `pipeline.py` training run of the same model with the new
settings. "train s" is the trainer's time (`train_seconds` in metrics.json), "process s" the whole
command; each cell lists every run, ratios use the medians.

**Machine:**

{common.md_facts(facts)}

### Idle: old vs new defaults

{idle_table}

### Idle and contended

{table}

Target: a training run beside one other CPU-bound process takes at most {TARGET}x its idle time (train s
and process s both); "competitor cores" = CPU the competitor used per second of the run, "third-party
cores" = CPU everything else used (0 = the machine was ours).
"""


# =========================================================================== main


def main(argv: list[str] | None = None) -> int:
    global AUTOGROUP_NICE, RUN_TIMEOUT
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the kmhas train.csv (default: %(default)s)"
    )
    p.add_argument("--rows", type=int, default=ROWS, help="first rows used (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per run (default: %(default)s)")
    p.add_argument("--models", default="gru,lstm", help="comma-separated (default: %(default)s)")
    p.add_argument(
        "--conditions", default=",".join(CONDITIONS), help="comma-separated (default: %(default)s)"
    )
    p.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated (default: %(default)s)")
    p.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs per cell, except old beside a competitor (slow: one run) (default: %(default)s)",
    )
    p.add_argument(
        "--old-rev", help="the old code's revision (default: the parent of the commit adding threads.py)"
    )
    p.add_argument("--max-load", type=float, default=0.5, help="wait for a 1-min load average below this")
    p.add_argument(
        "--max-wait", type=float, default=600, help="seconds to wait for it (default: %(default)s)"
    )
    p.add_argument(
        "--autogroup-nice",
        type=int,
        help="on a machine others keep busy: give each measured run's and "
        "each competitor's session this autogroup nice value (e.g. -20, as root), so that the two share "
        "the cores as on an idle machine and other sessions get little CPU; recorded in the section",
    )
    p.add_argument(
        "--run-timeout",
        type=float,
        default=900.0,
        help="stop a measured run after this many seconds; its cell then reads '> N' (default: %(default)s)",
    )
    p.add_argument(
        "--json", type=Path, help="add the runs to this JSON file (kept runs of other models stay)"
    )
    p.add_argument("--from-json", type=Path, help="render the section from this JSON file without measuring")
    p.add_argument("--out", type=Path, default=common.BENCHMARKS_MD)
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    a = p.parse_args(argv)

    AUTOGROUP_NICE, RUN_TIMEOUT = a.autogroup_nice, a.run_timeout
    if a.from_json:
        data = json.loads(a.from_json.read_text(encoding="utf-8"))
    else:
        data = run_all(a, argv if argv is not None else sys.argv[1:])
        if a.json:
            if a.json.exists():
                old = json.loads(a.json.read_text(encoding="utf-8"))
                measured = {r["model"] for r in data["runs"]}
                data["runs"] = [r for r in old["runs"] if r["model"] not in measured] + data["runs"]
                data["meta"]["earlier"] = old["meta"].get("earlier", []) + [old["meta"]]
            a.json.parent.mkdir(parents=True, exist_ok=True)
            a.json.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    section = render(data)
    if a.no_write:
        print(section)
    else:
        print(f"wrote section {SECTION!r} of {common.write_section(SECTION, section, a.out)}")
    return 0


def run_all(a: argparse.Namespace, argv: list[str]) -> dict:
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    conditions = [c.strip() for c in a.conditions.split(",") if c.strip()]
    settings = [s.strip() for s in a.settings.split(",") if s.strip()]
    rev = old_revision(a.old_rev) if "old" in settings else None
    with tempfile.TemporaryDirectory(prefix="bench-contention-") as tmpdir:
        tmp = Path(tmpdir)
        data, n = write_workload(a.data, tmp, a.rows)
        code = {"new": common.PROJECT_ROOT}
        if rev:
            code["old"] = extract(rev, tmp)
        cache = tmp / "cache"
        load_start, waited = wait_for_quiet(a.max_load, a.max_wait)
        meta = {
            "date": common.today(),
            "command": common.command_line(__file__, argv),
            "facts": common.machine_facts(),
            "load_start": list(load_start),
            "waited_s": waited,
            "revision": common.git_revision(),
            "old_rev": rev,
            "rows": n,
            "data": str(a.data),
            "epochs": a.epochs,
            "autogroup_nice": a.autogroup_nice,
        }
        for setting in settings:  # warm-up: fill the token cache (untimed)
            warm = tmp / f"warm-{setting}"
            proc = spawn(
                pipeline_cmd(code[setting], data, models[0], warm, cache, 1),
                env=base_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=code[setting],
            )
            if proc.wait() != 0:
                raise SystemExit(f"warm-up run of the {setting} code failed")
            if setting == settings[0]:
                m = json.loads(next(warm.glob("*/metrics.json")).read_text(encoding="utf-8"))
                meta["train_rows"] = m["dataset"]["split"]["train"]
        runs = []
        for model in models:
            for condition in conditions:
                for setting in settings:
                    repeat = 1 if (setting == "old" and condition != "idle") else a.repeat
                    for _ in range(repeat):
                        r = measure(setting, condition, model, code, data, tmp, cache, a.epochs)
                        runs.append(r)
                        print(
                            f"{model} {setting:3} {condition:13} train {r['train_s'] or -1:7.1f} s  process "
                            f"{r['wall_s']:7.1f} s  cpu/wall {r['cpu_s'] / r['wall_s']:.2f}  load "
                            f"{r['load_at_start'][0]:.2f}  others {r['others_cores'] or 0:.2f}",
                            flush=True,
                        )
    return {"meta": meta, "runs": runs}


if __name__ == "__main__":
    sys.exit(main())
