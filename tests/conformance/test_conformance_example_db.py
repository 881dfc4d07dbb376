"""The example database of `ndpool check --db`: a failure one process stores replays first
in the next, whatever its seed -- from a directory (a CI cache) and from a Redis server
shared by processes (every shard, machine and fuzzing worker of a campaign).

The cell checked is avg_pool / permutation_equivariance of a mutant that misreads
channels-last input: no pinned edge reaches it, and a drawn example finds it only after
a few examples (the control run). The same failure found at the first drawn example,
with the database's examples counted, is the stored failure replayed."""

from __future__ import annotations

import doctest
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ndpool.conformance.example_db import is_redis, open_database, stored
from ndpool.conformance.gate import EXIT_NOT_CONFORMANT, EXIT_SETUP
from ndpool.conformance.runner import CheckContext
from ndpool.conformance.targets import load_target

FIXTURES = Path(__file__).parent / "fixtures"
TARGET = "campaign_targets:layout_confused"
NAME = "mutant:avg-layout-confused"
CELL = ["--op", "avg_pool", "--property", "permutation_equivariance"]


def check(cwd, *args):
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")])
    )
    cmd = [sys.executable, "-m", "ndpool.conformance.cli", "check", "--target", TARGET, *CELL]
    return subprocess.run(
        [*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _cell(report: dict, field: str):
    return report["targets"][NAME][field].get("avg_pool", {}).get("permutation_equivariance")


def _run(cwd, name: str, seed: int, db: str | None):
    args = ["--seed", str(seed), "--report", f"{name}.json"] + (["--db", db] if db else [])
    out = check(cwd, *args)
    assert out.returncode == EXIT_NOT_CONFORMANT, (out.stdout + out.stderr)[-3000:]
    report = json.loads((Path(cwd) / f"{name}.json").read_text())
    return out, report


def _key() -> bytes:
    sys.path.insert(0, str(FIXTURES))
    try:
        target = load_target(TARGET)
    finally:
        sys.path.remove(str(FIXTURES))
    return CheckContext(target, seed=0).database_key("avg_pool", "permutation_equivariance")


def assert_second_process_replays_the_first_failure(tmp_path, db: str) -> None:
    assert stored(open_database(db), _key()) == 0, "the database is not empty to begin with"
    _, first = _run(tmp_path, "first", seed=1, db=db)
    assert _cell(first, "found_at") > 1, "seed 1 finds the bug only after some examples"
    assert stored(open_database(db), _key()) >= 1, "the failure was not stored"
    # the control: seed 2 without the database finds it late, if at all at the start
    _, control = _run(tmp_path, "control", seed=2, db=None)
    assert _cell(control, "found_at") > 1, "seed 2 alone finds it at once: pick another seed"
    out, second = _run(tmp_path, "second", seed=2, db=db)
    assert _cell(second, "found_at") == 1, "the stored failure did not replay first"
    assert _cell(second, "replayed") >= 1
    failure = "avg_pool/permutation_equivariance"
    assert (
        second["targets"][NAME]["failures"][failure] == first["targets"][NAME]["failures"][failure]
    ), "the replayed failure is not the stored one"
    assert (
        "found at drawn example 1 (the example database held " in out.stdout
        and f"--db {db}" in out.stdout
    )


def test_example_db_doctests():
    from ndpool.conformance import example_db

    result = doctest.testmod(example_db, verbose=False)
    assert result.failed == 0 and result.attempted > 0


def test_directory_database_replays_a_failure_in_the_next_process(tmp_path):
    assert_second_process_replays_the_first_failure(tmp_path, str(tmp_path / "db"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of its own on a free port (no persistence), stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs it with apt-get)")
    redis = pytest.importorskip("redis", reason="the redis package is not installed")
    port = _free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(
        [*cmd, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("redis-server did not answer within 10 s")
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_redis_database_replays_a_failure_in_the_next_process(tmp_path, redis_url):
    assert is_redis(redis_url)
    assert_second_process_replays_the_first_failure(tmp_path, redis_url)


def test_an_unreachable_redis_is_a_setup_error(tmp_path):
    pytest.importorskip("redis", reason="the redis package is not installed")
    out = check(tmp_path, "--seed", "1", "--db", f"redis://127.0.0.1:{_free_port()}")
    assert out.returncode == EXIT_SETUP, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1 and "the Redis server does not answer" in lines[0], out.stdout
