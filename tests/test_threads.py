"""Tests of nlp_pp.training.threads: who decides the thread count, the cores counted, the OpenMP environment
set
before torch loads, what a run applies and records (no timings: those are in bench/bench_contention.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nlp_pp.config import ExperimentConfig
from nlp_pp.errors import ConfigError
from nlp_pp.resources import sample_data
from nlp_pp.training import experiment, threads
from nlp_pp.training.threads import (
    ThreadSettings,
    apply_threads,
    available_cores,
    cgroup_cpu_limit,
    decide_threads,
)

ROOT = Path(__file__).resolve().parent.parent


def python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (torch not imported yet) with this checkout on the path."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "NLP_PP_THREADS")
    }
    base["PYTHONPATH"] = str(ROOT) + os.pathsep + base.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
        cwd=ROOT,
    )


# --------------------------------------------------------------------------- deciding


def test_an_explicit_count_wins_over_the_environment():
    env = {"NLP_PP_THREADS": "3", "OMP_NUM_THREADS": "4"}
    assert decide_threads(2, environ=env, cores=8) == (2, "option")
    assert decide_threads("2", environ=env, cores=8) == (2, "option")
    assert decide_threads(threads.MAX_THREADS, environ={}, cores=1) == (threads.MAX_THREADS, "option")
    with pytest.raises(ConfigError, match=r"at most .* this machine's cores"):
        decide_threads(threads.MAX_THREADS + 1, environ={}, cores=2)  # thousands of threads take minutes


def test_nlp_pp_threads_then_omp_num_threads_then_auto():
    cap = threads.MAX_THREADS  # a machine-wide setting from elsewhere gives at most this machine's cores
    env = {"NLP_PP_THREADS": "1", "OMP_NUM_THREADS": "4"}
    assert decide_threads("auto", environ=env, cores=8) == (1, "NLP_PP_THREADS")
    assert decide_threads("auto", environ={"NLP_PP_THREADS": "300"}, cores=8) == (cap, "NLP_PP_THREADS")
    assert decide_threads("auto", environ={"NLP_PP_THREADS": "auto", "OMP_NUM_THREADS": "4"}, cores=8) == (
        min(4, cap),
        "OMP_NUM_THREADS",
    )
    assert decide_threads("AUTO", environ={"OMP_NUM_THREADS": "1,2"}, cores=8) == (1, "OMP_NUM_THREADS")
    assert decide_threads("auto", environ={"OMP_NUM_THREADS": "lots"}, cores=8) == (8, "auto")
    assert decide_threads("auto", environ={"NLP_PP_THREADS": " "}, cores=8) == (8, "auto")


def test_auto_starts_with_every_available_core():
    for cores in (1, 2, 64):
        assert decide_threads("auto", environ={}, cores=cores) == (cores, "auto")


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "x", "", "2.0", None])
def test_a_bad_count_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="--threads must be an integer >= 1 or auto"):
        decide_threads(bad, environ={}, cores=2)


def test_a_bad_environment_variable_is_named():
    with pytest.raises(ConfigError, match=r"NLP_PP_THREADS must be an integer >= 1 or auto \(got '0'\)"):
        decide_threads("auto", environ={"NLP_PP_THREADS": "0"}, cores=2)


# --------------------------------------------------------------------------- cores


def cgroup(tmp_path: Path, files: dict[str, str], own: str = "") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc = tmp_path / "proc_cgroup"
    proc.write_text(f"0::/{own}\n")
    return root, proc


def test_cgroup_v2_quota_of_the_own_group_and_its_parents(tmp_path):
    root, proc = cgroup(
        tmp_path,
        {"cpu.max": "max 100000\n", "box/cpu.max": "150000 100000\n", "box/job/cpu.max": "max 100000\n"},
        own="box/job",
    )
    assert cgroup_cpu_limit(root, proc) == 1.5
    assert available_cores(cgroup_root=root, proc_cgroup=proc) == min(2, len(os.sched_getaffinity(0)))


def test_no_quota_leaves_the_affinity(tmp_path):
    root, proc = cgroup(tmp_path, {"cpu.max": "max 100000\n"})
    assert cgroup_cpu_limit(root, proc) is None
    assert available_cores(cgroup_root=root, proc_cgroup=proc) == len(os.sched_getaffinity(0))
    assert cgroup_cpu_limit(tmp_path / "absent", tmp_path / "absent") is None


def test_cgroup_v1_quota(tmp_path):
    root, proc = cgroup(tmp_path, {"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"})
    assert cgroup_cpu_limit(root, proc) == 0.5
    assert available_cores(cgroup_root=root, proc_cgroup=proc) == 1
    root, proc = cgroup(
        tmp_path / "unlimited", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}
    )
    assert cgroup_cpu_limit(root, proc) is None


@pytest.mark.slow
def test_the_affinity_mask_limits_the_cores():
    out = python(
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
        "from nlp_pp.training.threads import available_cores; print(available_cores())"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1"]


# --------------------------------------------------------------------------- the OpenMP environment


def omp_display(code: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """What libgomp itself read at torch's import: its OMP_DISPLAY_ENV=VERBOSE listing on stderr."""
    out = python(code, {"OMP_DISPLAY_ENV": "VERBOSE", **(env or {})})
    assert out.returncode == 0, out.stderr
    values = {}
    for line in out.stderr.splitlines():
        name, eq, value = line.strip().partition(" = ")
        if eq:
            values[name] = value.strip("'")
    return values


