"""Two training processes (torchrun, CPU, gloo) on a tiny organism: one metrics line per step, the right counts,
shadow scores over both processes' rollouts, and a resume after kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from trainer.prior.config import preset

pytestmark = pytest.mark.slow
TASK = [f"task.{k}={v}" for k, v in preset("tiny-countdown-test").task_options().items() if k != "name"]
PROMPTS, GENERATIONS, PROCESSES = 2, 4, 2
ARGS = ["model.name_or_path=tiny-countdown-test", *TASK, "task.train_size=16", "task.val_size=4",
        f"trainer.num_generations={GENERATIONS}", f"trainer.prompts_per_step={PROMPTS}", "trainer.max_completion_length=24",
        "trainer.val_prompts=2", "trainer.val_samples=2", "trainer.report_to=[none]", "verifiers.backend=local",
        "verifiers.workers=1"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    cache = tmp_path_factory.mktemp("urlvr-cache")
    # Not built beforehand: the first job builds it, from inside torchrun (a child process outside the job does).
    return {**os.environ, "URLVR_CACHE": str(cache), "OMP_NUM_THREADS": "1"}


def torchrun(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(PROCESSES),
            "-m", "trainer.run", *ARGS, *args]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc (children first found, then theirs)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        out.extend(children)
        frontier = children
    return out


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def test_two_processes_log_each_step_once_with_every_rollout(env, tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.run(torchrun(["reward=self_verify", "reward.max_judge_tokens=16",
                                    "reward.shadow=[majority_vote,self_certainty]", "trainer.max_steps=2",
                                    "trainer.eval_steps=2", "trainer.save_steps=2", f"run_dir={run_dir}"]),
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = metrics(run_dir)
    assert [r["step"] for r in records] == [0, 1, 2]  # written by the main process only
    for r in records[1:]:
        assert r["rollouts"] == PROMPTS * GENERATIONS * PROCESSES
        assert r["verifier/oracle/items"] == PROMPTS * GENERATIONS  # each process scored its own rollouts
        assert 0.0 <= r["reward_accuracy"] <= 1.0 and 0.0 <= r["shadow/majority_vote/reward_accuracy"] <= 1.0
        assert "shadow/self_certainty/mean" in r
    assert 0.0 <= records[-1]["val/accuracy"] <= 1.0
    samples = (run_dir / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 2 * 4  # 4 samples a step, from the main process only


def test_two_processes_resume_after_kill_9(env, tmp_path):
    run_dir = tmp_path / "run"
    args = ["reward=oracle", "trainer.val_prompts=0", "trainer.save_steps=1", f"run_dir={run_dir}"]
    proc = subprocess.Popen(torchrun([*args, "trainer.max_steps=50"]), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = run_dir / "checkpoints" / "checkpoint-2" / "trainer_state.json"
    deadline = time.time() + 600
    while not checkpoint.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert checkpoint.exists(), "no checkpoint-2 before the deadline"
    for pid in [proc.pid, *descendants(proc.pid)]:  # torchrun's workers run in sessions of their own
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    killed_at = max(json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()
                    if line.endswith("}"))  # a kill mid-write may leave a torn last line
    assert 2 <= killed_at < 8, killed_at
    done = subprocess.run(torchrun([*args, "trainer.max_steps=8", "trainer.resume=true"]), env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = [r["step"] for r in metrics(run_dir)]
    assert steps == list(range(1, 9)), steps  # once per step, none lost, none twice
    assert (run_dir / "checkpoints" / "checkpoint-8").exists()


def test_two_ray_processes_share_one_ray_instance_and_one_pool(env):
    """verifiers.backend=ray under torchrun: the second rank joins the first's Ray (one session folder under
    TMPDIR, not two) and both score through the job's one actor (verifiers.workers=1)."""
    short = Path(tempfile.mkdtemp(prefix="urm", dir="/tmp"))  # Ray's sockets live under TMPDIR: 107 bytes at most
    try:
        run_dir = short / "run"
        args = ["reward=oracle", "trainer.val_prompts=0", "trainer.max_steps=2", "verifiers.backend=ray",
                "+verifiers.backend_options.num_cpus=0.5", f"run_dir={run_dir}"]
        cmd = [a for a in torchrun(args) if a != "verifiers.backend=local"]
        proc = subprocess.run(cmd, env={**env, "TMPDIR": str(short), "RAY_USAGE_STATS_ENABLED": "0"},
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        records = metrics(run_dir)
        assert [r["step"] for r in records] == [1, 2]  # no validation: no step 0
        for r in records:
            assert r["verifier/oracle/items"] == PROMPTS * GENERATIONS and r["verifier/oracle/errors"] == 0
        sessions = [p for p in (short / "ray").iterdir() if p.name.startswith("session_2")]
        assert len(sessions) == 1, sessions  # one Ray instance for the two processes
    finally:
        shutil.rmtree(short, ignore_errors=True)
