"""Tests of --cluster (nlp_pp.text.cluster): preprocessing on a Dask cluster gives the local path's tokens."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

import pipeline
from nlp_pp.cache import Cache
from nlp_pp.errors import ConfigError, RunError
from nlp_pp.text import cluster
from nlp_pp.text.cluster import DaskMap, check_spec
from nlp_pp.text.preprocess import PreprocessConfig, preprocess
from nlp_pp.vectors import tokenstore
from nlp_pp.vectors.tokenstore import build_token_arrays, cached_token_arrays
from tests.test_errors import fails_with
from tests.test_hostile import SAMPLE, TINY

TEXTS = ["대.출 필요하세요? 010-1234-5678 ㅋㅋ", "", "영화 정말 재밌다", "무료 쿠폰 받으세요!!", "최악"] * 900


@pytest.mark.parametrize(
    "spec", ["local:1", "local:16", "tcp://10.0.0.5:8786", "scheduler:8786", "tls://a.b:1"]
)
def test_good_specs(spec):
    assert check_spec(spec) == spec


@pytest.mark.parametrize("spec", ["local:0", "local:x", "local", "", "  ", "tcp://a b:1", "http://x/y/z"])
def test_bad_specs_are_config_errors(spec):
    with pytest.raises(ConfigError, match="--cluster"):
        check_spec(spec)


def test_bad_spec_on_the_command_line_is_one_error_line(capsys):
    fails_with(["--cluster", "local:0"], capsys, "--cluster local:0", "1 to 1024")


def test_without_dask_it_says_what_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ConfigError, match=r'pip install "nlp_pp\[cluster\]"'):
        DaskMap("local:2").__enter__()
    args = ["--data", str(SAMPLE), *TINY, "--cluster", "local:2", "--no-cache"]
    fails_with(args, capsys, "Dask distributed", "[cluster]", out=tmp_path / "runs")


needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason='needs pip install ".[cluster]"'
)


@pytest.mark.slow
@needs_dask
def test_an_unreachable_scheduler_is_one_error_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2.0)
    args = ["--data", str(SAMPLE), *TINY, "--cluster", "tcp://127.0.0.1:9", "--no-cache"]
    fails_with(args, capsys, "--cluster tcp://127.0.0.1:9", "cannot reach the Dask scheduler", out=tmp_path)


@pytest.mark.slow
@needs_dask
def test_two_local_workers_give_the_same_tokens_in_the_same_order(tmp_path):
    cfg = PreprocessConfig()
    local = build_token_arrays(TEXTS, cfg, None, n_jobs=1)
    on_cluster = build_token_arrays(TEXTS, cfg, tmp_path, cluster="local:2")
    assert list(on_cluster) == list(local) == preprocess(TEXTS, cfg)
    assert on_cluster.types == local.types and (on_cluster.ids == local.ids).all()


@pytest.mark.slow
@needs_dask
def test_a_worker_that_dies_mid_map_is_a_run_error_and_nothing_is_cached(monkeypatch, tmp_path):
    import dask

    def deadly(config):
        def work(texts):
            if "최악" in texts[0]:
                os._exit(1)  # the worker process dies
            return [t.split() for t in texts]

        return work

    monkeypatch.setattr(tokenstore, "chunk_worker", deadly)
    cache = Cache(tmp_path / "cache")
    texts = ["영화 정말 재밌다"] * 4000 + ["최악"] * 2000
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        pytest.raises(RunError, match="a worker died while preprocessing"),
    ):
        cached_token_arrays(texts, PreprocessConfig(), cache, ["k"], cluster="local:2")
    tokens_dir = tmp_path / "cache" / "tokens"
    assert not tokens_dir.exists() or not any(tokens_dir.iterdir())  # no entry, no staging left


@pytest.mark.slow
@needs_dask
def test_a_run_on_a_local_cluster_scores_as_a_run_without(tmp_path):
    def run(name, *extra):
        args = ["--data", str(SAMPLE), *TINY, "--models", "gru", "--out", str(tmp_path), "--name", name]
        assert pipeline.main([*args, "--cache-dir", str(tmp_path / f"cache-{name}"), *extra]) == 0
        m = json.loads((tmp_path / name / "metrics.json").read_text(encoding="utf-8"))
        scores = {r["init"]: (r["val"], r["test"]) for r in m["runs"]}
        return scores, m["baseline"]["test"], m["dataset"]["vocab"], m["config"]["cluster"]

    plain, clustered = run("plain"), run("clustered", "--cluster", "local:2")
    assert plain[:3] == clustered[:3]
    assert plain[3] is None and clustered[3] == "local:2"
    a, b = (tmp_path / f"cache-{n}" / "tokens" for n in ("plain", "clustered"))
    (entry_a,), (entry_b,) = a.iterdir(), b.iterdir()
    for name in (tokenstore.IDS_FILE, tokenstore.OFFSETS_FILE, tokenstore.TYPES_FILE):
        assert (entry_a / name).read_bytes() == (entry_b / name).read_bytes()


def _fake_distributed(client_error: BaseException | None = None):
    """A stand-in for dask.distributed: a local cluster that records being closed, a failing client."""
    from types import SimpleNamespace

    closed = []

    class LocalCluster:
        def __init__(self, **kw):
            pass

        def close(self):
            closed.append("cluster")

    def client(*a, **kw):
        raise client_error

    class KilledWorker(Exception):
        pass

    class CommClosedError(Exception):
        pass

    fake = SimpleNamespace(
        LocalCluster=LocalCluster,
        Client=client,
        KilledWorker=KilledWorker,
        comm=SimpleNamespace(CommClosedError=CommClosedError),
    )
    return fake, closed


def test_a_local_cluster_is_stopped_when_starting_is_interrupted(monkeypatch):
    fake, closed = _fake_distributed(KeyboardInterrupt())
    monkeypatch.setattr(cluster, "_distributed", lambda: fake)
    with pytest.raises(KeyboardInterrupt), DaskMap("local:2"):
        pass
    assert closed == ["cluster"]  # no worker processes left behind


def test_a_chunk_failing_on_a_worker_is_one_run_error(monkeypatch):
    fake, _ = _fake_distributed()

    class Future:
        def result(self):
            raise ModuleNotFoundError("No module named 'nlp_pp'")

    m = DaskMap("tcp://10.0.0.5:8786")
    with pytest.raises(RunError, match=r"worker failed .*ModuleNotFoundError.*same nlp_pp"):
        m._result(Future(), fake)