@pytest.mark.slow
def test_prepare_environment_before_torch_bounds_openmp_spinning():
    shown = omp_display(
        "from nlp_pp.training.threads import prepare_environment; assert prepare_environment(); import torch"
    )
    assert shown["GOMP_SPINCOUNT"] == threads.SPIN_COUNT  # a waiting thread soon sleeps
    default = omp_display("import torch")
    assert default["GOMP_SPINCOUNT"] == "300000"  # libgomp's own default: spin first


@pytest.mark.slow
def test_a_users_wait_policy_is_kept():
    shown = omp_display(
        "from nlp_pp.training.threads import prepare_environment; prepare_environment(); import torch",
        {"OMP_WAIT_POLICY": "ACTIVE"},
    )
    assert shown["OMP_WAIT_POLICY"] == "ACTIVE"
    shown = omp_display(
        "from nlp_pp.training.threads import prepare_environment; prepare_environment(); import torch",
        {"GOMP_SPINCOUNT": "1000"},
    )
    assert shown["GOMP_SPINCOUNT"] == "1000"


def test_prepare_environment_after_torch_changes_nothing():
    env: dict[str, str] = {}
    assert "torch" in sys.modules
    assert threads.prepare_environment(env) is False
    assert env == {}


@pytest.mark.slow
def test_the_command_line_sets_it_before_torch_is_imported():
    """``pipeline.py`` (nlp_pp.cli.main) prepares the environment first: libgomp reads the bounded spin,
    the run records it."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "pipeline.py"), "predict", "--run", "nowhere", "text"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")},
            "OMP_DISPLAY_ENV": "VERBOSE",
        },
    )
    assert out.returncode == 2 and "error: " in out.stderr
    assert f"GOMP_SPINCOUNT = '{threads.SPIN_COUNT}'" in out.stderr  # torch was loaded after the setting
    shown = python(
        "from nlp_pp.training.threads import prepare_environment; prepare_environment(); "
        "import torch, json; from nlp_pp.training.threads import apply_threads; "
        "print(json.dumps(apply_threads('auto').to_dict()))"
    )
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout.strip().splitlines()[-1])
    assert (
        record["omp_wait_policy"] == f"GOMP_SPINCOUNT={threads.SPIN_COUNT}" and record["omp_env"] == "nlp_pp"
    )


# --------------------------------------------------------------------------- applying


@pytest.mark.slow
def test_apply_threads_in_a_fresh_process():
    out = python(
        "import json, torch; from nlp_pp.training.threads import apply_threads; "
        "s = apply_threads('auto'); "
        "print(json.dumps([s.to_dict(), torch.get_num_threads(), torch.get_num_interop_threads()]))"
    )
    assert out.returncode == 0, out.stderr
    record, intra, inter = json.loads(out.stdout.strip().splitlines()[-1])
    cores = len(os.sched_getaffinity(0))
    assert record["intra_op"] == intra == cores and record["inter_op"] == inter == 1
    assert record["source"] == "auto" and record["cores"] == cores and record["adaptive"] == (cores > 1)
    assert record["omp_wait_policy"] is None and record["omp_env"] == "environment"  # unset since the start


@pytest.mark.slow
def test_apply_threads_records_a_wait_policy_from_the_shell_and_an_override():
    out = python(
        "import json; from nlp_pp.training.threads import apply_threads; "
        "print(json.dumps(apply_threads('auto').to_dict()))",
        {"OMP_WAIT_POLICY": "passive", "NLP_PP_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert (record["intra_op"], record["source"], record["adaptive"]) == (1, "NLP_PP_THREADS", False)
    assert (record["omp_wait_policy"], record["omp_env"]) == ("OMP_WAIT_POLICY=passive", "environment")


def test_apply_threads_in_this_process_logs_one_line(caplog):
    before = torch.get_num_threads()
    try:
        with caplog.at_level("INFO", logger="nlp_pp.training.threads"):
            s = apply_threads(threads.MAX_THREADS, environ={}, cores=2)
        assert isinstance(s, ThreadSettings)
        assert torch.get_num_threads() == s.intra_op == threads.MAX_THREADS and s.source == "option"
        assert s.cores == 2
        assert s.inter_op == torch.get_num_interop_threads()  # whatever this process's pool already was
        lines = [r.getMessage() for r in caplog.records if r.name == "nlp_pp.training.threads"]
        assert lines == [s.describe()] and lines[0].startswith(f"threads: {threads.MAX_THREADS} intra-op")
    finally:
        torch.set_num_threads(before)


def test_a_run_applies_records_and_restores_its_threads(tmp_path, monkeypatch):
    """run_experiment applies the decision for the run, hands it on for metrics.json, and restores the
    caller's."""
    seen = {}

    def fake_run(cfg, run, device, cache, settings):
        seen["during"] = torch.get_num_threads()
        seen["settings"] = settings
        return run.work

    monkeypatch.setattr(experiment, "_run", fake_run)
    monkeypatch.delenv("NLP_PP_THREADS", raising=False)
    before = torch.get_num_threads()
    cfg = ExperimentConfig(
        data=str(sample_data()), out=str(tmp_path), threads=threads.MAX_THREADS, cache=False
    )
    experiment.run_experiment(cfg)
    assert (
        seen["during"] == seen["settings"].intra_op == threads.MAX_THREADS
        and seen["settings"].source == "option"
    )
    assert torch.get_num_threads() == before


