"""bench/device_check.py on this CPU machine: it refuses with one clear line when CUDA is absent (before installing
or running anything), its wheelhouse lists leave out the GPU stack and keep what the GPU machine lacks, its metrics
summary reads step times and validation figures, and the local-pool training path never imports Ray."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "device_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_cuda_it_stops_with_a_clear_line_and_runs_nothing(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the refusal path is for machines without it")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--skip-install", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"device_check: CUDA is not available (torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
        "this check needs an NVIDIA GPU. Nothing was installed or run."]
    assert not out.exists()


def test_without_cuda_the_install_is_not_attempted(tmp_path):
    """Without --skip-install and with an empty wheelhouse, the CUDA refusal still comes first."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--wheelhouse", str(tmp_path / "none"), "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "CUDA is not available" in proc.stderr and "wheelhouse" not in proc.stderr


def test_wheelhouse_lists():
    dc = load_script()
    keep, left = dc.wheelhouse_requirements((ROOT / "constraints.txt").read_text())
    kept = {dc.canonical(p.split("==")[0]) for p in keep}
    dropped = {dc.canonical(p.split("==")[0]) for p in left}
    assert {"trl", "hydra-core", "omegaconf", "antlr4-python3-runtime", "datasets", "pydantic", "pydantic-core"} <= kept
    assert {"torch", "ray", "transformers", "peft", "accelerate", "pyarrow"} <= dropped
    assert not any(dc.GPU_STACK.match(name) for name in kept)
    assert all("==" in p for p in keep)  # exactly constraints.txt's versions
    synthetic = "torch==2.1\nnvidia-cublas-cu12==12.1  # a comment\nvllm==0.3\n# trl==9\nTRL==1.16.0\nray==2.0\n"
    assert dc.wheelhouse_requirements(synthetic) == (["TRL==1.16.0"], ["torch==2.1", "nvidia-cublas-cu12==12.1", "vllm==0.3", "ray==2.0"])


def test_device_requirements_use_the_machines_torch():
    dc = load_script()
    reqs = dc.device_requirements((ROOT / "pyproject.toml").read_text())
    names = {dc.canonical(r.split(">")[0].split("=")[0].split("<")[0]) for r in reqs}
    assert "trl" in names and "hydra-core" in names and not names & {"torch", "ray", "reasoning-gym"}


def test_summary_reads_step_times_and_validation(tmp_path):
    dc = load_script()
    rows = [{"step": 0, "wall_s": 5.0, "val/accuracy": 0.25, "val/pass@4": 0.5, "time/validation_s": 4.0}]
    wall = 5.0
    for step in range(1, 21):
        wall += 0.5 + (2.0 if step == 10 else 0.0)
        row = {"step": step, "wall_s": wall, "loss": 0.1}
        if step == 10:
            row.update({"val/accuracy": 0.5, "val/pass@4": 0.75, "time/validation_s": 2.0})
        rows.append(row)
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = dc.summarize(path)
    assert s["steps"] == 20 and s["first_step_s"] == pytest.approx(0.5) and s["median_step_s"] == pytest.approx(0.5)
    assert s["validation"] == [{"step": 0, "val/accuracy": 0.25, "val/pass@4": 0.5},
                               {"step": 10, "val/accuracy": 0.5, "val/pass@4": 0.75}]
    for row in rows[1:]:
        row["step_time"] = 0.25 if row["step"] == 1 else 0.125  # TRL's own figure wins where it is logged
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = dc.summarize(path)
    assert s["first_step_s"] == 0.25 and s["median_step_s"] == 0.125


PROBE = """
import sys
from trainer.preflight import preflight
import trainer.run, trainer.grpo, trainer.callbacks, trainer.generation
from trainer.assemble import build_datasets, build_rewards, build_task

def main():
    (cfg,) = preflight(["model=tiny-countdown", "reward=oracle", "verifiers.backend=local", "verifiers.workers=1",
                        "task.train_size=4", "task.val_size=2", "run_dir=/tmp/urlvr-ray-probe"])
    task = build_task(cfg)
    build_datasets(task, False)
    rewards = build_rewards(cfg, task)
    rows = task.rows("train")
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    prompts = [r["question"] for r in rows]
    gold = rewards.train(prompts, ["<answer>" + r["solution"] + "</answer>" for r in rows], **cols)
    wrong = rewards.train(prompts, ["<answer>" + str(r["target"]) + " + 0</answer>" for r in rows], **cols)
    rewards.close()
    print("scores", gold, wrong, "ray" in sys.modules)

if __name__ == "__main__":
    main()
"""


def test_the_local_pool_training_path_never_imports_ray(tmp_path):
    """The GPU machine has no Ray: build the task, data and rewards of the check's run (local pool), score a batch."""
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    proc = subprocess.run([sys.executable, str(probe)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = proc.stdout.strip().splitlines()[-1]
    assert line == "scores [1.0, 1.0, 1.0, 1.0] [0.0, 0.0, 0.0, 0.0] False", line


@pytest.mark.slow
def test_cpu_smoke_runs_the_whole_script(tmp_path):
    """--cpu-smoke: the script's own path (model prepared in its own process, 1 and 2 processes, summary) on CPU."""
    out = tmp_path / "out"
    env = {**os.environ, "URLVR_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--cpu-smoke", "--skip-install", "--steps", "3", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = json.loads((out / "summary.json").read_text())["runs"]
    assert sorted(runs) == ["1", "2"]
    for run in runs.values():
        assert run["steps"] == 3 and run["median_step_s"] > 0
        assert [v["step"] for v in run["validation"]][:2] == [0, 2]
        assert all(0.0 <= v["val/accuracy"] <= 1.0 for v in run["validation"])
    assert "2 processes / 1 process" in proc.stdout
