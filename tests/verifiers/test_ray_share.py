"""One pool per job: processes that pass the same ``share`` key join one Ray instance and drive the same named
actors (real Ray, two real driver processes); the start-or-join handshake's failures name the file to remove."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from verifiers import ray_share
from verifiers.ray_pool import RayPoolOptions

DRIVER = r"""
import json, os, sys, time
from pathlib import Path
import ray
from verifiers.pool import make_pool
share, done = sys.argv[1], Path(sys.argv[2])
items = [{"nums": [3, 5, 7], "target": 22}] * 4
completions = ["<answer>3*5+7</answer>", "<answer>3+5+7</answer>"] * 2
with make_pool("countdown", backend="ray", workers=2, num_cpus=0.5, share=share, start_timeout=180) as pool:
    statuses = [v.status for v in pool.verify_batch(items, completions)]
    pids = sorted(ray.get([a.ready.remote() for a in pool.actors]))
    named = sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True))
    print(json.dumps({"statuses": statuses, "pids": pids, "named": named,
                      "gcs": ray.get_runtime_context().gcs_address}), flush=True)
    deadline = time.monotonic() + 240
    while sys.argv[3] == "hold" and not done.exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # the starter keeps the instance (and the actors it made) up for the other process
"""


@pytest.fixture
def short_tmp():
    folder = Path(tempfile.mkdtemp(prefix="urs", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_two_processes_with_one_key_share_one_ray_and_one_set_of_actors(short_tmp):
    tmp_path = short_tmp  # Ray puts its sockets under TMPDIR: an AF_UNIX path has at most 107 bytes
    env = {**os.environ, "TMPDIR": str(tmp_path), "RAY_USAGE_STATS_ENABLED": "0"}
    for var in ("RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_MODE"):
        env.pop(var, None)
    done = tmp_path / "second-done"
    cmd = [sys.executable, "-c", DRIVER, "job-1", str(done)]
    first = subprocess.Popen([*cmd, "hold"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = first.stdout.readline()  # the starter has made both actors and verified
        second = subprocess.run([*cmd, "go"], capture_output=True, text=True, env=env, timeout=240)
        done.touch()
        assert second.returncode == 0, second.stderr[-2000:]
        a, b = json.loads(line), json.loads(second.stdout.strip().splitlines()[-1])
    finally:
        done.touch()
        first.wait(timeout=120)
    assert a["statuses"] == b["statuses"] == ["correct", "incorrect"] * 2
    assert a["gcs"] == b["gcs"]  # one Ray instance
    assert a["pids"] == b["pids"] and len(set(a["pids"])) == 2  # the same two actor processes
    assert len(b["named"]) == 2  # 2 actors for the job, not 2 per process
    assert not list((tmp_path / f"urlvr-ray-{os.getuid()}").glob("job-1.*"))  # the starter removed its files


def test_a_key_that_cannot_name_files_is_refused_at_config_time():
    with pytest.raises(ValueError, match="share"):
        RayPoolOptions(share="../etc")
    with pytest.raises(ValueError, match="job key"):
        ray_share.check_key("a b")


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for var in ("RAY_AUTH_TOKEN", "RAY_AUTH_MODE"):
        monkeypatch.delenv(var, raising=False)
    return ray_share.share_dir()


def test_a_lock_without_an_address_times_out_naming_the_lock(private_tmp):
    (private_tmp / "k.lock").touch()
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"did not publish a Ray address within 0.3s.*remove .*k\.lock"):
        ray_share.start_or_join("k", 0.3, init=lambda **_: pytest.fail("must not start Ray"))
    assert time.monotonic() - start < 5


def test_a_stale_address_names_both_files(private_tmp):
    (private_tmp / "k.lock").touch()
    (private_tmp / "k.addr").write_text("127.0.0.1:1\n")

    def dead(**kwargs):
        assert kwargs["address"] == "127.0.0.1:1"
        raise ConnectionError("nothing listens there")

    with pytest.raises(RuntimeError, match=r"cannot join .*k\.addr.*remove .*k\.addr and .*k\.lock"):
        ray_share.start_or_join("k", 5, init=dead)


def test_the_starter_publishes_its_address_privately(private_tmp, monkeypatch):
    import ray

    class Context:
        gcs_address = "10.0.0.1:6379"

    monkeypatch.setattr(ray, "get_runtime_context", lambda: Context())
    started = []
    assert ray_share.start_or_join("k", 5, init=lambda **kw: started.append(kw)) is True
    assert started and "address" not in started[0]
    addr = private_tmp / "k.addr"
    assert addr.read_text() == "10.0.0.1:6379\n"
    assert oct(addr.stat().st_mode & 0o777) == "0o600" and oct(Path(private_tmp).stat().st_mode & 0o777) == "0o700"
    assert ray_share.start_or_join("k", 5, init=lambda **kw: started.append(kw)) is False  # the next one joins
    assert started[-1]["address"] == "10.0.0.1:6379"