def test_a_bad_nlp_pp_threads_stops_a_run_before_it_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("NLP_PP_THREADS", "many")
    cfg = ExperimentConfig(data=str(sample_data()), out=str(tmp_path / "runs"), cache=False)
    with pytest.raises(ConfigError, match="NLP_PP_THREADS must be"):
        experiment.run_experiment(cfg)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.slow  # four fresh interpreters that import torch
def test_the_cli_refuses_a_bad_thread_count_in_one_line():
    for args, env in (
        (["--threads", "0"], {}),
        ([], {"NLP_PP_THREADS": "-2"}),
        (["predict", "--run", "nowhere", "--threads", "x", "text"], {}),
        (["serve", "--run", "nowhere", "--threads", "0"], {}),
    ):
        out = subprocess.run(
            [sys.executable, str(ROOT / "pipeline.py"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **env},
            cwd=ROOT,
        )
        assert out.returncode == 2, (args, out.stderr)
        assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "threads" in out.stderr.lower() or "NLP_PP_THREADS" in out.stderr


def test_config_option_parses_like_the_command_line():
    assert ExperimentConfig().threads == "auto"
    assert ExperimentConfig.from_dict({"threads": "4"}).threads == 4
    assert ExperimentConfig.from_dict({"threads": " Auto "}).threads == "auto"
    with pytest.raises(ConfigError, match="--threads must be"):
        ExperimentConfig.from_dict({"threads": "0"})


def test_the_governor_leaves_other_processes_their_cores(monkeypatch):
    """Busy CPU beyond this process's own is another process's: the thread count makes room for it."""
    clock = {"t": 0.0, "busy": 0.0, "own": 0.0}
    monkeypatch.setattr(threads.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(threads, "_cpu_busy_seconds", lambda path="/proc/stat": clock["busy"])
    monkeypatch.setattr(threads.os, "times", lambda: os.times_result((clock["own"], 0, 0, 0, 0)))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        gov = threads.ThreadGovernor(2, interval=1.0)

        def second(busy: float, own: float) -> int:
            clock["t"] += 1.0
            clock["busy"] += busy
            clock["own"] += own
            gov.step()
            return torch.get_num_threads()

        assert second(2.0, 2.0) == 2  # the machine is ours: both cores
        assert second(2.0, 1.0) == 1  # another process took a core
        assert second(2.0, 1.0) == 1
        assert second(1.0, 1.0) == 2  # it left
        clock["t"] += 0.5
        gov.step()  # less than the interval: nothing is read
        assert gov.switches == 2
    finally:
        torch.set_num_threads(before)
